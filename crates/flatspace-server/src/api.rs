//! Browsing endpoints: projects, runs, tables, rows (Arrow IPC), column categories, codes and
//! values, media. Every store call runs on the blocking pool, never on the async workers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use flatspace_store::{Store, StoreError, TableId, TableMeta};
use flatspace_table::ColumnKind;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::columns::{self, Categories};
use crate::error::{ApiError, ApiResult, error_response};

pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";
/// Rows one page may hold.
pub const MAX_PAGE_ROWS: usize = 100_000;
const DEFAULT_PAGE_ROWS: usize = 100;

/// Derived data per table version (immutable, so cached for the server's life).
#[derive(Default)]
pub struct Caches {
    pub tables: Mutex<HashMap<TableId, Arc<Value>>>,
    pub categories: Mutex<HashMap<(TableId, String), Arc<Categories>>>,
    /// The last vectors the neighbours search loaded, and what they are.
    pub matrix: Mutex<Option<(VectorsKey, flatspace_store::F32Matrix)>>,
}

/// Which vectors a matrix holds: table, fields layout, columns.
pub type VectorsKey = (TableId, String, Vec<String>);

fn cached<K: std::hash::Hash + Eq, V>(map: &Mutex<HashMap<K, Arc<V>>>, key: &K) -> Option<Arc<V>> {
    map.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(key)
        .cloned()
}

fn remember<K: std::hash::Hash + Eq, V>(map: &Mutex<HashMap<K, Arc<V>>>, key: K, value: Arc<V>) {
    map.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(key, value);
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/info", get(info))
        .route("/api/v1/projects", get(projects))
        .route("/api/v1/projects/{project_id}/runs", get(runs))
        .route("/api/v1/runs/{run_id}/tables", get(tables))
        .route("/api/v1/tables/{table_id}", get(table))
        .route("/api/v1/tables/{table_id}/rows", get(rows))
        .route(
            "/api/v1/tables/{table_id}/columns/{name}/categories",
            get(column_categories),
        )
        .route(
            "/api/v1/tables/{table_id}/columns/{name}/codes",
            get(column_codes),
        )
        .route(
            "/api/v1/tables/{table_id}/columns/{name}/values",
            get(column_values),
        )
        .route("/api/v1/media/{hash}", get(media))
}

/// Maps a store failure to the status a client should see.
pub fn store_error(e: StoreError) -> ApiError {
    let message = e.to_string();
    match e {
        StoreError::UnknownId { .. }
        | StoreError::UnknownName { .. }
        | StoreError::UnknownMedia { .. }
        | StoreError::UnknownColumn { .. } => ApiError::NotFound(message),
        StoreError::InvalidHash { .. }
        | StoreError::WrongColumnKind { .. }
        | StoreError::BadValue { .. }
        | StoreError::EmptyName { .. }
        | StoreError::InvalidName { .. }
        | StoreError::RowOutOfRange { .. } => ApiError::BadRequest(message),
        _ => ApiError::Internal(message),
    }
}

/// Runs blocking store work off the async workers.
pub async fn blocking<T: Send + 'static>(
    state: &Arc<AppState>,
    work: impl FnOnce(&Store) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || work(&store))
        .await
        .map_err(|e| ApiError::internal(format!("a store task failed: {e}")))?
}

async fn info() -> Json<Value> {
    Json(json!({
        "name": "flatspace",
        "version": env!("CARGO_PKG_VERSION"),
        "api": "v1",
        "ui_built": crate::assets::ui_is_built(),
    }))
}

async fn projects(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    let list = blocking(&state, |s| s.list_projects().map_err(store_error)).await?;
    Ok(Json(Value::Array(
        list.into_iter()
            .map(|p| json!({"id": p.id, "name": p.name, "n_runs": p.n_runs, "created_at": p.created_at}))
            .collect(),
    )))
}

