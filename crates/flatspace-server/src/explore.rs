//! Exploring a table: nearest neighbours of a row in the original space, search and filter,
//! saved selections and export of rows with their coordinates (issue 8; the contract is the
//! "Explore" section of `docs/api.md`).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use flatspace_compute::knn::{KnnQuery, query_exact};
use flatspace_compute::{MatrixView, Metric};
use flatspace_store::{F32Matrix, ProjectionStatus, SelectionInfo, Store, TableId, TableMeta};
use flatspace_table::ColumnKind;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::{blocking, kind_name, store_error, unknown_column};
use crate::error::{ApiError, ApiResult};
use crate::projections::{FieldsRequest, check_fields, parse_json_body, resolve_fields};

/// Body limit of the endpoints that take row lists (a million row ids is about 8 MB of JSON).
pub const ROWS_BODY_LIMIT: usize = 64 << 20;
/// Most neighbours one request may ask for.
pub const MAX_NEIGHBORS: u32 = 1000;
const DEFAULT_NEIGHBORS: u32 = 10;
/// Compiled-program limits for user regexes: a pattern beyond them is refused, not run.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
const REGEX_DFA_SIZE_LIMIT: usize = 8 << 20;
const MAX_PATTERN_CHARS: usize = 10_000;
const MAX_FILTERS: usize = 64;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/tables/{table_id}/neighbors", post(neighbors))
        .route("/api/v1/tables/{table_id}/query", post(query))
        .route(
            "/api/v1/tables/{table_id}/selections",
            get(list_selections)
                .post(save_selection)
                .layer(DefaultBodyLimit::max(ROWS_BODY_LIMIT)),
        )
        .route(
            "/api/v1/selections/{selection_id}",
            get(selection).delete(delete_selection),
        )
        .route("/api/v1/tables/{table_id}/export", get(export))
}

/// The embedding vectors a request names (or the table's default), as a matrix. The last
/// matrix is kept: a user clicking point after point asks for the same one again and again.
fn vectors(
    state: &AppState,
    store: &Store,
    meta: &TableMeta,
    fields: Option<FieldsRequest>,
) -> ApiResult<(F32Matrix, Vec<String>)> {
    let table_id = meta.info.id;
    let description = crate::api::table_description(state, store, table_id)?;
    let (layout, columns) = resolve_fields(table_id, &description, fields)?;
    check_fields(meta, &layout, &columns)?;
    let key = (table_id, layout.clone(), columns.clone());
    {
        let cached = state
            .caches
            .matrix
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((k, m)) = cached.as_ref()
            && *k == key
        {
            return Ok((m.clone(), columns));
        }
    }
    let matrix = if layout == "single" {
        store.embedding_matrix(table_id, &columns[0])
    } else {
        let refs: Vec<&str> = columns.iter().map(String::as_str).collect();
        store.numeric_matrix(table_id, &refs)
    }
    .map_err(store_error)?;
    *state
        .caches
        .matrix
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((key, matrix.clone()));
    Ok((matrix, columns))
}

// ---- nearest neighbours ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeighborsRequest {
    row: u64,
    k: Option<u32>,
    metric: Option<String>,
    fields: Option<FieldsRequest>,
}

async fn neighbors(
    State(state): State<Arc<AppState>>,
    Path(table_id): Path<i64>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let req: NeighborsRequest = parse_json_body(body, state.body_limit)?;
    let k = req.k.unwrap_or(DEFAULT_NEIGHBORS);
    if !(1..=MAX_NEIGHBORS).contains(&k) {
        return Err(ApiError::bad_request(format!(
            "k must be between 1 and {MAX_NEIGHBORS}, got {k}"
        )));
    }
    let (metric, metric_name) = match req.metric.as_deref().unwrap_or("euclidean") {
        "euclidean" => (Metric::Euclidean, "euclidean"),
        "cosine" => (Metric::Cosine, "cosine"),
        other => {
            return Err(ApiError::bad_request(format!(
                "metric {other:?} is not known; expected \"euclidean\" or \"cosine\""
            )));
        }
    };
    let st = state.clone();
    blocking(&state, move |store| {
        let meta = store.table(table_id).map_err(store_error)?;
        let n_rows = meta.info.n_rows;
        if req.row >= n_rows {
            return Err(ApiError::bad_request(format!(
                "row {} is out of range: table {table_id} has {n_rows} rows (0..{n_rows})",
                req.row
            )));
        }
        let (matrix, columns) = vectors(&st, store, &meta, req.fields)?;
        let x = MatrixView::new(matrix.as_slice(), matrix.n_rows(), matrix.dim())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let row = req.row as usize;
        let found = query_exact(x, KnnQuery::Row(row), k as usize, metric).map_err(|e| {
            ApiError::bad_request(format!("columns {columns:?} of table {table_id}: {e}"))
        })?;
        let list: Vec<Value> = found
            .iter()
            .map(|nb| json!({"row": nb.row, "distance": nb.distance}))
            .collect();
        Ok(Json(json!({
            "row": req.row,
            "metric": metric_name,
            "k": k,
            "neighbors": list,
        })))
    })
    .await
}

