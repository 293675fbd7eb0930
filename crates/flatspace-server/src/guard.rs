//! Request checks that keep a server on loopback private to this machine's user, before any
//! handler runs:
//!
//! - **Host** (DNS rebinding): without a token the server trusts anyone who can reach it, which
//!   on loopback means local programs. A web page can still reach it by pointing its own domain
//!   at 127.0.0.1; the browser then sends that domain as `Host`, so a tokenless server answers
//!   only requests whose `Host` is a loopback name or address.
//! - **Origin** (cross-site requests): a page on another site may send a POST or open a
//!   WebSocket to 127.0.0.1 without reading the answer. Any state-changing `/api` request or
//!   WebSocket upgrade whose `Origin` is not the server itself is refused.
//! - **Content type**: an `/api` request with a body must say `application/json` (HTML forms
//!   cannot send it, and a clear 415 beats a JSON parse error about form data).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

use crate::error::error_response;

/// Whether `host` (a `Host` header value or an origin's authority, port allowed) names this
/// machine's loopback interface.
pub fn is_loopback_host(host: &str) -> bool {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return ip.is_loopback();
    }
    let name = if let Some(rest) = host.strip_prefix('[') {
        // [::1]:port
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                host
            }
        })
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    name.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn has_body(headers: &HeaderMap) -> bool {
    let length = header_str(headers, header::CONTENT_LENGTH)
        .map(|v| v.trim().parse::<u64>().map_or(true, |n| n > 0));
    length.unwrap_or(false) || headers.contains_key(header::TRANSFER_ENCODING)
}

/// `https://host:port` → `host:port`; `None` for `null` and anything without a scheme.
fn origin_authority(origin: &str) -> Option<&str> {
    let (_, rest) = origin.split_once("://")?;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// The checks above; `token_set` says whether the server requires an access token.
pub async fn guard_requests(
    State(token_set): State<Arc<bool>>,
    req: Request,
    next: Next,
) -> Response {
    let headers = req.headers();
    let host = header_str(headers, header::HOST);
    if !*token_set
        && let Some(host) = host
        && !is_loopback_host(host)
    {
        return error_response(
            StatusCode::FORBIDDEN,
            &format!(
                "this server listens on loopback without a token and answers only requests to \
                 localhost or 127.0.0.1, not to {host:?}; start it with --token to share it"
            ),
        );
    }
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let is_upgrade = headers.contains_key(header::UPGRADE);
    let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if (changes_state || is_upgrade)
        && let Some(origin) = header_str(headers, header::ORIGIN)
    {
        let same = match (origin_authority(origin), host) {
            (Some(authority), Some(host)) => authority.eq_ignore_ascii_case(host),
            // Without a Host header only a loopback origin can be this server.
            (Some(authority), None) => is_loopback_host(authority),
            (None, _) => false,
        };
        if !same {
            return error_response(
                StatusCode::FORBIDDEN,
                &format!(
                    "cross-origin request from {origin:?} refused: the API answers only pages \
                     served by this server"
                ),
            );
        }
    }
    if changes_state && has_body(headers) {
        let content_type = header_str(headers, header::CONTENT_TYPE).unwrap_or("");
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json" {
            let found = if content_type.is_empty() {
                "no Content-Type".to_owned()
            } else {
                format!("Content-Type {content_type:?}")
            };
            return error_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &format!(
                    "{} {} has a body with {found}: expected Content-Type application/json",
                    req.method(),
                    req.uri().path()
                ),
            );
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "localhost:8790",
            "LOCALHOST.",
            "app.localhost:5173",
            "127.0.0.1",
            "127.0.0.1:8790",
            "127.8.9.1:1",
            "[::1]:8790",
            "[::1]",
            "::1",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "example.com",
            "127.0.0.1.nip.io",
            "localhost.evil.com:80",
            "10.0.0.1:8790",
            "[::2]:80",
            "0.0.0.0",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn origin_authorities() {
        assert_eq!(
            origin_authority("http://127.0.0.1:8790"),
            Some("127.0.0.1:8790")
        );
        assert_eq!(origin_authority("null"), None);
    }
}