async fn runs(
    State(state): State<Arc<AppState>>,
    Path(project_id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let list = blocking(&state, move |s| {
        s.list_runs(project_id).map_err(store_error)
    })
    .await?;
    Ok(Json(Value::Array(
        list.into_iter()
            .map(|r| {
                json!({"id": r.id, "name": r.name, "created_at": r.created_at,
                       "config": r.config, "n_tables": r.n_tables})
            })
            .collect(),
    )))
}

async fn tables(
    State(state): State<Arc<AppState>>,
    Path(run_id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let list = blocking(&state, move |s| s.list_tables(run_id).map_err(store_error)).await?;
    Ok(Json(Value::Array(
        list.into_iter()
            .map(|t| {
                json!({"id": t.id, "key": t.key, "step": t.step, "version": t.version,
                       "n_rows": t.n_rows, "n_columns": t.n_columns, "created_at": t.created_at,
                       "embeddings": t.embeddings})
            })
            .collect(),
    )))
}

/// Table metadata with each column's kind and the smart defaults (computed once per version).
pub fn table_description(state: &AppState, store: &Store, id: TableId) -> ApiResult<Arc<Value>> {
    if let Some(hit) = cached(&state.caches.tables, &id) {
        return Ok(hit);
    }
    let meta = store.table(id).map_err(store_error)?;
    let n_rows = usize::try_from(meta.info.n_rows).unwrap_or(usize::MAX);
    let batch = store.read_rows(id, 0, n_rows, None).map_err(store_error)?;
    let inferred = flatspace_table::schema::infer_schema(&batch);
    let columns: Vec<Value> = meta
        .columns
        .iter()
        .map(|c| {
            let mut v =
                json!({"name": c.name, "kind": kind_name(&c.kind), "arrow_type": c.arrow_type});
            if let ColumnKind::Embedding { dim } = c.kind {
                v["dim"] = json!(dim);
            }
            if let Some(n) = inferred.column(&c.name).and_then(|i| i.n_distinct) {
                v["n_distinct"] = json!(n);
            }
            v
        })
        .collect();
    let defaults = stored_defaults(&meta, &inferred.defaults);
    let value = Arc::new(json!({
        "id": meta.info.id,
        "run_id": meta.info.run_id,
        "key": meta.info.key,
        "step": meta.info.step,
        "version": meta.info.version,
        "n_rows": meta.info.n_rows,
        "created_at": meta.info.created_at,
        "columns": columns,
        "defaults": defaults,
    }));
    remember(&state.caches.tables, id, value.clone());
    Ok(value)
}

pub fn kind_name(kind: &ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Embedding { .. } => "embedding",
        ColumnKind::Numeric => "numeric",
        ColumnKind::Category => "category",
        ColumnKind::Text => "text",
        ColumnKind::Bool => "bool",
        ColumnKind::Image => "image",
    }
}

/// The inferred defaults, kept only where they agree with the kinds the store recorded (the
/// writer may have overridden inference).
fn stored_defaults(meta: &TableMeta, inferred: &flatspace_table::schema::Defaults) -> Value {
    let kind_of = |name: &str| meta.columns.iter().find(|c| c.name == name).map(|c| c.kind);
    let embedding = inferred.embedding.as_ref().filter(|e| {
        e.columns.iter().all(|c| match kind_of(c) {
            Some(ColumnKind::Embedding { .. }) => e.columns.len() == 1,
            Some(ColumnKind::Numeric) => true,
            _ => false,
        })
    });
    let embedding = embedding.map(|e| json!(e)).or_else(|| {
        meta.columns
            .iter()
            .find(|c| matches!(c.kind, ColumnKind::Embedding { .. }))
            .map(|c| json!({"type": "single", "columns": [c.name]}))
    });
    let color_by = inferred
        .color_by
        .as_deref()
        .filter(|c| matches!(kind_of(c), Some(ColumnKind::Category | ColumnKind::Bool)))
        .or_else(|| {
            meta.columns
                .iter()
                .find(|c| c.kind == ColumnKind::Category)
                .map(|c| c.name.as_str())
        });
    let overlay = inferred.overlay.as_deref().or_else(|| {
        meta.columns
            .iter()
            .find(|c| matches!(c.kind, ColumnKind::Image | ColumnKind::Text))
            .map(|c| c.name.as_str())
    });
    json!({"embedding": embedding, "color_by": color_by, "overlay": overlay})
}

async fn table(
    State(state): State<Arc<AppState>>,
    Path(table_id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let st = state.clone();
    let value = blocking(&state, move |s| table_description(&st, s, table_id)).await?;
    Ok(Json(value.as_ref().clone()))
}

#[derive(Debug, Deserialize)]
struct RowsQuery {
    offset: Option<usize>,
    limit: Option<usize>,
    columns: Option<String>,
}

async fn rows(
    State(state): State<Arc<AppState>>,
    Path(table_id): Path<i64>,
    Query(q): Query<RowsQuery>,
) -> ApiResult<Response> {
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(DEFAULT_PAGE_ROWS);
    if limit > MAX_PAGE_ROWS {
        return Err(ApiError::bad_request(format!(
            "limit {limit} is above the {MAX_PAGE_ROWS} rows one page may hold; page with offset"
        )));
    }
    let named: Option<Vec<String>> = q.columns.as_deref().map(|c| {
        c.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    });
    let bytes = blocking(&state, move |s| {
        let meta = s.table(table_id).map_err(store_error)?;
        let names: Vec<String> = match named {
            Some(names) => {
                for n in &names {
                    if !meta.columns.iter().any(|c| &c.name == n) {
                        return Err(unknown_column(&meta, n));
                    }
                }
                names
            }
            // Embedding columns are large: only sent when named.
            None => meta
                .columns
                .iter()
                .filter(|c| !matches!(c.kind, ColumnKind::Embedding { .. }))
                .map(|c| c.name.clone())
                .collect(),
        };
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let batch = s
            .read_rows(table_id, offset, limit, Some(&refs))
            .map_err(store_error)?;
        let mut out = Vec::new();
        {
            let mut writer = arrow_ipc::writer::StreamWriter::try_new(&mut out, &batch.schema())
                .map_err(|e| {
                    ApiError::internal(format!("arrow stream of table {table_id}: {e}"))
                })?;
            writer
                .write(&batch)
                .and_then(|()| writer.finish())
                .map_err(|e| {
                    ApiError::internal(format!("arrow stream of table {table_id}: {e}"))
                })?;
        }
        Ok(out)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, ARROW_STREAM)], bytes).into_response())
}