// ---- search and filter ----

#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum Filter {
    Contains {
        column: String,
        value: String,
        case_sensitive: Option<bool>,
    },
    Regex {
        column: String,
        value: String,
        case_sensitive: Option<bool>,
    },
    Range {
        column: String,
        min: Option<f64>,
        max: Option<f64>,
    },
    In {
        column: String,
        values: Vec<Value>,
    },
}

impl Filter {
    fn column(&self) -> &str {
        match self {
            Filter::Contains { column, .. }
            | Filter::Regex { column, .. }
            | Filter::Range { column, .. }
            | Filter::In { column, .. } => column,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryRequest {
    filters: Vec<Filter>,
    combine: Option<String>,
}

/// One row's cell as the table shows it (`None` for null).
fn cell_text(array: &dyn Array, row: usize, out: &mut String) -> bool {
    use std::fmt::Write as _;
    out.clear();
    if array.is_null(row) {
        return false;
    }
    macro_rules! show {
        ($t:ty) => {{
            let _ = write!(out, "{}", array.as_primitive::<$t>().value(row));
        }};
    }
    match array.data_type() {
        DataType::Utf8 => out.push_str(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => out.push_str(array.as_string::<i64>().value(row)),
        DataType::Utf8View => out.push_str(array.as_string_view().value(row)),
        DataType::Boolean => out.push_str(if array.as_boolean().value(row) {
            "true"
        } else {
            "false"
        }),
        DataType::Int8 => show!(Int8Type),
        DataType::Int16 => show!(Int16Type),
        DataType::Int32 => show!(Int32Type),
        DataType::Int64 => show!(Int64Type),
        DataType::UInt8 => show!(UInt8Type),
        DataType::UInt16 => show!(UInt16Type),
        DataType::UInt32 => show!(UInt32Type),
        DataType::UInt64 => show!(UInt64Type),
        DataType::Float16 => show!(Float16Type),
        DataType::Float32 => show!(Float32Type),
        DataType::Float64 => show!(Float64Type),
        _ => return false,
    }
    true
}

/// One row's value as a number (`None` for null or a non-numeric column).
fn cell_number(array: &dyn Array, row: usize) -> Option<f64> {
    if array.is_null(row) {
        return None;
    }
    macro_rules! num {
        ($t:ty) => {
            Some(array.as_primitive::<$t>().value(row) as f64)
        };
    }
    match array.data_type() {
        DataType::Int8 => num!(Int8Type),
        DataType::Int16 => num!(Int16Type),
        DataType::Int32 => num!(Int32Type),
        DataType::Int64 => num!(Int64Type),
        DataType::UInt8 => num!(UInt8Type),
        DataType::UInt16 => num!(UInt16Type),
        DataType::UInt32 => num!(UInt32Type),
        DataType::UInt64 => num!(UInt64Type),
        DataType::Float16 => Some(f64::from(array.as_primitive::<Float16Type>().value(row))),
        DataType::Float32 => Some(f64::from(array.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => Some(array.as_primitive::<Float64Type>().value(row)),
        _ => None,
    }
}

fn is_numeric_type(t: &DataType) -> bool {
    t.is_integer() || t.is_floating()
}

/// Every row of `column` as one array.
fn whole_column(store: &Store, meta: &TableMeta, column: &str) -> ApiResult<ArrayRef> {
    let n_rows = usize::try_from(meta.info.n_rows).unwrap_or(usize::MAX);
    let batch = store
        .read_rows(meta.info.id, 0, n_rows, Some(&[column]))
        .map_err(store_error)?;
    Ok(batch.column(0).clone())
}

/// Rows per parallel task of a text search.
const SEARCH_CHUNK: usize = 16_384;

/// Which rows' text (as the table shows it; nulls never) passes `matches`, searched in parallel.
fn text_match_rows(array: &dyn Array, matches: impl Fn(&str) -> bool + Sync) -> Vec<bool> {
    use rayon::prelude::*;
    let mut out = vec![false; array.len()];
    let strings = array.as_string_opt::<i32>();
    out.par_chunks_mut(SEARCH_CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            let start = c * SEARCH_CHUNK;
            let mut text = String::new();
            for (j, o) in chunk.iter_mut().enumerate() {
                let i = start + j;
                *o = match strings {
                    // Text columns: match the stored bytes in place, no copy.
                    Some(s) => !s.is_null(i) && matches(s.value(i)),
                    None => cell_text(array, i, &mut text) && matches(&text),
                };
            }
        });
    out
}

fn build_regex(pattern: &str, case_sensitive: bool, column: &str) -> ApiResult<regex::Regex> {
    let n_chars = pattern.chars().count();
    if n_chars > MAX_PATTERN_CHARS {
        return Err(ApiError::bad_request(format!(
            "the regular expression for column {column:?} has {n_chars} characters; at most \
             {MAX_PATTERN_CHARS} are allowed"
        )));
    }
    regex::RegexBuilder::new(pattern)
        .case_insensitive(!case_sensitive)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            ApiError::bad_request(format!(
                "invalid regular expression {pattern:?} for column {column:?}: {e}"
            ))
        })
}

/// Which rows of the table pass `filter`.
fn evaluate(store: &Store, meta: &TableMeta, filter: &Filter) -> ApiResult<Vec<bool>> {
    let name = filter.column();
    let info = meta
        .columns
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| unknown_column(meta, name))?;
    let op = match filter {
        Filter::Contains { .. } => "contains",
        Filter::Regex { .. } => "regex",
        Filter::Range { .. } => "range",
        Filter::In { .. } => "in",
    };
    if matches!(info.kind, ColumnKind::Embedding { .. } | ColumnKind::Image) {
        return Err(ApiError::bad_request(format!(
            "column {name:?} of table {} is an {} column; {op} works on text, category, numeric \
             and bool columns",
            meta.info.id,
            kind_name(&info.kind)
        )));
    }
    let array = whole_column(store, meta, name)?;
    let array = array.as_ref();
    Ok(match filter {
        Filter::Contains {
            value,
            case_sensitive,
            ..
        } => {
            if case_sensitive.unwrap_or(false) {
                text_match_rows(array, |t| t.contains(value.as_str()))
            } else {
                let re = build_regex(&regex::escape(value), false, name)?;
                text_match_rows(array, |t| re.is_match(t))
            }
        }
        Filter::Regex {
            value,
            case_sensitive,
            ..
        } => {
            let re = build_regex(value, case_sensitive.unwrap_or(false), name)?;
            text_match_rows(array, |t| re.is_match(t))
        }
        Filter::Range { min, max, .. } => {
            if !is_numeric_type(array.data_type()) {
                return Err(ApiError::bad_request(format!(
                    "column {name:?} of table {} is a {} column; range works on numeric columns",
                    meta.info.id,
                    kind_name(&info.kind)
                )));
            }
            let lo = min.unwrap_or(f64::NEG_INFINITY);
            let hi = max.unwrap_or(f64::INFINITY);
            (0..array.len())
                .map(|i| cell_number(array, i).is_some_and(|v| v >= lo && v <= hi))
                .collect()
        }
        Filter::In { values, .. } => {
            let numeric = is_numeric_type(array.data_type());
            let mut texts: std::collections::HashSet<String> = Default::default();
            // Numbers by their bits (-0 folded into 0): a set, so long lists stay fast.
            let key = |v: f64| if v == 0.0 { 0u64 } else { v.to_bits() };
            // A typed 0.1 is meant as the f32 the column shows as 0.1.
            let single = matches!(array.data_type(), DataType::Float32 | DataType::Float16);
            let typed = |v: f64| if single { f64::from(v as f32) } else { v };
            let mut numbers: std::collections::HashSet<u64> = Default::default();
            for (i, v) in values.iter().enumerate() {
                match v {
                    Value::String(s) => {
                        if numeric && let Ok(n) = s.trim().parse::<f64>() {
                            numbers.insert(key(typed(n)));
                        }
                        texts.insert(s.clone());
                    }
                    Value::Number(n) => {
                        if let Some(f) = n.as_f64() {
                            numbers.insert(key(typed(f)));
                        }
                        texts.insert(n.to_string());
                    }
                    Value::Bool(b) => {
                        texts.insert(b.to_string());
                    }
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "filter on column {name:?}: values[{i}] is {other}; expected a string \
                             or a number"
                        )));
                    }
                }
            }
            let mut text = String::new();
            (0..array.len())
                .map(|i| {
                    if numeric {
                        cell_number(array, i).is_some_and(|v| numbers.contains(&key(v)))
                    } else {
                        cell_text(array, i, &mut text) && texts.contains(&text)
                    }
                })
                .collect()
        }
    })
}

