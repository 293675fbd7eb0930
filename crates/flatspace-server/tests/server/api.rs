//! The HTTP API in-process (`tower::ServiceExt::oneshot`) over a temp store holding the demo tables: every endpoint, the bad
//! requests (each a 4xx JSON error with a message, after which the server keeps serving), the
//! projection cache and job sharing, cancellation, the progress WebSocket and the access token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use flatspace_server::{AppState, ServerConfig, demo, router};
use flatspace_store::Store;

use crate::{BLOBS_ROWS, demo_store};
use serde_json::{Value, json};
use tower::ServiceExt;

const DIGITS_ROWS: usize = 1797;

pub(crate) struct App {
    _dir: tempfile::TempDir,
    pub(crate) dir_path: std::path::PathBuf,
    router: Router,
    pub(crate) digits: i64,
    pub(crate) blobs: i64,
    pub(crate) run: i64,
}

fn app_with(config: ServerConfig) -> App {
    let (dir, store, ids) = demo_store();
    let state = AppState::new(store, &config).expect("state");
    App {
        dir_path: dir.path().to_path_buf(),
        _dir: dir,
        router: router(state, &config),
        digits: ids.digits,
        blobs: ids.blobs,
        run: ids.run,
    }
}

pub(crate) fn app() -> App {
    app_with(ServerConfig {
        compute_threads: 2,
        ..Default::default()
    })
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    /// Asserts a JSON error with this status and a message containing `needle`.
    pub(crate) fn assert_error(&self, status: StatusCode, needle: &str) {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        let message = self.json()["error"]
            .as_str()
            .expect("error message")
            .to_owned();
        assert!(
            message.to_lowercase().contains(&needle.to_lowercase()),
            "message {message:?} should mention {needle:?}"
        );
    }
}

pub(crate) async fn send(app: &App, req: Request<Body>) -> Reply {
    let response = app.router.clone().oneshot(req).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    Reply {
        status,
        headers,
        body,
    }
}

pub(crate) async fn get(app: &App, uri: &str) -> Reply {
    send(app, Request::get(uri).body(Body::empty()).expect("request")).await
}

pub(crate) async fn post_json(app: &App, uri: &str, body: impl Into<Body>) -> Reply {
    send(
        app,
        Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.into())
            .expect("request"),
    )
    .await
}

pub(crate) async fn project(app: &App, body: Value) -> Reply {
    post_json(app, "/api/v1/projections", body.to_string()).await
}

/// Polls a projection until it leaves queued/running.
pub(crate) async fn wait_done(app: &App, projection_id: i64) -> Value {
    let started = Instant::now();
    loop {
        let p = get(app, &format!("/api/v1/projections/{projection_id}")).await;
        assert_eq!(p.status, StatusCode::OK);
        let v = p.json();
        if !matches!(v["status"].as_str(), Some("queued" | "running")) {
            return v;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "projection {projection_id} did not finish: {v}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[tokio::test]
async fn browse_projects_runs_tables_and_columns() {
    let app = app();
    let projects = get(&app, "/api/v1/projects").await.json();
    assert_eq!(projects[0]["name"], "demo");
    assert_eq!(projects[0]["n_runs"], 1);
    let pid = projects[0]["id"].as_i64().expect("id");
    let runs = get(&app, &format!("/api/v1/projects/{pid}/runs"))
        .await
        .json();
    assert_eq!(runs[0]["name"], "examples");
    let tables = get(&app, &format!("/api/v1/runs/{}/tables", app.run))
        .await
        .json();
    let keys: Vec<&str> = tables
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|t| t["key"].as_str())
        .collect();
    assert_eq!(keys, ["digits", "blobs"]);
    assert_eq!(tables[0]["n_rows"], DIGITS_ROWS);

    let table = get(&app, &format!("/api/v1/tables/{}", app.digits))
        .await
        .json();
    let kinds: Vec<(String, String)> = table["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_owned(),
                c["kind"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("image".into(), "image".into()),
            ("label".into(), "category".into()),
            ("pixels".into(), "embedding".into())
        ]
    );
    assert_eq!(table["columns"][2]["dim"], 64);
    assert_eq!(table["columns"][1]["n_distinct"], 10);
    assert_eq!(
        table["defaults"],
        json!({"embedding": {"type": "single", "columns": ["pixels"]}, "color_by": "label", "overlay": "image"})
    );
}

#[tokio::test]
async fn rows_are_arrow_ipc_pages_without_embeddings_unless_named() {
    let app = app();
    let page = get(
        &app,
        &format!("/api/v1/tables/{}/rows?offset=10&limit=5", app.digits),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.headers[header::CONTENT_TYPE],
        "application/vnd.apache.arrow.stream"
    );
    let reader =
        arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(page.body.to_vec()), None)
            .expect("arrow stream");
    let batches: Vec<_> = reader.collect::<Result<_, _>>().expect("batches");
    let n: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(n, 5);
    let names: Vec<String> = batches[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["image", "label"]);
    // Row 10 of digits is a 0 (the dataset cycles 0..9 at the start).
    let labels = batches[0]
        .column(1)
        .as_any()
        .downcast_ref::<arrow_array::UInt8Array>()
        .expect("uint8 labels");
    assert_eq!(labels.value(0), 0);
    assert_eq!(labels.value(4), 4);

    let named = get(
        &app,
        &format!(
            "/api/v1/tables/{}/rows?offset=1790&limit=100&columns=pixels",
            app.digits
        ),
    )
    .await;
    let reader =
        arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(named.body.to_vec()), None)
            .expect("arrow stream");
    let batches: Vec<_> = reader.collect::<Result<_, _>>().expect("batches");
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 7);
    assert_eq!(batches[0].schema().field(0).name(), "pixels");
}