/// 400 naming the column and the table's columns (used where a request names columns).
pub fn unknown_column(meta: &TableMeta, name: &str) -> ApiError {
    let names: Vec<String> = meta
        .columns
        .iter()
        .map(|c| format!("{:?}", c.name))
        .collect();
    ApiError::bad_request(format!(
        "table {} has no column {name:?}; its columns are {}",
        meta.info.id,
        names.join(", ")
    ))
}

fn table_categories(
    state: &AppState,
    store: &Store,
    table_id: TableId,
    name: &str,
) -> ApiResult<Arc<Categories>> {
    let key = (table_id, name.to_owned());
    if let Some(hit) = cached(&state.caches.categories, &key) {
        return Ok(hit);
    }
    let meta = store.table(table_id).map_err(store_error)?;
    let Some(column) = meta.columns.iter().find(|c| c.name == name) else {
        return Err(ApiError::NotFound(unknown_column(&meta, name).to_string()));
    };
    if matches!(
        column.kind,
        ColumnKind::Embedding { .. } | ColumnKind::Image
    ) {
        return Err(ApiError::bad_request(format!(
            "column {name:?} of table {table_id} is an {} column; colour by a category, text, bool or integer column",
            kind_name(&column.kind)
        )));
    }
    let n_rows = usize::try_from(meta.info.n_rows).unwrap_or(usize::MAX);
    let batch = store
        .read_rows(table_id, 0, n_rows, Some(&[name]))
        .map_err(store_error)?;
    let result = Arc::new(columns::categories(name, batch.column(0).as_ref())?);
    remember(&state.caches.categories, key, result.clone());
    Ok(result)
}

