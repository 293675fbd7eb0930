//! The Explore endpoints (issue 8): nearest neighbours against an independent f64 brute force on
//! a 768-dimension table, search and filter counts against counts made from the stored columns,
//! selections, export read back with the Parquet reader, and subset projections.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, UInt8Type, UInt32Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use flatspace_store::Store;
use serde_json::{Value, json};

use crate::api::{App, app, f32s, get, post_json, project, send, wait_done};

const DIM: usize = 768;
const N: usize = 500;

fn u32s(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// A seeded random `N × 768` table (`vec`, plus a `name` text column); row 5 is a zero vector
/// and row 9 repeats row 8, so cosine's zero case and exact ties are exercised. Returns its id
/// and the vectors.
fn write_768(app: &App) -> (i64, Vec<f32>) {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        // splitmix64 → uniform in [-1, 1): independent of the product's own generators.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    let mut data: Vec<f32> = (0..N * DIM).map(|_| next()).collect();
    data[5 * DIM..6 * DIM].fill(0.0);
    let row8 = data[8 * DIM..9 * DIM].to_vec();
    data[9 * DIM..10 * DIM].copy_from_slice(&row8);
    let emb =
        flatspace_table::embedding::embedding_from_row_major(data.clone(), DIM).expect("embedding");
    let names: Vec<String> = (0..N).map(|i| format!("item {i}")).collect();
    let batch = RecordBatch::try_from_iter(vec![
        ("vec", Arc::new(emb) as ArrayRef),
        (
            "name",
            Arc::new(arrow_array::StringArray::from(names)) as ArrayRef,
        ),
    ])
    .expect("batch");
    let store = Store::open(&app.dir_path).expect("second handle");
    let kinds = [
        flatspace_table::ColumnKind::Embedding { dim: DIM },
        flatspace_table::ColumnKind::Text,
    ];
    let id = store
        .write_table(app.run, "random768", 0, &[batch], &kinds)
        .expect("write")
        .id;
    (id, data)
}

/// Every other row by distance to `row`, computed plainly in f64 (ties by row id).
fn brute_force(data: &[f32], row: usize, cosine: bool) -> Vec<(u32, f64)> {
    let q = &data[row * DIM..(row + 1) * DIM];
    let mut all: Vec<(u32, f64)> = (0..N)
        .filter(|&j| j != row)
        .map(|j| {
            let r = &data[j * DIM..(j + 1) * DIM];
            let (mut l2, mut dot, mut rr, mut qq) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
            for (a, b) in r.iter().zip(q) {
                let (a, b) = (f64::from(*a), f64::from(*b));
                l2 += (a - b) * (a - b);
                dot += a * b;
                rr += a * a;
                qq += b * b;
            }
            let d = if !cosine {
                l2.sqrt()
            } else if rr == 0.0 || qq == 0.0 {
                1.0
            } else {
                (1.0 - dot / (rr.sqrt() * qq.sqrt())).max(0.0)
            };
            (j as u32, d)
        })
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    all
}

async fn neighbors(app: &App, table: i64, body: Value) -> crate::api::Reply {
    post_json(
        app,
        &format!("/api/v1/tables/{table}/neighbors"),
        body.to_string(),
    )
    .await
}

#[tokio::test]
async fn neighbour_distances_equal_a_brute_force_at_768_dimensions() {
    let app = app();
    let (table, data) = write_768(&app);
    for metric in ["euclidean", "cosine"] {
        for (row, k) in [(0usize, 10u32), (8, 25), (5, 7), (N - 1, 1000)] {
            let reply = neighbors(&app, table, json!({"row": row, "k": k, "metric": metric})).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.json());
            let v = reply.json();
            assert_eq!(
                (v["row"].as_u64(), v["metric"].as_str()),
                (Some(row as u64), Some(metric))
            );
            let got: Vec<(u64, f64)> = v["neighbors"]
                .as_array()
                .expect("list")
                .iter()
                .map(|n| {
                    (
                        n["row"].as_u64().expect("row"),
                        n["distance"].as_f64().expect("d"),
                    )
                })
                .collect();
            let want = brute_force(&data, row, metric == "cosine");
            // k >= n lists every other row once.
            assert_eq!(got.len(), (k as usize).min(N - 1), "{metric} row {row}");
            for (i, ((gr, gd), (wr, wd))) in got.iter().zip(&want).enumerate() {
                assert!(
                    (gd - wd).abs() <= 1e-9 * (1.0 + wd.abs()),
                    "{metric} row {row}, neighbour {i}: {gd} vs {wd}"
                );
                assert_eq!(*gr, u64::from(*wr), "{metric} row {row}, neighbour {i}");
            }
        }
    }
    // Row 8's copy (row 9) is its nearest neighbour at distance 0 under both metrics.
    let v = neighbors(&app, table, json!({"row": 8, "k": 1}))
        .await
        .json();
    assert_eq!(v["neighbors"][0], json!({"row": 9, "distance": 0.0}));
    // The zero vector is at cosine distance 1 from everything.
    let v = neighbors(&app, table, json!({"row": 5, "k": 50, "metric": "cosine"}))
        .await
        .json();
    assert!(
        v["neighbors"]
            .as_array()
            .expect("list")
            .iter()
            .all(|n| n["distance"] == 1.0)
    );
    // Defaults: k = 10, euclidean, the table's embedding.
    let v = neighbors(&app, table, json!({"row": 3})).await.json();
    assert_eq!(
        (v["k"].as_u64(), v["metric"].as_str()),
        (Some(10), Some("euclidean"))
    );
    assert_eq!(v["neighbors"].as_array().map(Vec::len), Some(10));
}

