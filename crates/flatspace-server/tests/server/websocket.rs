//! The progress WebSocket over a real loopback listener: progress messages, intermediate layout
//! snapshots of the right size, then `done`; and cancellation sent over the socket.

use std::time::Duration;

use flatspace_server::{AppState, ServerConfig, router};

use crate::demo_store;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const DIGITS_ROWS: usize = 1797;

async fn start() -> (tempfile::TempDir, String, i64, i64) {
    let (dir, store, ids) = demo_store();
    let config = ServerConfig {
        compute_threads: 2,
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
    (
        dir,
        format!("127.0.0.1:{}", addr.port()),
        ids.digits,
        ids.blobs,
    )
}

/// POSTs a projection with a minimal HTTP/1.1 client (no extra dependency).
async fn post_projection(addr: &str, body: &Value) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = body.to_string();
    let request = format!(
        "POST /api/v1/projections HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let (head, json_body) = response.split_once("\r\n\r\n").expect("http response");
    assert!(head.starts_with("HTTP/1.1 200"), "{response}");
    serde_json::from_str(json_body).expect("json")
}

#[tokio::test]
async fn progress_streams_snapshots_then_done() {
    let (_dir, addr, digits, _) = start().await;
    let started = post_projection(
        &addr,
        &json!({"table_id": digits, "algorithm": "tsne", "params": {"n_iter": 500}}),
    )
    .await;
    let job = started["job_id"].as_i64().expect("job id");
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/jobs/{job}/ws"))
            .await
            .expect("websocket");
    let mut progress = 0;
    let mut snapshots = 0;
    let mut end = Value::Null;
    while let Some(message) = tokio::time::timeout(Duration::from_secs(120), socket.next())
        .await
        .expect("a message within 120 s")
    {
        match message.expect("message") {
            Message::Text(text) => {
                let v: Value = serde_json::from_str(&text).expect("json");
                match v["type"].as_str() {
                    Some("progress") => {
                        progress += 1;
                        assert!(v["done"].as_u64() <= v["total"].as_u64(), "{v}");
                    }
                    Some("queued") => {}
                    _ => {
                        end = v;
                        break;
                    }
                }
            }
            Message::Binary(bytes) => {
                assert_eq!(bytes.len(), DIGITS_ROWS * 2 * 4, "a full 2D layout");
                snapshots += 1;
            }
            _ => {}
        }
    }
    assert_eq!(end["type"], "done", "{end}");
    assert_eq!(end["projection_id"], started["projection_id"]);
    assert!(progress >= 2, "progress messages: {progress}");
    assert!(snapshots >= 1, "layout snapshots: {snapshots}");

    // A socket opened after the end gets the end at once.
    let (mut late, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/jobs/{job}/ws"))
            .await
            .expect("websocket");
    let first = late.next().await.expect("a message").expect("ok");
    let v: Value = serde_json::from_str(first.to_text().expect("text")).expect("json");
    assert_eq!(v["type"], "done");
}

#[tokio::test]
async fn cancel_over_the_socket() {
    let (_dir, addr, _, blobs) = start().await;
    let started = post_projection(
        &addr,
        &json!({"table_id": blobs, "algorithm": "tsne",
                "params": {"n_iter": 10000, "early_exaggeration_iter": 5000}}),
    )
    .await;
    let job = started["job_id"].as_i64().expect("job id");
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/jobs/{job}/ws"))
            .await
            .expect("websocket");
    socket
        .send(Message::Text("cancel".into()))
        .await
        .expect("send cancel");
    let mut end = Value::Null;
    while let Some(message) = tokio::time::timeout(Duration::from_secs(60), socket.next())
        .await
        .expect("a message within 60 s")
    {
        if let Message::Text(text) = message.expect("message") {
            let v: Value = serde_json::from_str(&text).expect("json");
            if !matches!(v["type"].as_str(), Some("progress" | "queued")) {
                end = v;
                break;
            }
        }
    }
    assert_eq!(end["type"], "cancelled", "{end}");
}