/// One category code per row (`u32`), for the quality metrics' label accuracy.
pub fn category_codes(
    state: &AppState,
    store: &Store,
    table_id: TableId,
    name: &str,
) -> ApiResult<Vec<u32>> {
    let c = table_categories(state, store, table_id, name)?;
    Ok(match c.code_type {
        "uint8" => c.codes_le.iter().map(|&b| u32::from(b)).collect(),
        "uint16" => c
            .codes_le
            .chunks_exact(2)
            .map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        _ => c
            .codes_le
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    })
}

async fn column_categories(
    State(state): State<Arc<AppState>>,
    Path((table_id, name)): Path<(i64, String)>,
) -> ApiResult<Json<Value>> {
    let st = state.clone();
    let c = blocking(&state, move |s| table_categories(&st, s, table_id, &name)).await?;
    Ok(Json(
        json!({"categories": c.categories, "counts": c.counts, "code_type": c.code_type}),
    ))
}

async fn column_codes(
    State(state): State<Arc<AppState>>,
    Path((table_id, name)): Path<(i64, String)>,
) -> ApiResult<Response> {
    let st = state.clone();
    let c = blocking(&state, move |s| table_categories(&st, s, table_id, &name)).await?;
    let mut response = c.codes_le.clone().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert("x-code-type", HeaderValue::from_static(c.code_type));
    Ok(response)
}

async fn column_values(
    State(state): State<Arc<AppState>>,
    Path((table_id, name)): Path<(i64, String)>,
) -> ApiResult<Response> {
    let values = blocking(&state, move |s| {
        let meta = s.table(table_id).map_err(store_error)?;
        if !meta.columns.iter().any(|c| c.name == name) {
            return Err(ApiError::NotFound(unknown_column(&meta, &name).to_string()));
        }
        let matrix = s.numeric_matrix(table_id, &[&name]).map_err(store_error)?;
        Ok(matrix.into_vec())
    })
    .await?;
    let (lo, hi) = columns::finite_range(&values).unwrap_or((f32::NAN, f32::NAN));
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    for (name, v) in [("x-min", lo), ("x-max", hi)] {
        if let Ok(value) = HeaderValue::from_str(&v.to_string()) {
            headers.insert(name, value);
        }
    }
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("x-min, x-max"),
    );
    Ok(response)
}

async fn media(
    State(state): State<Arc<AppState>>,
    Path(hash): Path<String>,
    request_headers: HeaderMap,
) -> ApiResult<Response> {
    let etag = format!("\"{hash}\"");
    if request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let media = blocking(&state, move |s| s.media(&hash).map_err(store_error)).await?;
    let mut response = Response::new(Body::from(media.bytes));
    let headers = response.headers_mut();
    let mime = HeaderValue::from_str(&media.mime)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, mime);
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// Unknown `/api` paths are a JSON 404; every other path is the UI.
pub async fn fallback(uri: Uri) -> Response {
    if uri.path() == "/api" || uri.path().starts_with("/api/") {
        return error_response(
            StatusCode::NOT_FOUND,
            &format!("no API endpoint {}; see docs/api.md", uri.path()),
        );
    }
    crate::assets::serve_ui(uri).await
}

/// Turns any error response that is not JSON yet (axum's extractor rejections: bad path ids,
/// bad query strings, oversized bodies, wrong methods) into `{"error": message}`.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            "the request body is larger than this server accepts (see --body-limit)".to_owned()
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            "this endpoint does not accept that HTTP method".to_owned()
        }
        _ if text.is_empty() => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_owned(),
        _ => text,
    };
    let mut out = error_response(status, &message);
    // Keep headers such as `Allow` from the original response.
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}