/// Rows (ascending) of the table passing the filters; an empty filter list passes every row.
fn run_query(store: &Store, table_id: TableId, req: &QueryRequest) -> ApiResult<Vec<u32>> {
    let any = match req.combine.as_deref().unwrap_or("and") {
        "and" => false,
        "or" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "combine {other:?} is not known; expected \"and\" or \"or\""
            )));
        }
    };
    if req.filters.len() > MAX_FILTERS {
        return Err(ApiError::bad_request(format!(
            "{} filters given; at most {MAX_FILTERS} are allowed",
            req.filters.len()
        )));
    }
    let meta = store.table(table_id).map_err(store_error)?;
    let n = usize::try_from(meta.info.n_rows).unwrap_or(usize::MAX);
    let mut keep: Option<Vec<bool>> = None;
    for filter in &req.filters {
        let pass = evaluate(store, &meta, filter)?;
        keep = Some(match keep {
            None => pass,
            Some(mut k) => {
                for (a, b) in k.iter_mut().zip(&pass) {
                    *a = if any { *a || *b } else { *a && *b };
                }
                k
            }
        });
    }
    Ok(match keep {
        None => (0..n as u32).collect(),
        Some(k) => k
            .iter()
            .enumerate()
            .filter(|(_, keep)| **keep)
            .map(|(i, _)| i as u32)
            .collect(),
    })
}

