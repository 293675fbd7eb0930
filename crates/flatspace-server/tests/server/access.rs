//! Access over a real listener with a token: every API request and WebSocket handshake without
//! the token, or with a wrong one, is refused (401) and carries no data; the right token works in
//! the header, the cookie and the query. Paths that try to leave the API or the store (UI path
//! traversal, `//api`, encoded slashes, other cases) never return data or files from disk. A
//! tokenless server refuses a Host that is not loopback (DNS rebinding) and cross-origin writes.

use std::time::Duration;

use flatspace_server::{AppState, ServerConfig, router};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite;

use crate::demo_store;

const TOKEN: &str = "0123456789abcdef-token";

async fn start(token: Option<&str>) -> (tempfile::TempDir, String, i64) {
    let (dir, store, ids) = demo_store();
    let config = ServerConfig {
        compute_threads: 1,
        token: token.map(str::to_owned),
        ..Default::default()
    };
    let state = AppState::new(store, &config).expect("state");
    let app = router(state, &config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (dir, format!("127.0.0.1:{}", addr.port()), ids.digits)
}

/// A raw HTTP/1.1 exchange: (status, body). `head` holds extra header lines ending in \r\n.
async fn http(addr: &str, method: &str, target: &str, head: &str, body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let host = if head.to_ascii_lowercase().contains("host:") {
        String::new()
    } else {
        format!("Host: {addr}\r\n")
    };
    let request = format!(
        "{method} {target} HTTP/1.1\r\n{host}{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn the_token_guards_every_api_request_and_the_websocket() {
    let (_dir, addr, digits) = start(Some(TOKEN)).await;
    let bearer = format!("Authorization: Bearer {TOKEN}\r\n");
    let endpoints = [
        ("GET", "/api/v1/info".to_owned()),
        ("GET", "/api/v1/projects".to_owned()),
        ("GET", "/api/v1/projects/1/runs".to_owned()),
        ("GET", format!("/api/v1/tables/{digits}")),
        ("GET", format!("/api/v1/tables/{digits}/rows?limit=3")),
        (
            "GET",
            format!("/api/v1/tables/{digits}/columns/label/codes"),
        ),
        ("GET", "/api/v1/algorithms".to_owned()),
        ("GET", "/api/v1/projections/1".to_owned()),
        ("POST", "/api/v1/jobs/1/cancel".to_owned()),
        ("GET", "/api/v1/no-such-endpoint".to_owned()),
    ];
    for (method, path) in &endpoints {
        for (what, head) in [
            ("no token", String::new()),
            (
                "wrong token",
                "Authorization: Bearer 0123456789abcdef-tokeN\r\n".to_owned(),
            ),
            (
                "token prefix",
                "Authorization: Bearer 0123456789abcdef\r\n".to_owned(),
            ),
            (
                "wrong cookie",
                "Cookie: flatspace_token=nope\r\n".to_owned(),
            ),
            ("empty bearer", "Authorization: Bearer \r\n".to_owned()),
        ] {
            let (status, body) = http(&addr, method, path, &head, "").await;
            assert_eq!(status, 401, "{method} {path} with {what}: {body}");
            let message: Value = serde_json::from_str(&body).expect("json error");
            assert!(
                message["error"]
                    .as_str()
                    .is_some_and(|m| m.contains("token"))
            );
            assert!(!body.contains("digits"), "{what} leaked data: {body}");
        }
        let (status, _) = http(
            &addr,
            method,
            &format!(
                "{path}{}token=wrong",
                if path.contains('?') { "&" } else { "?" }
            ),
            "",
            "",
        )
        .await;
        assert_eq!(status, 401, "{method} {path} with a wrong ?token=");
    }
    // The right token, three ways.
    let target = "/api/v1/projects";
    assert_eq!(http(&addr, "GET", target, &bearer, "").await.0, 200);
    let cookie = format!("Cookie: a=b; flatspace_token={TOKEN}\r\n");
    assert_eq!(http(&addr, "GET", target, &cookie, "").await.0, 200);
    let query = format!("{target}?token={TOKEN}");
    assert_eq!(http(&addr, "GET", &query, "", "").await.0, 200);

    // Paths that are not the API route never reach data without the token either.
    for path in [
        "//api/v1/projects",
        "/api//v1/projects",
        "/API/v1/projects",
        "/api/v1/projects/",
        "/api/v1/./projects",
        "/api/v1/x/../projects",
        "/%61pi/v1/projects",
        "/api%2Fv1%2Fprojects",
    ] {
        let (status, body) = http(&addr, "GET", path, "", "").await;
        assert!(
            !body.contains("\"demo\""),
            "{path}: {status} returned the projects: {body}"
        );
    }

    // The WebSocket: a real job, refused without/with a wrong token, accepted with it.
    let (status, body) = http(
        &addr,
        "POST",
        "/api/v1/projections",
        &format!("{bearer}Content-Type: application/json\r\n"),
        &json!({"table_id": digits, "algorithm": "tsne", "params": {"n_iter": 2000}}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let job = serde_json::from_str::<Value>(&body).expect("json")["job_id"]
        .as_i64()
        .expect("a job");
    let ws = format!("ws://{addr}/api/v1/jobs/{job}/ws");
    for url in [ws.clone(), format!("{ws}?token=wrong")] {
        match tokio_tungstenite::connect_async(&url).await {
            Err(tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 401, "{url}")
            }
            Err(e) => panic!("{url}: expected a 401, got {e}"),
            Ok(_) => panic!("{url}: the WebSocket opened without the token"),
        }
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("{ws}?token={TOKEN}"))
        .await
        .expect("WebSocket with the token");
    let first = tokio::time::timeout(Duration::from_secs(20), socket.next())
        .await
        .expect("a message in time")
        .expect("open")
        .expect("message");
    assert!(first.is_text() || first.is_binary());
    let _ = http(
        &addr,
        "POST",
        &format!("/api/v1/jobs/{job}/cancel"),
        &bearer,
        "",
    )
    .await;
}

#[tokio::test]
async fn nothing_outside_the_store_is_served() {
    let (_dir, addr, _) = start(None).await;
    let secret_markers = ["root:x:0:0", "SQLite format 3", "[package]", "PRIVATE KEY"];
    for path in [
        "/../../../../etc/passwd",
        "/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/assets/../../../Cargo.toml",
        "/catalog.sqlite",
        "/api/v1/media/..%2F..%2Fcatalog.sqlite",
        "/api/v1/media/%2e%2e%2fcatalog.sqlite",
        "/api/v1/media/....//....//etc/passwd",
        "/api/v1/media/0000000000000000000000000000000000000000000000000000000000000000/../../catalog.sqlite",
        "/api/v1/tables/1/columns/..%2F..%2Fcatalog.sqlite/values",
        "/api/v1/tables/1/rows?columns=../../catalog.sqlite",
    ] {
        let (status, body) = http(&addr, "GET", path, "", "").await;
        for marker in secret_markers {
            assert!(
                !body.contains(marker),
                "{path}: {status} served a file from outside: {}",
                &body[..body.len().min(200)]
            );
        }
        if path.starts_with("/api/") {
            assert!((400..500).contains(&status), "{path}: {status} {body}");
        }
    }
}

#[tokio::test]
async fn a_tokenless_server_answers_only_loopback_hosts_and_same_origin_writes() {
    let (_dir, addr, digits) = start(None).await;
    let port = addr.rsplit(':').next().expect("port");
    for host in ["localhost", "127.0.0.1", "[::1]"] {
        let head = format!("Host: {host}:{port}\r\n");
        let (status, _) = http(&addr, "GET", "/api/v1/projects", &head, "").await;
        assert_eq!(status, 200, "{host}");
    }
    for host in [
        "evil.example",
        "127.0.0.1.nip.io",
        "192.168.1.20",
        "localhost.evil.example",
    ] {
        let head = format!("Host: {host}:{port}\r\n");
        let (status, body) = http(&addr, "GET", "/api/v1/projects", &head, "").await;
        assert_eq!(status, 403, "{host}: {body}");
        assert!(!body.contains("\"demo\""));
        // The UI page too: a rebinding page must not even load it from this server.
        assert_eq!(http(&addr, "GET", "/", &head, "").await.0, 403, "{host} /");
    }
    let body = json!({"table_id": digits, "algorithm": "pca"}).to_string();
    let json_type = "Content-Type: application/json\r\n";
    let cross = format!("{json_type}Origin: https://evil.example\r\n");
    let (status, reply) = http(&addr, "POST", "/api/v1/projections", &cross, &body).await;
    assert_eq!(status, 403, "{reply}");
    let null_origin = format!("{json_type}Origin: null\r\n");
    assert_eq!(
        http(&addr, "POST", "/api/v1/projections", &null_origin, &body)
            .await
            .0,
        403
    );
    // A form post (no preflight in browsers) is refused by its content type.
    let form = "Content-Type: text/plain\r\n";
    assert_eq!(
        http(&addr, "POST", "/api/v1/projections", form, &body)
            .await
            .0,
        415
    );
    let same = format!("{json_type}Origin: http://{addr}\r\n");
    let (status, reply) = http(&addr, "POST", "/api/v1/projections", &same, &body).await;
    assert_eq!(status, 200, "{reply}");
    // A cross-site WebSocket (browsers send Origin) is refused before the upgrade.
    let mut request = tungstenite::client::IntoClientRequest::into_client_request(format!(
        "ws://{addr}/api/v1/jobs/1/ws"
    ))
    .expect("request");
    request.headers_mut().insert(
        "origin",
        tungstenite::http::HeaderValue::from_static("https://evil.example"),
    );
    match tokio_tungstenite::connect_async(request).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!(
            "cross-origin WebSocket: expected 403, got {:?}",
            other.map(|_| ())
        ),
    }
}