#[tokio::test]
async fn categories_codes_values_and_media() {
    let app = app();
    let cats = get(
        &app,
        &format!("/api/v1/tables/{}/columns/label/categories", app.digits),
    )
    .await
    .json();
    assert_eq!(cats["categories"], json!([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    assert_eq!(cats["code_type"], "uint8");
    let counts: Vec<u64> = serde_json::from_value(cats["counts"].clone()).expect("counts");
    assert_eq!(counts.iter().sum::<u64>(), DIGITS_ROWS as u64);
    let codes = get(
        &app,
        &format!("/api/v1/tables/{}/columns/label/codes", app.digits),
    )
    .await;
    assert_eq!(codes.body.len(), DIGITS_ROWS);
    assert_eq!(&codes.body[..10], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (code, count) in counts.iter().enumerate() {
        let n = codes
            .body
            .iter()
            .filter(|&&c| usize::from(c) == code)
            .count();
        assert_eq!(n as u64, *count, "count of class {code}");
    }

    let cluster = get(
        &app,
        &format!("/api/v1/tables/{}/columns/cluster/categories", app.blobs),
    )
    .await
    .json();
    assert_eq!(cluster["categories"][0], "cluster 0");
    assert_eq!(cluster["categories"][9], "cluster 9");

    let values = get(
        &app,
        &format!("/api/v1/tables/{}/columns/radius/values", app.blobs),
    )
    .await;
    assert_eq!(values.status, StatusCode::OK);
    let v = f32s(&values.body);
    assert_eq!(v.len(), BLOBS_ROWS);
    let lo: f32 = values.headers["x-min"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("number");
    let hi: f32 = values.headers["x-max"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("number");
    assert!(v.iter().all(|&x| (lo..=hi).contains(&x)));
    assert!(lo < hi);

    // The first digit's image: an 8 × 8 grayscale PNG, cached forever.
    let page = get(
        &app,
        &format!("/api/v1/tables/{}/rows?limit=1&columns=image", app.digits),
    )
    .await;
    let reader =
        arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(page.body.to_vec()), None)
            .expect("arrow stream");
    let batch = reader.into_iter().next().expect("batch").expect("ok");
    let hashes = batch
        .column(0)
        .as_any()
        .downcast_ref::<arrow_array::StringArray>()
        .expect("hash strings");
    let media = get(&app, &format!("/api/v1/media/{}", hashes.value(0))).await;
    assert_eq!(media.status, StatusCode::OK);
    assert_eq!(media.headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(
        media.headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(&media.body[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&media.body[16..24], &[0, 0, 0, 8, 0, 0, 0, 8]);
}

#[tokio::test]
async fn bad_requests_get_clear_4xx_errors_and_the_server_keeps_serving() {
    let app = app();
    let d = app.digits;
    get(&app, "/api/v1/tables/999999")
        .await
        .assert_error(StatusCode::NOT_FOUND, "table");
    get(&app, "/api/v1/projects/424242/runs")
        .await
        .assert_error(StatusCode::NOT_FOUND, "project");
    get(&app, "/api/v1/tables/abc")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "");
    get(&app, &format!("/api/v1/tables/{d}/columns/nope/codes"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "nope");
    get(
        &app,
        &format!("/api/v1/tables/{d}/columns/pixels/categories"),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "embedding");
    get(&app, &format!("/api/v1/tables/{d}/columns/label/values"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "numeric");
    get(&app, &format!("/api/v1/tables/{d}/rows?columns=label,nope"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "nope");
    get(&app, &format!("/api/v1/tables/{d}/rows?limit=100000000"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "limit");
    get(&app, &format!("/api/v1/tables/{d}/rows?offset=-3"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "offset");
    get(&app, "/api/v1/media/not-a-hash")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "hash");
    get(&app, &format!("/api/v1/media/{}", "a".repeat(64)))
        .await
        .assert_error(StatusCode::NOT_FOUND, "media");
    get(&app, "/api/v1/no-such-endpoint")
        .await
        .assert_error(StatusCode::NOT_FOUND, "no-such-endpoint");
    get(&app, "/api/v1/projections")
        .await
        .assert_error(StatusCode::METHOD_NOT_ALLOWED, "method");
    get(&app, "/api/v1/projections/777")
        .await
        .assert_error(StatusCode::NOT_FOUND, "projection");
    get(&app, "/api/v1/projections/777/coords")
        .await
        .assert_error(StatusCode::NOT_FOUND, "projection");
    post_json(&app, "/api/v1/jobs/777/cancel", "")
        .await
        .assert_error(StatusCode::NOT_FOUND, "job");

    // Projection requests.
    post_json(&app, "/api/v1/projections", "{not json")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "not valid");
    post_json(&app, "/api/v1/projections", "")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "empty");
    post_json(&app, "/api/v1/projections", "[1, 2]")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "not valid");
    let huge = format!(
        "{{\"table_id\": {d}, \"algorithm\": \"pca\", \"pad\": \"{}\"}}",
        "x".repeat(200_000)
    );
    // Projection requests may carry row lists (a larger limit); other JSON endpoints keep the
    // server's limit.
    post_json(&app, &format!("/api/v1/tables/{d}/neighbors"), huge)
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "larger");
    project(&app, json!({"table_id": 999999, "algorithm": "pca"}))
        .await
        .assert_error(StatusCode::NOT_FOUND, "table");
    project(&app, json!({"table_id": d, "algorithm": "mds"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unknown algorithm");
    project(
        &app,
        json!({"table_id": d, "algorithm": "tsne", "params": {"perplexity": -5}}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "perplexity");
    project(
        &app,
        json!({"table_id": d, "algorithm": "tsne", "params": {"perplexity": "high"}}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "perplexity");
    project(
        &app,
        json!({"table_id": d, "algorithm": "umap", "params": {"n_neighbors": 5000}}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "n_neighbors");
    let small = json!({"table_id": d, "algorithm": "umap", "params": {"n_neighbors": 150, "min_dist": 2.0}});
    project(&app, small)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "min_dist");
    project(
        &app,
        json!({"table_id": d, "algorithm": "umap", "params": {"neighbours": 10}}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "neighbours");
    project(&app, json!({"table_id": d, "algorithm": "pca", "fields": {"type": "single", "columns": ["nope"]}}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "nope");
    project(&app, json!({"table_id": d, "algorithm": "pca", "fields": {"type": "single", "columns": ["label"]}}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "not an embedding");
    project(&app, json!({"table_id": d, "algorithm": "pca", "fields": {"type": "many", "columns": ["image"]}}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "numeric");
    project(&app, json!({"table_id": d, "algorithm": "pca", "fields": {"type": "pairs", "columns": ["pixels"]}}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "single");
    project(
        &app,
        json!({"table_id": d, "algorithm": "pca", "n_components": 4}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "n_components");
    project(&app, json!({"table_id": d, "algorithm": "pca", "seed": -1}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "seed");
    project(
        &app,
        json!({"table_id": d, "algorithm": "pca", "colour": "red"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "colour");

    // Still serving.
    let projects = get(&app, "/api/v1/projects").await;
    assert_eq!(projects.status, StatusCode::OK);
    assert_eq!(projects.json()[0]["name"], "demo");
}

#[tokio::test]
async fn algorithms_list_their_parameters_with_defaults_and_ranges() {
    let app = app();
    let algs = get(&app, "/api/v1/algorithms").await.json();
    let names: Vec<&str> = algs
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["pca", "umap", "tsne"]);
    let perplexity = algs[2]["params"]
        .as_array()
        .expect("params")
        .iter()
        .find(|p| p["name"] == "perplexity")
        .expect("perplexity");
    assert_eq!(perplexity["default"], 30.0);
    assert_eq!(perplexity["min"], 0.0);
    assert_eq!(perplexity["min_exclusive"], true);
}

#[tokio::test]
async fn a_projection_is_computed_once_then_served_from_the_cache() {
    let app = app();
    let request = json!({"table_id": app.digits, "algorithm": "pca"});
    let first = project(&app, request.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let first = first.json();
    let id = first["projection_id"].as_i64().expect("id");
    assert!(first["job_id"].is_i64());
    let done = wait_done(&app, id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["n_rows"], DIGITS_ROWS);
    assert_eq!(done["params"], json!({}));
    let recall = done["metrics"]["knn_recall"].as_f64().expect("recall");
    let trust = done["metrics"]["trustworthiness"].as_f64().expect("trust");
    assert!(
        (0.0..=1.0).contains(&recall) && (0.5..=1.0).contains(&trust),
        "{done}"
    );
    let coords = get(&app, &format!("/api/v1/projections/{id}/coords")).await;
    assert_eq!(
        coords.headers[header::CONTENT_TYPE],
        "application/octet-stream"
    );
    let xy = f32s(&coords.body);
    assert_eq!(xy.len(), DIGITS_ROWS * 2);
    assert!(xy.iter().all(|v| v.is_finite()));
    // PCA centres the data: both coordinates average to ~0.
    let mean_x = xy.iter().step_by(2).map(|&v| f64::from(v)).sum::<f64>() / DIGITS_ROWS as f64;
    assert!(mean_x.abs() < 1e-3, "mean {mean_x}");

    // The same request (parameters spelled out as their defaults, explicit seed) is the cached
    // projection: no job.
    let again = project(
        &app,
        json!({"table_id": app.digits, "algorithm": "pca", "params": {}, "seed": 42,
               "fields": {"type": "single", "columns": ["pixels"]}, "n_components": 2}),
    )
    .await
    .json();
    assert_eq!(again["projection_id"], id);
    assert_eq!(again["status"], "done");
    assert!(again["job_id"].is_null());
    let coords_again = get(&app, &format!("/api/v1/projections/{id}/coords")).await;
    assert_eq!(coords_again.body, coords.body);

    let job = first["job_id"].as_i64().expect("job");
    post_json(&app, &format!("/api/v1/jobs/{job}/cancel"), "")
        .await
        .assert_error(StatusCode::CONFLICT, "ended");
    let list = get(&app, &format!("/api/v1/tables/{}/projections", app.digits))
        .await
        .json();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn tsne_separates_digit_classes_and_identical_requests_share_one_job() {
    let app = app();
    let request = json!({"table_id": app.digits, "algorithm": "tsne", "params": {"n_iter": 250}});
    let (a, b) = tokio::join!(
        project(&app, request.clone()),
        project(&app, request.clone())
    );
    let (a, b) = (a.json(), b.json());
    assert_eq!(a["projection_id"], b["projection_id"], "{a} {b}");
    // Either both joined one job, or the second arrived after it finished and got the cache.
    assert!(
        a["job_id"] == b["job_id"] || b["status"] == "done" || a["status"] == "done",
        "{a} {b}"
    );
    let id = a["projection_id"].as_i64().expect("id");
    let done = wait_done(&app, id).await;
    assert_eq!(done["status"], "done", "{done}");
    let trust = done["metrics"]["trustworthiness"].as_f64().expect("trust");
    let accuracy = done["metrics"]["knn_accuracy"]
        .as_f64()
        .expect("accuracy with labels");
    assert!(trust > 0.9, "t-SNE trustworthiness {trust}");
    assert!(accuracy > 0.9, "t-SNE 2D kNN label accuracy {accuracy}");
}

#[tokio::test]
async fn cancelling_a_job_stops_it_and_a_new_request_starts_again() {
    let app = app();
    // Many iterations on the larger table: long enough to cancel mid-way.
    let request = json!({"table_id": app.blobs, "algorithm": "tsne",
                         "params": {"n_iter": 10000, "early_exaggeration_iter": 5000}});
    let started = project(&app, request.clone()).await.json();
    let job = started["job_id"].as_i64().expect("job");
    let id = started["projection_id"].as_i64().expect("id");
    let cancel = post_json(&app, &format!("/api/v1/jobs/{job}/cancel"), "").await;
    assert_eq!(cancel.status, StatusCode::OK);
    assert_eq!(cancel.json()["status"], "cancelled");
    let end = wait_done(&app, id).await;
    assert_eq!(end["status"], "cancelled", "{end}");
    get(&app, &format!("/api/v1/projections/{id}/coords"))
        .await
        .assert_error(StatusCode::CONFLICT, "no coordinates");
    let twice = post_json(&app, &format!("/api/v1/jobs/{job}/cancel"), "").await;
    assert_eq!(
        twice.status,
        StatusCode::OK,
        "cancelling twice is idempotent"
    );
    let restarted = project(&app, request).await.json();
    assert_eq!(restarted["projection_id"], id);
    let new_job = restarted["job_id"].as_i64().expect("a new job");
    assert_ne!(new_job, job);
    post_json(&app, &format!("/api/v1/jobs/{new_job}/cancel"), "").await;
}

#[tokio::test]
async fn new_tables_appear_without_a_restart() {
    let app = app();
    let before = get(&app, &format!("/api/v1/runs/{}/tables", app.run))
        .await
        .json();
    // Another process (here: another handle) logs a table while the server runs.
    let writer = Store::open(&app.dir_path).expect("second handle");
    let extra = demo_blobs(&writer, app.run);
    let after = get(&app, &format!("/api/v1/runs/{}/tables", app.run))
        .await
        .json();
    assert_eq!(
        after.as_array().map(Vec::len),
        before.as_array().map(|a| a.len() + 1)
    );
    let table = get(&app, &format!("/api/v1/tables/{extra}")).await;
    assert_eq!(table.status, StatusCode::OK);
}

fn demo_blobs(store: &Store, run: i64) -> i64 {
    use arrow_array::{ArrayRef, Float32Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    let schema = Schema::new(vec![
        Field::new("x", DataType::Float32, false),
        Field::new("y", DataType::Float32, false),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Float32Array::from(vec![1.0, 2.0, 3.0])),
        Arc::new(Float32Array::from(vec![3.0, 1.0, 2.0])),
    ];
    let batch = RecordBatch::try_new(Arc::new(schema), columns).expect("batch");
    let kinds = [flatspace_table::ColumnKind::Numeric; 2];
    store
        .write_table(run, "late", 0, &[batch], &kinds)
        .expect("write")
        .id
}

#[tokio::test]
async fn the_demo_is_idempotent() {
    let (_dir, store, ids) = demo_store();
    let again = demo::fill_store(&store, BLOBS_ROWS).expect("demo again");
    assert!(again.iter().all(|f| !f.written), "nothing rewritten");
    assert_eq!(again[0].table.id, ids.digits);
    assert_eq!(again[1].table.id, ids.blobs);
    assert_eq!(store.list_tables(ids.run).expect("tables").len(), 2);
    // A different size of the generated table is a new version of it; digits stay as they are.
    let resized = demo::fill_store(&store, 50).expect("demo resized");
    assert!(!resized[0].written && resized[1].written);
    assert_eq!(resized[1].table.n_rows, 50);
    assert_eq!(resized[1].table.version, 2);
}

#[tokio::test]
async fn the_ui_or_its_build_instructions_are_served_for_non_api_paths() {
    let app = app();
    for path in ["/", "/some/ui/route?table=3"] {
        let page = get(&app, path).await;
        assert_eq!(page.status, StatusCode::OK);
        let content_type = page.headers[header::CONTENT_TYPE].to_str().expect("ascii");
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let html = String::from_utf8_lossy(&page.body);
        if !flatspace_server::ui_is_built() {
            assert!(html.contains("npm run build"), "{html}");
        }
    }
}

#[tokio::test]
async fn a_token_guards_the_api_when_set() {
    let app = app_with(ServerConfig {
        token: Some("s3cret".into()),
        compute_threads: 1,
        ..Default::default()
    });
    get(&app, "/api/v1/projects")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token");
    let wrong = send(
        &app,
        Request::get("/api/v1/projects")
            .header(header::AUTHORIZATION, "Bearer nope")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    wrong.assert_error(StatusCode::UNAUTHORIZED, "wrong");
    let ok = send(
        &app,
        Request::get("/api/v1/projects")
            .header(header::AUTHORIZATION, "Bearer s3cret")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    // Opening the page with ?token= sets the cookie the page's own requests then carry.
    let page = get(&app, "/?token=s3cret").await;
    assert_eq!(page.status, StatusCode::OK);
    let cookie = page.headers[header::SET_COOKIE].to_str().expect("ascii");
    assert!(cookie.starts_with("flatspace_token=s3cret;"), "{cookie}");
    assert!(cookie.contains("HttpOnly"));
    let with_cookie = send(
        &app,
        Request::get("/api/v1/projects")
            .header(header::COOKIE, "other=1; flatspace_token=s3cret")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(with_cookie.status, StatusCode::OK);
    // The UI shell itself needs no token (it holds no data).
    assert_eq!(get(&app, "/").await.status, StatusCode::OK);
}
