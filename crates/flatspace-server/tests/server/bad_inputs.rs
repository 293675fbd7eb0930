//! The HTTP cases of the bad-input corpus (`tests/bad-inputs/manifest.json`, entry `http`): each
//! request gets the expected 4xx with a JSON message holding the expected text, and leaves the
//! store as it was (catalog listing, projections, jobs and the files on disk). Also: a corrupt
//! segment is a clear 500 naming the table, never a panic, and the server keeps serving.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use flatspace_server::{AppState, ServerConfig, router};
use flatspace_store::Store;
use serde_json::Value;
use tower::ServiceExt;

use crate::demo_store;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/bad-inputs")
}

/// Catalog listing + files (path → size), SQLite's own files left out (readers touch them).
#[derive(Debug, PartialEq)]
struct Snapshot {
    catalog: Vec<String>,
    files: BTreeMap<String, u64>,
}

fn snapshot(store: &Store, dir: &Path) -> Snapshot {
    let mut catalog = Vec::new();
    for project in store.list_projects().expect("projects") {
        catalog.push(format!("{project:?}"));
        for run in store.list_runs(project.id).expect("runs") {
            catalog.push(format!("{run:?}"));
            for table in store.list_tables(run.id).expect("tables") {
                catalog.push(format!("{:?}", store.table(table.id).expect("table")));
                for p in store.list_projections(table.id).expect("projections") {
                    catalog.push(format!("{p:?}"));
                }
            }
        }
    }
    for job in store.active_jobs().expect("jobs") {
        catalog.push(format!("{job:?}"));
    }
    let mut files = BTreeMap::new();
    collect_files(dir, dir, &mut files);
    Snapshot { catalog, files }
}

fn collect_files(root: &Path, dir: &Path, out: &mut BTreeMap<String, u64>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let entry = entry.expect("entry");
        let path = entry.path();
        let name = path
            .strip_prefix(root)
            .expect("under root")
            .to_string_lossy()
            .into_owned();
        if entry.file_type().expect("type").is_dir() {
            collect_files(root, &path, out);
        } else if !(name.ends_with("-wal") || name.ends_with("-shm") || name == "catalog.sqlite") {
            out.insert(name, entry.metadata().expect("metadata").len());
        }
    }
}

