#![no_main]
//! One HTTP request to the whole router (over a store holding a small table, a media file and a
//! finished projection): the input is `METHOD-byte PATH\nHeader: value\n...\n\nBODY`. Whatever
//! the request, the server must answer without panicking, never with a 5xx (the store is intact, so
//! any internal error is a bug), and every `/api` error must be a JSON `{"error": ...}` body.

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

struct Fixture {
    _dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let csv = dir.path().join("t.csv");
        let mut text = String::from("v,label,score\n");
        for i in 0..24 {
            text.push_str(&format!(
                "\"[{}, {}, {}]\",c{},{}\n",
                i % 5,
                i * 2 % 7,
                i % 3,
                i % 4,
                i as f32 * 0.5
            ));
        }
        std::fs::write(&csv, text).expect("csv");
        let imported =
            flatspace_table::import_path(&csv, &Default::default()).expect("import fixture");
        let schema = flatspace_table::infer_schema(&imported.batch);
        let kinds: Vec<_> = schema.columns.iter().map(|c| c.kind).collect();
        let store = flatspace_store::Store::open(dir.path().join("store")).expect("store");
        let project = store.get_or_create_project("p").expect("project");
        let run = store
            .get_or_create_run(project, "r", &serde_json_value())
            .expect("run");
        store
            .write_table(run, "t", 0, &[imported.batch], &kinds)
            .expect("table");
        store.put_media(b"\x89PNG fake", "image/png").expect("media");
        let config = flatspace_server::ServerConfig {
            compute_threads: 1,
            ..Default::default()
        };
        let state = flatspace_server::AppState::new(store, &config).expect("state");
        let router = flatspace_server::router(state, &config);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Fixture {
            _dir: dir,
            runtime,
            router,
        }
    })
}

fn serde_json_value() -> serde_json::Value {
    serde_json::json!({})
}

const METHODS: [&str; 6] = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD"];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&m, rest)) = data.split_first() else {
        return;
    };
    let method = METHODS[usize::from(m) % METHODS.len()];
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (rest, &[][..]),
    };
    let mut lines = head.split(|&b| b == b'\n');
    let path = lines.next().unwrap_or_default();
    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };
    // Fuzz the API, not the UI assets.
    let uri = format!("/api/v1/{}", path.trim_start_matches('/'));
    let mut req = Request::builder().method(method).uri(&uri);
    for line in lines {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        if let Some((name, value)) = line.split_once(':') {
            req = req.header(name.trim(), value.trim());
        }
    }
    let Ok(req) = req.body(Body::from(body.to_vec())) else {
        return; // not a request http can express
    };
    let f = fixture();
    let router = f.router.clone();
    f.runtime.block_on(async move {
        let response = router.oneshot(req).await.expect("infallible");
        let status = response.status();
        let is_json = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        assert!(
            !status.is_server_error(),
            "{method} {uri}: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        if status.is_client_error() && method != "HEAD" {
            assert!(is_json, "{method} {uri}: {status} without a JSON body");
        }
    });
});
