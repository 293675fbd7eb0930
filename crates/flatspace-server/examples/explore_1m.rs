//! Times the Explore endpoints on a 1,000,000-row table through the real router (in process):
//! a regex search, a case-insensitive substring search, a numeric range, and the exact
//! nearest neighbours of one row over a 128-dimension embedding. A benchmark, not a test.
//!
//! ```sh
//! cargo run -p flatspace-server --example explore_1m [--release] [-- N_ROWS DIM]
//! ```

use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, Float32Array, RecordBatch, StringArray};
use axum::body::Body;
use axum::http::{Request, header};
use flatspace_server::{AppState, ServerConfig, router};
use flatspace_store::Store;
use flatspace_table::ColumnKind;
use tower::ServiceExt;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let dim: usize = args.next().map_or(Ok(128), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let project = store.get_or_create_project("bench")?;
    let run = store.get_or_create_run(project, "explore", &serde_json::json!({}))?;

    let started = Instant::now();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
    ];
    let text: Vec<String> = (0..n)
        .map(|i| {
            let w = words[(next() % words.len() as u64) as usize];
            format!("item {i:07} {w} batch-{}", next() % 1000)
        })
        .collect();
    let score: Vec<f32> = (0..n).map(|_| (next() % 10_000) as f32 / 100.0).collect();
    let values: Vec<f32> = (0..n * dim)
        .map(|_| (next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
        .collect();
    let emb = flatspace_table::embedding::embedding_from_row_major(values, dim)?;
    let batch = RecordBatch::try_from_iter(vec![
        ("caption", Arc::new(StringArray::from(text)) as ArrayRef),
        ("score", Arc::new(Float32Array::from(score)) as ArrayRef),
        ("emb", Arc::new(emb) as ArrayRef),
    ])?;
    let kinds = [
        ColumnKind::Text,
        ColumnKind::Numeric,
        ColumnKind::Embedding { dim },
    ];
    let table = store.write_table(run, "big", 0, &[batch], &kinds)?.id;
    println!(
        "wrote {n} rows × {dim} dims in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let config = ServerConfig::default();
    let app = router(AppState::new(store, &config)?, &config);
    let runtime = tokio::runtime::Runtime::new()?;
    let post = |path: String, body: serde_json::Value| {
        let app = app.clone();
        runtime.block_on(async move {
            let request = Request::post(path)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))?;
            let started = Instant::now();
            let response = app.oneshot(request).await?;
            let status = response.status();
            let count = response
                .headers()
                .get("x-count")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
            let secs = started.elapsed().as_secs_f64();
            anyhow::ensure!(
                status.is_success(),
                "{status}: {}",
                String::from_utf8_lossy(&bytes)
            );
            anyhow::Ok((secs, count))
        })
    };
    let query = format!("/api/v1/tables/{table}/query");
    let cases = [
        (
            "regex ^item 00[0-4].*(alpha|golf) batch-9",
            serde_json::json!({"filters": [{"column": "caption", "op": "regex",
                "value": "^item 00[0-4].*(alpha|golf) batch-9"}]}),
        ),
        (
            "contains \"ECHO\" (case-insensitive)",
            serde_json::json!({"filters": [{"column": "caption", "op": "contains", "value": "ECHO"}]}),
        ),
        (
            "range score 10..=20",
            serde_json::json!({"filters": [{"column": "score", "op": "range", "min": 10, "max": 20}]}),
        ),
    ];
    for (name, body) in cases {
        // The first call also reads the column from the segment; the second is the steady state.
        let (first, count) = post(query.clone(), body.clone())?;
        let (again, _) = post(query.clone(), body)?;
        println!("query {name}: {count} rows, first {first:.3} s, again {again:.3} s");
    }
    let neighbors = format!("/api/v1/tables/{table}/neighbors");
    for metric in ["euclidean", "cosine"] {
        let body = serde_json::json!({"row": 12345, "k": 10, "metric": metric});
        let (first, _) = post(neighbors.clone(), body.clone())?;
        let (again, _) = post(neighbors.clone(), body)?;
        println!("neighbors {metric} k=10 over {dim} dims: first {first:.3} s, again {again:.3} s");
    }
    Ok(())
}
