//! Access token for servers bound beyond loopback. The token travels as `Authorization: Bearer
//! <token>`, as a `flatspace_token` cookie (set when the page is opened with `?token=`, so image
//! tags and the WebSocket carry it too), or as a `token` query parameter.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::error_response;

pub const COOKIE_NAME: &str = "flatspace_token";

/// A fresh random token: 32 bytes from the OS as hex.
pub fn generate_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Equal-length comparison whose time does not depend on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The token a request presents, from the header, the cookie or the query, in that order.
pub fn presented_token(req: &Request) -> Option<String> {
    let headers = req.headers();
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(token) = value.strip_prefix("Bearer ")
    {
        return Some(token.trim().to_owned());
    }
    for cookies in headers.get_all(header::COOKIE) {
        let Ok(cookies) = cookies.to_str() else {
            continue;
        };
        for pair in cookies.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=')
                && name == COOKIE_NAME
            {
                return Some(value.to_owned());
            }
        }
    }
    query_token(req.uri().query())
}

fn query_token(query: Option<&str>) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name == "token").then(|| value.to_owned())
    })
}

/// Rejects `/api` requests without the right token; on any page opened with the right `?token=`,
/// sets the cookie so the page's own requests carry it.
pub async fn require_token(
    State(expected): State<Arc<Option<String>>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(expected) = expected.as_deref() else {
        return next.run(req).await;
    };
    let presented = presented_token(&req);
    let valid = presented
        .as_deref()
        .is_some_and(|t| constant_time_eq(t.as_bytes(), expected.as_bytes()));
    let is_api = req.uri().path().starts_with("/api/");
    if is_api && !valid {
        let message = if presented.is_some() {
            "the access token is wrong: use the token `flatspace serve` printed"
        } else {
            "this server needs an access token: open the URL `flatspace serve` printed \
             (with ?token=...) or send `Authorization: Bearer <token>`"
        };
        return error_response(StatusCode::UNAUTHORIZED, message);
    }
    let set_cookie = valid && query_token(req.uri().query()).is_some();
    let mut response = next.run(req).await;
    if set_cookie {
        let cookie = format!("{COOKIE_NAME}={expected}; Path=/; HttpOnly; SameSite=Strict");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_matches_plain_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn generated_tokens_are_hex_and_differ() {
        let a = generate_token().expect("urandom");
        let b = generate_token().expect("urandom");
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