/// A raw little-endian `Uint32Array` body with its length in `X-Count`.
pub(crate) fn u32_response(rows: &[u32]) -> Response {
    let bytes: Vec<u8> = rows.iter().flat_map(|r| r.to_le_bytes()).collect();
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert("x-count", HeaderValue::from(rows.len()));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("x-count"),
    );
    response
}

async fn query(
    State(state): State<Arc<AppState>>,
    Path(table_id): Path<i64>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let req: QueryRequest = parse_json_body(body, state.body_limit)?;
    let rows = blocking(&state, move |s| run_query(s, table_id, &req)).await?;
    Ok(u32_response(&rows))
}

// ---- selections ----

fn selection_json(s: &SelectionInfo) -> Value {
    json!({"id": s.id, "table_id": s.table_id, "name": s.name, "n_rows": s.n_rows,
           "created_at": s.created_at})
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SelectionRequest {
    name: String,
    rows: Vec<u32>,
}

async fn list_selections(
    State(state): State<Arc<AppState>>,
    Path(table_id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let list = blocking(&state, move |s| {
        s.list_selections(table_id).map_err(store_error)
    })
    .await?;
    Ok(Json(Value::Array(
        list.iter().map(selection_json).collect(),
    )))
}

async fn save_selection(
    State(state): State<Arc<AppState>>,
    Path(table_id): Path<i64>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let req: SelectionRequest = parse_json_body(body, ROWS_BODY_LIMIT)?;
    let saved = blocking(&state, move |s| {
        s.save_selection(table_id, &req.name, &req.rows)
            .map_err(store_error)
    })
    .await?;
    Ok(Json(selection_json(&saved)))
}

async fn selection(
    State(state): State<Arc<AppState>>,
    Path(selection_id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let (info, rows) = blocking(&state, move |s| {
        s.selection(selection_id).map_err(store_error)
    })
    .await?;
    let mut v = selection_json(&info);
    v["rows"] = json!(rows);
    Ok(Json(v))
}

async fn delete_selection(
    State(state): State<Arc<AppState>>,
    Path(selection_id): Path<i64>,
) -> ApiResult<StatusCode> {
    blocking(&state, move |s| {
        s.delete_selection(selection_id).map_err(store_error)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The rows of selection `selection_id`, which must belong to `table_id`.
pub(crate) fn selection_rows(
    store: &Store,
    table_id: TableId,
    selection_id: i64,
) -> ApiResult<(SelectionInfo, Vec<u32>)> {
    let (info, rows) = store.selection(selection_id).map_err(|e| {
        // A missing selection named in a request body or query is the request's fault.
        ApiError::bad_request(e.to_string())
    })?;
    if info.table_id != table_id {
        return Err(ApiError::bad_request(format!(
            "selection {selection_id} ({:?}) belongs to table {}, not table {table_id}",
            info.name, info.table_id
        )));
    }
    Ok((info, rows))
}

// ---- export ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    format: Option<String>,
    selection: Option<i64>,
    projection: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Parquet,
}

impl ExportFormat {
    pub fn parse(s: &str) -> ApiResult<Self> {
        match s {
            "csv" => Ok(Self::Csv),
            "parquet" => Ok(Self::Parquet),
            other => Err(ApiError::bad_request(format!(
                "format {other:?} is not known; expected \"csv\" or \"parquet\""
            ))),
        }
    }
    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Parquet => "parquet",
        }
    }
    fn mime(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// Checks what the export's `projection` names: a 400 unless it is of this table, a 409 unless
/// it is done (the store checks again; these give the client the right status).
fn check_export_projection(store: &Store, table_id: TableId, projection_id: i64) -> ApiResult<()> {
    let p = store
        .projection(projection_id)
        .map_err(|e| ApiError::bad_request(format!("projection {projection_id}: {e}")))?;
    if p.table_id != table_id {
        return Err(ApiError::bad_request(format!(
            "projection {projection_id} is of table {}, not table {table_id}",
            p.table_id
        )));
    }
    if p.status != ProjectionStatus::Done {
        return Err(ApiError::Conflict(format!(
            "projection {projection_id} has no coordinates yet (status {}); wait for its job \
             to finish",
            p.status.as_str()
        )));
    }
    Ok(())
}

/// The export file's bytes.
pub fn export_bytes(batch: &RecordBatch, format: ExportFormat) -> ApiResult<Vec<u8>> {
    let mut out = Vec::new();
    let name = std::path::Path::new("the export");
    match format {
        ExportFormat::Csv => flatspace_table::write_csv(batch, &mut out, name),
        ExportFormat::Parquet => flatspace_table::write_parquet(batch, &mut out, name),
    }
    .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(out)
}

/// A file name made of safe characters only.
fn file_name(parts: &[&str], format: ExportFormat) -> String {
    let stem: String = parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    format!("{stem}.{}", format.extension())
}

async fn export(
    State(state): State<Arc<AppState>>,
    Path(table_id): Path<i64>,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    let format = ExportFormat::parse(q.format.as_deref().unwrap_or("csv"))?;
    let (bytes, name) = blocking(&state, move |s| {
        let info = s.table_info(table_id).map_err(store_error)?;
        let selection = q
            .selection
            .map(|id| selection_rows(s, table_id, id))
            .transpose()?;
        let rows = selection.as_ref().map(|(_, rows)| rows.as_slice());
        if let Some(projection_id) = q.projection {
            check_export_projection(s, table_id, projection_id)?;
        }
        let batch = s
            .export_rows(table_id, rows, q.projection)
            .map_err(store_error)?;
        let bytes = export_bytes(&batch, format)?;
        let selection_name = selection.as_ref().map_or("all", |(i, _)| i.name.as_str());
        let name = file_name(&[&info.key, selection_name], format);
        Ok((bytes, name))
    })
    .await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.mime()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(
            file_name(&["digits/v1", "my \"sel\"; rm"], ExportFormat::Csv),
            "digits_v1-my__sel___rm.csv"
        );
        assert_eq!(file_name(&["t", ""], ExportFormat::Parquet), "t.parquet");
    }

    #[test]
    fn cells_show_as_the_table_does() {
        let mut s = String::new();
        let floats = arrow_array::Float64Array::from(vec![Some(0.5), None, Some(3.0)]);
        assert!(cell_text(&floats, 0, &mut s) && s == "0.5");
        assert!(!cell_text(&floats, 1, &mut s));
        assert!(cell_text(&floats, 2, &mut s) && s == "3");
        let ints = arrow_array::Int64Array::from(vec![-12]);
        assert!(cell_text(&ints, 0, &mut s) && s == "-12");
        assert_eq!(cell_number(&ints, 0), Some(-12.0));
    }

    #[test]
    fn regexes_beyond_the_size_limit_are_refused() {
        assert!(build_regex("a{1000}{1000}", true, "c").is_err());
        let err = build_regex("(unclosed", true, "label").expect_err("invalid");
        assert!(err.to_string().contains("unclosed group"), "{err}");
        assert!(
            build_regex("^dig.t", false, "c")
                .expect("ok")
                .is_match("DIGIT")
        );
    }
}