/// Polls a projection until it fails; its error message (or what happened instead).
async fn failed_projection_error(app: &axum::Router, projection: i64) -> String {
    for _ in 0..400 {
        let response = app
            .clone()
            .oneshot(
                Request::get(format!("/api/v1/projections/{projection}"))
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let value: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        match value["status"].as_str() {
            Some("failed") => return value["error"].as_str().unwrap_or("").to_owned(),
            Some("queued" | "running") => {
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            _ => return format!("projection {projection} did not fail: {value}"),
        }
    }
    format!("projection {projection} did not finish in 10 s")
}

/// What differs between two snapshots, briefly.
fn changes(before: &Snapshot, after: &Snapshot) -> String {
    let mut out = Vec::new();
    for c in &after.catalog {
        if !before.catalog.contains(c) {
            out.push(format!("+ {c}"));
        }
    }
    for c in &before.catalog {
        if !after.catalog.contains(c) {
            out.push(format!("- {c}"));
        }
    }
    for (f, size) in &after.files {
        if before.files.get(f) != Some(size) {
            out.push(format!("+ file {f} ({size} bytes)"));
        }
    }
    for f in before.files.keys() {
        if !after.files.contains_key(f) {
            out.push(format!("- file {f}"));
        }
    }
    out.join("; ")
}

fn write(store: &Store, run: i64, key: &str, columns: Vec<(&str, ArrayRef)>) -> i64 {
    let batch = RecordBatch::try_from_iter(columns).expect("batch");
    let schema = flatspace_table::infer_schema(&batch);
    let kinds: Vec<_> = schema.columns.iter().map(|c| c.kind).collect();
    store
        .write_table(run, key, 0, &[batch], &kinds)
        .expect("write")
        .id
}

#[tokio::test]
async fn every_bad_request_fails_clearly_and_changes_nothing() {
    let (dir, store, ids) = demo_store();
    let one_row = write(
        &store,
        ids.run,
        "one_row",
        vec![
            (
                "e",
                Arc::new(
                    flatspace_table::embedding_from_row_major(vec![1.0f32, 2.0, 3.0], 3)
                        .expect("embedding"),
                ) as ArrayRef,
            ),
            ("n", Arc::new(Int64Array::from(vec![7])) as ArrayRef),
        ],
    );
    let overflow = write(
        &store,
        ids.run,
        "f32_overflow",
        vec![
            (
                "x",
                Arc::new(Float64Array::from(vec![1.0, 3.5e39, 2.0, 0.5])) as ArrayRef,
            ),
            (
                "y",
                Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0])) as ArrayRef,
            ),
        ],
    );
    let store = Arc::new(store);
    let config = ServerConfig {
        compute_threads: 1,
        ..Default::default()
    };
    let state =
        AppState::new(Store::open(dir.path()).expect("second handle"), &config).expect("state");
    let app = router(state, &config);
    let mut before = snapshot(&store, dir.path());

    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(corpus_dir().join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    let fill = |s: &str| {
        s.replace("{digits}", &ids.digits.to_string())
            .replace("{one_row}", &one_row.to_string())
            .replace("{overflow}", &overflow.to_string())
    };
    let mut failures = Vec::new();
    let mut n = 0;
    for case in manifest["cases"].as_array().expect("cases") {
        if case["entry"] != "http" {
            continue;
        }
        n += 1;
        let id = case["id"].as_str().expect("id");
        let mut req = Request::builder()
            .method(case["method"].as_str().expect("method"))
            .uri(fill(case["path"].as_str().expect("path")));
        if let Some(ct) = case["content_type"].as_str().filter(|c| !c.is_empty()) {
            req = req.header("content-type", ct);
        }
        for (name, value) in case["headers"].as_object().into_iter().flatten() {
            req = req.header(name.as_str(), value.as_str().expect("header value"));
        }
        let body: Vec<u8> = if let Some(size) = case["body_size"].as_u64() {
            let mut b = b"{\"table_id\": 1, \"algorithm\": \"pca\", \"pad\": \"".to_vec();
            b.resize(size as usize - 2, b'x');
            b.extend_from_slice(b"\"}");
            b
        } else if let Some(file) = case["body_file"].as_str() {
            std::fs::read(corpus_dir().join(file)).expect("body file")
        } else {
            case["body"]
                .as_str()
                .map(fill)
                .unwrap_or_default()
                .into_bytes()
        };
        if !body.is_empty() || case.get("body").is_some() {
            req = req.header("content-length", body.len());
        }
        let response = app
            .clone()
            .oneshot(req.body(Body::from(body)).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&bytes);
        let expected = case["status"].as_u64().expect("status");
        if case["async"] == true {
            // Accepted, then the job fails: the projection records the error.
            let projection =
                serde_json::from_slice::<Value>(&bytes).unwrap_or_default()["projection_id"]
                    .as_i64();
            let message = match projection {
                Some(p) => failed_projection_error(&app, p).await,
                None => format!("no projection in {text}"),
            };
            for needle in case["expect"].as_array().expect("expect") {
                let needle = needle.as_str().expect("string");
                if !message.contains(needle) {
                    failures.push(format!("{id}: job error {message:?} lacks {needle:?}"));
                }
            }
            // The job row is closed just after the projection: wait for it, then take the
            // failed projection as the new reference.
            for _ in 0..200 {
                if store.active_jobs().expect("jobs").is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            before = snapshot(&store, dir.path());
            continue;
        }
        if u64::from(status.as_u16()) != expected {
            failures.push(format!(
                "{id}: status {status}, expected {expected}: {text}"
            ));
        }
        match serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
        {
            None => failures.push(format!("{id}: no JSON error message: {text}")),
            Some(message) => {
                for needle in case["expect"].as_array().expect("expect") {
                    let needle = fill(needle.as_str().expect("string"));
                    if !message.to_lowercase().contains(&needle.to_lowercase()) {
                        failures.push(format!("{id}: message {message:?} lacks {needle:?}"));
                    }
                }
            }
        }
        let after = snapshot(&store, dir.path());
        if after != before {
            failures.push(format!(
                "{id}: the store changed: {}",
                changes(&before, &after)
            ));
        }
    }
    assert!(n >= 30, "only {n} http cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // After all that, the server still answers.
    let ok = app
        .clone()
        .oneshot(
            Request::get("/api/v1/projects")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_corrupt_segment_is_a_clear_error_not_a_panic() {
    let (dir, store, ids) = demo_store();
    let meta = store.table(ids.blobs).expect("table");
    drop(store);
    // Truncate every segment: the store must report it, naming what it read.
    let segments = dir.path().join("segments");
    for entry in std::fs::read_dir(&segments).expect("segments") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        std::fs::write(&path, &bytes[..bytes.len() / 3]).expect("truncate");
    }
    let config = ServerConfig {
        compute_threads: 1,
        ..Default::default()
    };
    let state = AppState::new(Store::open(dir.path()).expect("open"), &config).expect("state");
    let app = router(state, &config);
    for uri in [
        format!("/api/v1/tables/{}/rows", meta.info.id),
        format!("/api/v1/tables/{}", meta.info.id),
        format!("/api/v1/tables/{}/columns/cluster/codes", meta.info.id),
    ] {
        let response = app
            .clone()
            .oneshot(Request::get(&uri).body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let body: Value = serde_json::from_slice(&bytes).expect("JSON error");
        let message = body["error"].as_str().expect("message");
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{uri}: {message}"
        );
        assert!(
            message.contains("segment") || message.contains(".arrow"),
            "{uri}: {message}"
        );
    }
    let ok = app
        .oneshot(
            Request::get("/api/v1/projects")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(ok.status(), StatusCode::OK);
}