#[tokio::test]
async fn neighbour_requests_out_of_range_get_clear_errors() {
    let app = app();
    let d = app.digits;
    neighbors(&app, d, json!({"row": 1797}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "row 1797 is out of range: table");
    let message = neighbors(&app, d, json!({"row": 5000})).await.json()["error"].to_string();
    assert!(message.contains("1797 rows"), "{message}");
    neighbors(&app, d, json!({"row": 1, "k": 0}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "k must be between 1 and 1000");
    neighbors(&app, d, json!({"row": 1, "k": 1001}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "k must be between");
    neighbors(&app, d, json!({"row": 1, "metric": "manhattan"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "manhattan");
    neighbors(&app, d, json!({"row": -1}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "row");
    neighbors(
        &app,
        d,
        json!({"row": 1, "fields": {"type": "single", "columns": ["label"]}}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "not an embedding");
    neighbors(&app, 999_999, json!({"row": 1}))
        .await
        .assert_error(StatusCode::NOT_FOUND, "table");
    // Digits: a digit's nearest neighbours are mostly the same digit.
    let v = neighbors(&app, d, json!({"row": 0, "k": 10})).await.json();
    let labels = column_u8(&app, d, "label");
    let same = v["neighbors"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|n| labels[n["row"].as_u64().expect("row") as usize] == labels[0])
        .count();
    assert!(same >= 8, "{same} of 10 neighbours share the label");
}

fn store_of(app: &App) -> Store {
    Store::open(&app.dir_path).expect("second handle")
}

fn column_u8(app: &App, table: i64, name: &str) -> Vec<u8> {
    let batch = store_of(app)
        .read_rows(table, 0, usize::MAX, Some(&[name]))
        .expect("column");
    batch
        .column(0)
        .as_primitive::<UInt8Type>()
        .values()
        .to_vec()
}

fn column_strings(app: &App, table: i64, name: &str) -> Vec<String> {
    let batch = store_of(app)
        .read_rows(table, 0, usize::MAX, Some(&[name]))
        .expect("column");
    let a = batch.column(0).as_string::<i32>();
    (0..a.len()).map(|i| a.value(i).to_owned()).collect()
}

fn column_f32(app: &App, table: i64, name: &str) -> Vec<f32> {
    let batch = store_of(app)
        .read_rows(table, 0, usize::MAX, Some(&[name]))
        .expect("column");
    batch
        .column(0)
        .as_primitive::<Float32Type>()
        .values()
        .to_vec()
}

async fn query(app: &App, table: i64, body: Value) -> crate::api::Reply {
    post_json(
        app,
        &format!("/api/v1/tables/{table}/query"),
        body.to_string(),
    )
    .await
}

/// The matching rows, checking that X-Count agrees with the body.
async fn matches(app: &App, table: i64, body: Value) -> Vec<u32> {
    let reply = query(app, table, body.clone()).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{body}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    let rows = u32s(&reply.body);
    let count: usize = reply.headers["x-count"]
        .to_str()
        .expect("header")
        .parse()
        .expect("count");
    assert_eq!(count, rows.len());
    assert!(rows.windows(2).all(|w| w[0] < w[1]), "ascending");
    rows
}

fn where_true(flags: impl Iterator<Item = bool>) -> Vec<u32> {
    flags
        .enumerate()
        .filter(|(_, f)| *f)
        .map(|(i, _)| i as u32)
        .collect()
}

#[tokio::test]
async fn search_and_filter_counts_equal_counts_from_the_stored_columns() {
    let app = app();
    let (d, b) = (app.digits, app.blobs);
    let labels = column_u8(&app, d, "label");
    let clusters = column_strings(&app, b, "cluster");
    let radius = column_f32(&app, b, "radius");

    // Regex over text (case-insensitive by default) on the generated blobs.
    let got = matches(
        &app,
        b,
        json!({"filters": [{"column": "cluster", "op": "regex", "value": "^CLUSTER [13]$"}]}),
    )
    .await;
    let want = where_true(
        clusters
            .iter()
            .map(|c| c == "cluster 1" || c == "cluster 3"),
    );
    assert!(!want.is_empty());
    assert_eq!(got, want);
    let none = matches(&app, b, json!({"filters": [{"column": "cluster", "op": "regex", "value": "^CLUSTER", "case_sensitive": true}]})).await;
    assert!(none.is_empty());

    // Contains on a numeric category column, as the table shows it.
    let got = matches(
        &app,
        d,
        json!({"filters": [{"column": "label", "op": "contains", "value": "7"}]}),
    )
    .await;
    assert_eq!(got, where_true(labels.iter().map(|&l| l == 7)));
    // Regex on digits: every 3 or 8.
    let got = matches(
        &app,
        d,
        json!({"filters": [{"column": "label", "op": "regex", "value": "^[38]$"}]}),
    )
    .await;
    assert_eq!(got, where_true(labels.iter().map(|&l| l == 3 || l == 8)));

    // In, with numbers and numeric strings.
    let got = matches(
        &app,
        d,
        json!({"filters": [{"column": "label", "op": "in", "values": [1, "2"]}]}),
    )
    .await;
    assert_eq!(got, where_true(labels.iter().map(|&l| l == 1 || l == 2)));
    let got = matches(
        &app,
        b,
        json!({"filters": [{"column": "cluster", "op": "in", "values": ["cluster 0", "nope"]}]}),
    )
    .await;
    assert_eq!(got, where_true(clusters.iter().map(|c| c == "cluster 0")));

    // In on a float32 column, with the values as the table shows them (shortest decimals).
    let shown: Vec<f64> = [7usize, 99]
        .iter()
        .map(|&i| radius[i].to_string().parse().expect("number"))
        .collect();
    let got = matches(
        &app,
        b,
        json!({"filters": [{"column": "radius", "op": "in", "values": shown}]}),
    )
    .await;
    assert_eq!(
        got,
        where_true(radius.iter().map(|&r| r == radius[7] || r == radius[99]))
    );

    // Range (inclusive), alone and combined.
    let mut sorted = radius.clone();
    sorted.sort_by(f32::total_cmp);
    let (lo, hi) = (sorted[100], sorted[400]);
    let in_range = |r: f32| r >= lo && r <= hi;
    let range = json!({"column": "radius", "op": "range", "min": lo, "max": hi});
    let got = matches(&app, b, json!({"filters": [range]})).await;
    assert_eq!(got, where_true(radius.iter().map(|&r| in_range(r))));
    let c1 = json!({"column": "cluster", "op": "contains", "value": "cluster 1"});
    let both = matches(&app, b, json!({"filters": [range, c1]})).await;
    let either = matches(&app, b, json!({"filters": [range, c1], "combine": "or"})).await;
    let is_c1 = |i: usize| clusters[i].contains("cluster 1");
    assert_eq!(
        both,
        where_true((0..radius.len()).map(|i| in_range(radius[i]) && is_c1(i)))
    );
    assert_eq!(
        either,
        where_true((0..radius.len()).map(|i| in_range(radius[i]) || is_c1(i)))
    );
    let only_min = matches(
        &app,
        b,
        json!({"filters": [{"column": "radius", "op": "range", "min": hi}]}),
    )
    .await;
    assert_eq!(only_min, where_true(radius.iter().map(|&r| r >= hi)));
    // No filters: every row.
    assert_eq!(
        matches(&app, d, json!({"filters": []})).await.len(),
        labels.len()
    );
}

#[tokio::test]
async fn bad_searches_get_clear_errors() {
    let app = app();
    let (d, b) = (app.digits, app.blobs);
    query(
        &app,
        b,
        json!({"filters": [{"column": "cluster", "op": "regex", "value": "(cluster"}]}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "unclosed group");
    query(
        &app,
        b,
        json!({"filters": [{"column": "cluster", "op": "regex", "value": "a{1000}{1000}"}]}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid regular expression");
    query(
        &app,
        b,
        json!({"filters": [{"column": "cluster", "op": "range", "min": 1}]}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "range works on numeric columns");
    query(
        &app,
        b,
        json!({"filters": [{"column": "embedding", "op": "contains", "value": "1"}]}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "embedding");
    query(
        &app,
        d,
        json!({"filters": [{"column": "nope", "op": "contains", "value": "1"}]}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "no column \"nope\"");
    query(
        &app,
        d,
        json!({"filters": [{"column": "label", "op": "like", "value": "1"}]}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "like");
    query(&app, d, json!({"filters": [], "combine": "xor"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "xor");
    query(&app, 999_999, json!({"filters": []}))
        .await
        .assert_error(StatusCode::NOT_FOUND, "table");
}

async fn delete(app: &App, uri: &str) -> crate::api::Reply {
    send(
        app,
        Request::builder()
            .method(Method::DELETE)
            .uri(uri)
            .body(Body::empty())
            .expect("request"),
    )
    .await
}

#[tokio::test]
async fn selections_are_saved_listed_replaced_read_and_deleted() {
    let app = app();
    let d = app.digits;
    let uri = format!("/api/v1/tables/{d}/selections");
    let saved = post_json(
        &app,
        &uri,
        json!({"name": "sevens", "rows": [30, 7, 17, 7]}).to_string(),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.json());
    let saved = saved.json();
    assert_eq!(
        (saved["name"].as_str(), saved["n_rows"].as_u64()),
        (Some("sevens"), Some(3))
    );
    let id = saved["id"].as_i64().expect("id");
    let read = get(&app, &format!("/api/v1/selections/{id}")).await.json();
    assert_eq!(read["rows"], json!([7, 17, 30]));
    assert_eq!(read["table_id"], json!(d));

    // The same name replaces the rows (and keeps the id); another name is another selection.
    let again = post_json(
        &app,
        &uri,
        json!({"name": "sevens", "rows": [1, 2]}).to_string(),
    )
    .await
    .json();
    assert_eq!(again["id"], json!(id));
    post_json(
        &app,
        &uri,
        json!({"name": "all", "rows": (0..1797).collect::<Vec<u32>>()}).to_string(),
    )
    .await;
    let list = get(&app, &uri).await.json();
    let names: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["all", "sevens"]);
    assert_eq!(
        get(&app, &format!("/api/v1/selections/{id}")).await.json()["rows"],
        json!([1, 2])
    );

    // Bad requests.
    post_json(&app, &uri, json!({"name": "x", "rows": [1797]}).to_string())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "row 1797 is out of range");
    post_json(&app, &uri, json!({"name": " ", "rows": [1]}).to_string())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "empty");
    post_json(
        &app,
        &uri,
        json!({"name": "n".repeat(201), "rows": [1]}).to_string(),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "at most 200");
    post_json(&app, &uri, json!({"name": "x", "rows": [-1]}).to_string())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "rows");
    post_json(
        &app,
        "/api/v1/tables/999999/selections",
        json!({"name": "x", "rows": []}).to_string(),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "table");

    let gone = delete(&app, &format!("/api/v1/selections/{id}")).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    get(&app, &format!("/api/v1/selections/{id}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "selection");
    delete(&app, &format!("/api/v1/selections/{id}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "selection");
    assert_eq!(
        get(&app, &uri).await.json().as_array().map(Vec::len),
        Some(1)
    );
}

/// Requests a projection and waits for it; returns its id.
async fn projected(app: &App, body: Value) -> i64 {
    let reply = project(app, body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json());
    let id = reply.json()["projection_id"].as_i64().expect("id");
    let done = wait_done(app, id).await;
    assert_eq!(done["status"], "done", "{done}");
    id
}

fn read_parquet(bytes: &[u8]) -> RecordBatch {
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        axum::body::Bytes::copy_from_slice(bytes),
    )
    .expect("parquet")
    .build()
    .expect("reader");
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().expect("batches");
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).expect("concat")
}

#[tokio::test]
async fn export_holds_the_selected_rows_with_their_coordinates_and_columns() {
    let app = app();
    let d = app.digits;
    let projection = projected(&app, json!({"table_id": d, "algorithm": "pca"})).await;
    let coords = f32s(
        &get(&app, &format!("/api/v1/projections/{projection}/coords"))
            .await
            .body,
    );
    let labels = column_u8(&app, d, "label");
    let sevens = where_true(labels.iter().map(|&l| l == 7));
    let sel = post_json(
        &app,
        &format!("/api/v1/tables/{d}/selections"),
        json!({"name": "sevens", "rows": sevens}).to_string(),
    )
    .await
    .json()["id"]
        .as_i64()
        .expect("id");

    let reply = get(
        &app,
        &format!(
            "/api/v1/tables/{d}/export?format=parquet&selection={sel}&projection={projection}"
        ),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(
        reply.headers["content-type"],
        "application/vnd.apache.parquet"
    );
    let disposition = reply.headers["content-disposition"]
        .to_str()
        .expect("header");
    assert!(
        disposition.starts_with("attachment;") && disposition.contains("sevens.parquet"),
        "{disposition}"
    );
    let batch = read_parquet(&reply.body);
    let names: Vec<String> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["row_id", "x", "y", "image", "label", "pixels"]);
    assert_eq!(batch.num_rows(), sevens.len());
    let row_ids = batch
        .column(0)
        .as_primitive::<UInt32Type>()
        .values()
        .to_vec();
    assert_eq!(row_ids, sevens);
    let (x, y) = (
        batch.column(1).as_primitive::<Float32Type>(),
        batch.column(2).as_primitive::<Float32Type>(),
    );
    let exported_labels = batch.column(4).as_primitive::<UInt8Type>();
    for (i, &r) in sevens.iter().enumerate() {
        assert_eq!(
            (x.value(i), y.value(i)),
            (coords[2 * r as usize], coords[2 * r as usize + 1])
        );
        assert_eq!(exported_labels.value(i), 7);
    }
    let pixels = batch.column(5).as_fixed_size_list();
    assert_eq!(pixels.value_length(), 64);

    // CSV of every row without coordinates.
    let reply = get(&app, &format!("/api/v1/tables/{d}/export?format=csv")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.headers["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    let text = String::from_utf8(reply.body.to_vec()).expect("utf-8");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("row_id,image,label,pixels"));
    assert_eq!(lines.count(), labels.len());

    // Errors: a selection or projection of another table, a bad format.
    let b = app.blobs;
    get(&app, &format!("/api/v1/tables/{b}/export?selection={sel}"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "belongs to table");
    get(
        &app,
        &format!("/api/v1/tables/{b}/export?projection={projection}"),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "not table");
    get(&app, &format!("/api/v1/tables/{d}/export?format=xlsx"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "xlsx");
    get(&app, &format!("/api/v1/tables/{d}/export?selection=424242"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "selection");
}

#[tokio::test]
async fn a_subset_is_projected_on_its_own_and_cached_by_its_rows() {
    let app = app();
    let b = app.blobs;
    let clusters = column_strings(&app, b, "cluster");
    let subset = where_true(
        clusters
            .iter()
            .map(|c| c == "cluster 0" || c == "cluster 2"),
    );
    assert!(subset.len() >= 3);
    // Unsorted with a duplicate: normalised, so the same set is one cache entry.
    let mut shuffled = subset.clone();
    shuffled.reverse();
    shuffled.push(subset[0]);
    let id = projected(
        &app,
        json!({"table_id": b, "algorithm": "pca", "rows": shuffled}),
    )
    .await;
    let whole = projected(&app, json!({"table_id": b, "algorithm": "pca"})).await;
    assert_ne!(id, whole, "the row set is part of the cache key");
    let p = get(&app, &format!("/api/v1/projections/{id}")).await.json();
    assert_eq!(
        (p["rows_subset"].as_bool(), p["n_rows"].as_u64()),
        (Some(true), Some(subset.len() as u64))
    );
    let rows = get(&app, &format!("/api/v1/projections/{id}/rows")).await;
    assert_eq!(
        rows.headers["x-count"].to_str().expect("count"),
        subset.len().to_string()
    );
    assert_eq!(u32s(&rows.body), subset);
    let coords = f32s(
        &get(&app, &format!("/api/v1/projections/{id}/coords"))
            .await
            .body,
    );
    assert_eq!(coords.len(), 2 * subset.len());
    let full = get(&app, &format!("/api/v1/projections/{whole}"))
        .await
        .json();
    assert_eq!(full["rows_subset"], json!(false));
    assert_eq!(
        u32s(
            &get(&app, &format!("/api/v1/projections/{whole}/rows"))
                .await
                .body
        )
        .len(),
        clusters.len()
    );

    // The same rows through a saved selection hit the same cached projection.
    let sel = post_json(
        &app,
        &format!("/api/v1/tables/{b}/selections"),
        json!({"name": "two", "rows": subset}).to_string(),
    )
    .await
    .json()["id"]
        .as_i64()
        .expect("id");
    let again = project(
        &app,
        json!({"table_id": b, "algorithm": "pca", "selection_id": sel}),
    )
    .await
    .json();
    assert_eq!(
        (again["projection_id"].as_i64(), again["status"].as_str()),
        (Some(id), Some("done"))
    );

    // Exporting every row with the subset's coordinates: rows outside it have null x, y.
    let reply = get(
        &app,
        &format!("/api/v1/tables/{b}/export?format=parquet&projection={id}"),
    )
    .await;
    let batch = read_parquet(&reply.body);
    let x = batch.column(1).as_primitive::<Float32Type>();
    assert_eq!(x.len(), clusters.len());
    assert_eq!(x.null_count(), clusters.len() - subset.len());
    for (i, &r) in subset.iter().enumerate() {
        assert_eq!(x.value(r as usize), coords[2 * i]);
    }

    // Bad subsets.
    project(
        &app,
        json!({"table_id": b, "algorithm": "pca", "rows": [0, 1, 100000]}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "row 100000 is out of range");
    project(
        &app,
        json!({"table_id": b, "algorithm": "pca", "rows": [0, 1]}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "at least 3 rows");
    project(
        &app,
        json!({"table_id": b, "algorithm": "pca", "rows": [0, 1, 2], "selection_id": sel}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "not both");
    project(
        &app,
        json!({"table_id": app.digits, "algorithm": "pca", "selection_id": sel}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "belongs to table");
}
