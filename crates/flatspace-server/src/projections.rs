//! Projection endpoints and the work a projection job does: validate the request, reuse the
//! cached result or the running job for the same spec, else load the vectors, run the algorithm
//! on the compute pool with progress and cancellation, measure its quality and store it.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use flatspace_compute::metrics::{QualityParams, quality_report};
use flatspace_compute::{CancelToken, ComputeError, MatrixView, Metric, RunContext};
use flatspace_store::{
    JobStatus, Projection, ProjectionSpec, ProjectionStatus, Store, StoreError, TableMeta,
};
use flatspace_table::ColumnKind;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::algorithms::{self, Algorithm, get_f64, get_str, get_usize};
use crate::api::{blocking, store_error, table_description, unknown_column};
use crate::error::{ApiError, ApiResult};
use crate::jobs::{JobFailure, JobProgress, JobState, Prepared, Submitted};

/// Rows sampled as queries for the quality metrics (kNN recall, trustworthiness).
const METRIC_QUERY_ROWS: usize = 1000;
const METRIC_K: usize = 15;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/algorithms", get(list_algorithms))
        .route(
            "/api/v1/projections",
            post(create_projection).layer(DefaultBodyLimit::max(crate::explore::ROWS_BODY_LIMIT)),
        )
        .route("/api/v1/projections/{projection_id}", get(projection))
        .route(
            "/api/v1/projections/{projection_id}/coords",
            get(projection_coords),
        )
        .route(
            "/api/v1/projections/{projection_id}/rows",
            get(projection_rows),
        )
        .route(
            "/api/v1/tables/{table_id}/projections",
            get(table_projections),
        )
        .route("/api/v1/jobs/{job_id}/cancel", post(cancel_job))
}

async fn list_algorithms() -> Json<Value> {
    Json(json!(
        Algorithm::ALL
            .into_iter()
            .map(algorithms::spec)
            .collect::<Vec<_>>()
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldsRequest {
    #[serde(rename = "type")]
    layout: String,
    columns: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectionRequest {
    table_id: i64,
    fields: Option<FieldsRequest>,
    algorithm: String,
    #[serde(default)]
    params: Option<Map<String, Value>>,
    seed: Option<u64>,
    n_components: Option<u32>,
    /// Project only these rows (any order; duplicates ignored).
    rows: Option<Vec<u32>>,
    /// Project only the rows of this saved selection.
    selection_id: Option<i64>,
}

/// Fewest rows a subset projection may hold.
const MIN_SUBSET_ROWS: usize = 3;

const DEFAULT_SEED: u64 = 42;

/// Parses a JSON body, turning every failure into a 4xx that says what was wrong.
pub fn parse_json_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> ApiResult<T> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "the request body is larger than the {limit} bytes this server accepts"
            ))
        } else {
            ApiError::bad_request(format!("could not read the request body: {rejection}"))
        }
    })?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "the request body is empty; expected a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." {
            ApiError::bad_request(format!("the request body is not valid: {inner}"))
        } else {
            ApiError::bad_request(format!("the request body is not valid at {path}: {inner}"))
        }
    })
}

/// A validated request: what to compute and how.
struct Plan {
    spec: ProjectionSpec,
    algorithm: Algorithm,
    params: std::collections::BTreeMap<String, Value>,
    fields_layout: String,
    columns: Vec<String>,
    color_by: Option<String>,
}

fn plan(state: &AppState, store: &Store, req: ProjectionRequest) -> ApiResult<Plan> {
    let algorithm = Algorithm::parse(&req.algorithm)?;
    let meta = store.table(req.table_id).map_err(store_error)?;
    let n_rows = usize::try_from(meta.info.n_rows).unwrap_or(usize::MAX);
    let description = table_description(state, store, req.table_id)?;
    let (layout, columns) = resolve_fields(req.table_id, &description, req.fields)?;
    let rows = match (req.rows, req.selection_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give either rows or selection_id, not both",
            ));
        }
        (Some(mut rows), None) => {
            rows.sort_unstable();
            rows.dedup();
            if let Some(&row) = rows.last()
                && row as usize >= n_rows
            {
                return Err(ApiError::bad_request(format!(
                    "row {row} is out of range: table {} has {n_rows} rows (0..{n_rows})",
                    req.table_id
                )));
            }
            Some(rows)
        }
        (None, Some(id)) => Some(crate::explore::selection_rows(store, req.table_id, id)?.1),
        (None, None) => None,
    };
    if let Some(rows) = &rows
        && rows.len() < MIN_SUBSET_ROWS
    {
        return Err(ApiError::bad_request(format!(
            "a subset projection needs at least {MIN_SUBSET_ROWS} rows, got {}",
            rows.len()
        )));
    }
    // The algorithms' parameter ranges depend on the rows actually projected.
    let n_rows = rows.as_ref().map_or(n_rows, Vec::len);
    let dim = check_fields(&meta, &layout, &columns)?;
    let n_components = req.n_components.unwrap_or(2);
    if !(2..=3).contains(&n_components) {
        return Err(ApiError::bad_request(format!(
            "n_components must be 2 or 3, got {n_components}"
        )));
    }
    if algorithm == Algorithm::Pca && n_components as usize > dim {
        return Err(ApiError::bad_request(format!(
            "pca cannot make {n_components} components from {dim}-dimensional vectors"
        )));
    }
    let raw = req.params.unwrap_or_default();
    let params = algorithms::canonical_params(algorithm, &raw, n_rows)?;
    let seed = req.seed.unwrap_or(DEFAULT_SEED);
    if seed > (1u64 << 53) {
        return Err(ApiError::bad_request(format!(
            "seed {seed} is larger than 2^53 (JSON numbers above it lose precision)"
        )));
    }
    let color_by = description["defaults"]["color_by"]
        .as_str()
        .map(str::to_owned);
    let spec = ProjectionSpec {
        table_id: req.table_id,
        fields: json!({"type": layout, "columns": columns}),
        algorithm: algorithm.name().to_owned(),
        params: json!(params),
        seed,
        n_components,
        rows,
    };
    Ok(Plan {
        spec,
        algorithm,
        params,
        fields_layout: layout,
        columns,
        color_by,
    })
}

/// The fields a request names, or the table's default embedding: `(layout, columns)`.
pub(crate) fn resolve_fields(
    table_id: i64,
    description: &Value,
    fields: Option<FieldsRequest>,
) -> ApiResult<(String, Vec<String>)> {
    if let Some(f) = fields {
        return Ok((f.layout, f.columns));
    }
    let default = &description["defaults"]["embedding"];
    let layout = default["type"].as_str().map(str::to_owned);
    let columns: Option<Vec<String>> = default["columns"].as_array().map(|a| {
        a.iter()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect()
    });
    match (layout, columns) {
        (Some(l), Some(c)) => Ok((l, c)),
        _ => Err(ApiError::bad_request(format!(
            "table {table_id} has no embedding column and fewer than two numeric columns: \
             there is no vector to use"
        ))),
    }
}

/// Checks the embedding fields against the table; returns the vector dimension.
pub(crate) fn check_fields(meta: &TableMeta, layout: &str, columns: &[String]) -> ApiResult<usize> {
    let kind_of = |name: &str| -> ApiResult<ColumnKind> {
        meta.columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.kind)
            .ok_or_else(|| unknown_column(meta, name))
    };
    match layout {
        "single" => {
            let [column] = columns else {
                return Err(ApiError::bad_request(format!(
                    "fields of type \"single\" name exactly one embedding column, got {}",
                    columns.len()
                )));
            };
            match kind_of(column)? {
                ColumnKind::Embedding { dim } => Ok(dim),
                other => Err(ApiError::bad_request(format!(
                    "column {column:?} of table {} is {}, not an embedding; use fields of type \
                     \"many\" for numeric columns",
                    meta.info.id,
                    crate::api::kind_name(&other)
                ))),
            }
        }
        "many" => {
            if columns.is_empty() {
                return Err(ApiError::bad_request(
                    "fields of type \"many\" name at least one numeric column",
                ));
            }
            for (i, column) in columns.iter().enumerate() {
                let kind = kind_of(column)?;
                if kind != ColumnKind::Numeric {
                    return Err(ApiError::bad_request(format!(
                        "column {column:?} of table {} is {}; fields of type \"many\" take numeric columns",
                        meta.info.id,
                        crate::api::kind_name(&kind)
                    )));
                }
                if columns[..i].contains(column) {
                    return Err(ApiError::bad_request(format!(
                        "column {column:?} is named twice in fields"
                    )));
                }
            }
            Ok(columns.len())
        }
        other => Err(ApiError::bad_request(format!(
            "fields type {other:?} is not known; expected \"single\" or \"many\""
        ))),
    }
}

async fn create_projection(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let req: ProjectionRequest = parse_json_body(body, state.body_limit)?;
    let st = state.clone();
    blocking(&state, move |store| {
        let plan = plan(&st, store, req)?;
        let key = plan.spec.cache_key();
        let submitted = st.jobs.submit(&key, || prepare(&st, store, plan))?;
        let cached =
            |p: &Projection| json!({"projection_id": p.id, "job_id": null, "status": "done"});
        // A job stays joinable from the moment its work stores the layout until the registry
        // retires it; a request in that window is answered from the store, like any later one
        // (it was answered "running" with a job about to end: a flaky server test showed it).
        let stored_done = |s: &Submitted| -> ApiResult<Option<Projection>> {
            if !matches!(s, Submitted::Joined(_)) {
                return Ok(None);
            }
            let p = store.find_projection(&key).map_err(store_error)?;
            Ok(p.filter(|p| p.status == ProjectionStatus::Done))
        };
        match submitted {
            None => {
                let p = store
                    .find_projection(&key)
                    .map_err(store_error)?
                    .ok_or_else(|| ApiError::internal("a cached projection vanished"))?;
                Ok(Json(cached(&p)))
            }
            Some(s) if let Some(p) = stored_done(&s)? => Ok(Json(cached(&p))),
            Some(s) => {
                let job = s.job();
                let status = match &s {
                    Submitted::Joined(_) | Submitted::Started(_) => job.state().status(),
                };
                Ok(Json(json!({
                    "projection_id": job.projection_id,
                    "job_id": job.id,
                    "status": status,
                })))
            }
        }
    })
    .await
}

/// What a projection job runs on the compute pool.
type JobWork = Box<dyn FnOnce(&JobProgress, &CancelToken) -> Result<(), JobFailure> + Send>;

/// Under the job registry's lock: the cached result, or a new job and its work.
fn prepare(
    state: &Arc<AppState>,
    store: &Store,
    plan: Plan,
) -> ApiResult<Option<Prepared<JobWork>>> {
    let (mut projection, _created) = store
        .get_or_create_projection(&plan.spec)
        .map_err(store_error)?;
    match projection.status {
        ProjectionStatus::Done => return Ok(None),
        ProjectionStatus::Failed => {
            projection = store.retry_projection(projection.id).map_err(store_error)?;
        }
        // Pending with no job of ours running: left by a process that stopped; compute it here
        // (the store keeps whichever result is stored first).
        ProjectionStatus::Pending => {}
    }
    let job = store
        .create_job("projection", Some(projection.id))
        .map_err(store_error)?;
    let projection_id = projection.id;
    let job_id = job.id;
    let state = state.clone();
    let work = move |progress: &JobProgress, cancel: &CancelToken| {
        let store = &state.store;
        let _ = store.set_job_status(job_id, JobStatus::Running, None);
        let result = run_projection(&state, &plan, progress, cancel).and_then(
            |(coords, metrics, elapsed_secs)| {
                store
                    .finish_projection(projection_id, &coords, &metrics, elapsed_secs)
                    .map(|_| ())
                    .map_err(save_failure)
            },
        );
        // Bookkeeping failures are logged: the job's own outcome is what the viewer needs.
        let log = |r: flatspace_store::Result<()>| {
            if let Err(e) = r {
                eprintln!("flatspace-server: job {job_id}: {e}");
            }
        };
        match &result {
            Ok(()) => log(store.set_job_status(job_id, JobStatus::Done, None)),
            Err(JobFailure::Cancelled) => {
                log(store.fail_projection(projection_id, "cancelled"));
                log(store.set_job_status(job_id, JobStatus::Cancelled, None));
            }
            Err(JobFailure::Failed(message)) => {
                log(store.fail_projection(projection_id, message));
                log(store.set_job_status(job_id, JobStatus::Failed, Some(message)));
            }
        }
        result
    };
    Ok(Some(Prepared {
        job_id,
        projection_id,
        work: Box::new(work),
    }))
}

/// Storing the finished layout failed: the message says so, and for a full disk (or a file-size
/// or quota limit) what to do, since that is the one failure a retry fixes once there is room.
fn save_failure(e: StoreError) -> JobFailure {
    use std::io::ErrorKind;
    let full = matches!(
        &e,
        StoreError::Io { source, .. }
            if matches!(
                source.kind(),
                ErrorKind::StorageFull | ErrorKind::FileTooLarge | ErrorKind::QuotaExceeded
            )
    );
    JobFailure::Failed(if full {
        format!(
            "the layout was computed but could not be saved: {e}. The disk holding the store is \
             full (or a file-size limit was reached); free some space, then retry"
        )
    } else {
        format!("the layout was computed but could not be saved: {e}")
    })
}

fn compute_failure(e: ComputeError) -> JobFailure {
    match e {
        ComputeError::Cancelled => JobFailure::Cancelled,
        ComputeError::InvalidInput(message) => JobFailure::Failed(message),
    }
}

/// Loads the vectors, runs the algorithm and measures the layout: `(coords, metrics, seconds)`.
fn run_projection(
    state: &AppState,
    plan: &Plan,
    progress: &JobProgress,
    cancel: &CancelToken,
) -> Result<(Vec<f32>, Value, f64), JobFailure> {
    let started = Instant::now();
    let store = &state.store;
    let table_id = plan.spec.table_id;
    if cancel.is_cancelled() {
        return Err(JobFailure::Cancelled);
    }
    progress.stage("load", 0, 1);
    let matrix = if plan.fields_layout == "single" {
        store.embedding_matrix(table_id, &plan.columns[0])
    } else {
        let refs: Vec<&str> = plan.columns.iter().map(String::as_str).collect();
        store.numeric_matrix(table_id, &refs)
    }
    .map_err(|e: StoreError| JobFailure::Failed(e.to_string()))?;
    progress.stage("load", 1, 1);
    let gathered: Option<Vec<f32>> = plan.spec.rows.as_ref().map(|rows| {
        let d = matrix.dim();
        let all = matrix.as_slice();
        let mut out = Vec::with_capacity(rows.len() * d);
        for &r in rows {
            out.extend_from_slice(&all[r as usize * d..(r as usize + 1) * d]);
        }
        out
    });
    let x = match &gathered {
        Some(data) => MatrixView::new(data, data.len() / matrix.dim().max(1), matrix.dim()),
        None => MatrixView::new(matrix.as_slice(), matrix.n_rows(), matrix.dim()),
    }
    .map_err(compute_failure)?;
    x.check_finite().map_err(|e| {
        JobFailure::Failed(format!(
            "columns {:?} of table {table_id}: {}",
            plan.columns,
            match e {
                ComputeError::InvalidInput(m) => m,
                ComputeError::Cancelled => "cancelled".into(),
            }
        ))
    })?;
    let ctx = RunContext::new(progress, cancel);
    let n_components = plan.spec.n_components as usize;
    let seed = plan.spec.seed;
    let params = &plan.params;
    let metric: Metric = get_str(params, "metric")
        .parse()
        .unwrap_or(Metric::Euclidean);
    let coords = match plan.algorithm {
        Algorithm::Pca => {
            let p = flatspace_compute::pca::PcaParams {
                n_components,
                seed,
                ..Default::default()
            };
            flatspace_compute::pca::pca(x, &p, &ctx)
                .map_err(compute_failure)?
                .coords
        }
        Algorithm::Umap => {
            let n_epochs = get_usize(params, "n_epochs");
            let p = flatspace_compute::umap::UmapParams {
                n_neighbors: get_usize(params, "n_neighbors"),
                n_components,
                metric,
                n_epochs: (n_epochs > 0).then_some(n_epochs),
                learning_rate: get_f64(params, "learning_rate") as f32,
                init: get_str(params, "init").parse().map_err(compute_failure)?,
                min_dist: get_f64(params, "min_dist") as f32,
                spread: get_f64(params, "spread") as f32,
                negative_sample_rate: get_usize(params, "negative_sample_rate"),
                seed,
                ..Default::default()
            };
            flatspace_compute::umap::fit(x, &p, &ctx)
                .map_err(compute_failure)?
                .embedding
        }
        Algorithm::Tsne => {
            use flatspace_compute::tsne::{LearningRate, TsneParams};
            let rate = get_f64(params, "learning_rate");
            let p = TsneParams {
                n_components,
                perplexity: get_f64(params, "perplexity"),
                learning_rate: if rate > 0.0 {
                    LearningRate::Fixed(rate)
                } else {
                    LearningRate::Auto
                },
                n_iter: get_usize(params, "n_iter"),
                early_exaggeration: get_f64(params, "early_exaggeration"),
                early_exaggeration_iter: get_usize(params, "early_exaggeration_iter"),
                exaggeration: get_f64(params, "exaggeration"),
                dof: get_f64(params, "dof"),
                metric,
                init: get_str(params, "init").parse().map_err(compute_failure)?,
                seed,
                ..Default::default()
            };
            flatspace_compute::tsne::fit(x, &p, &ctx)
                .map_err(compute_failure)?
                .embedding
        }
    };
    ctx.check_cancelled().map_err(compute_failure)?;
    let elapsed_secs = started.elapsed().as_secs_f64();
    let metrics = quality(state, plan, x, &coords, metric, &ctx)?;
    Ok((coords, metrics, elapsed_secs))
}

/// kNN recall and trustworthiness (and, with labels, kNN accuracy) on a sample of rows. A
/// failure here does not fail the projection: the metrics are then null.
fn quality(
    state: &AppState,
    plan: &Plan,
    x: MatrixView<'_>,
    coords: &[f32],
    metric: Metric,
    ctx: &RunContext<'_>,
) -> Result<Value, JobFailure> {
    let n = x.n_rows();
    let c = plan.spec.n_components as usize;
    let Ok(low) = MatrixView::new(coords, n, c) else {
        return Ok(Value::Null);
    };
    let labels: Option<Vec<u32>> = plan.color_by.as_deref().and_then(|column| {
        let codes =
            crate::api::category_codes(state, &state.store, plan.spec.table_id, column).ok()?;
        match &plan.spec.rows {
            None => Some(codes),
            Some(rows) => rows
                .iter()
                .map(|&r| codes.get(r as usize).copied())
                .collect(),
        }
    });
    let params = QualityParams {
        k: METRIC_K,
        metric,
        max_query_rows: METRIC_QUERY_ROWS,
        seed: plan.spec.seed,
        ..Default::default()
    };
    match quality_report(x, low, labels.as_deref(), &params, ctx) {
        Ok(r) => Ok(json!({
            "knn_recall": r.knn_recall,
            "trustworthiness": r.trustworthiness,
            "continuity": r.continuity,
            "knn_accuracy": r.knn_accuracy,
            "label_column": if r.knn_accuracy.is_some() { plan.color_by.clone() } else { None },
            "distance_spearman": r.distance_spearman,
            "k": r.k,
            "n_query_rows": r.n_query_rows,
        })),
        Err(ComputeError::Cancelled) => Err(JobFailure::Cancelled),
        Err(ComputeError::InvalidInput(message)) => {
            eprintln!("flatspace-server: quality metrics skipped: {message}");
            Ok(Value::Null)
        }
    }
}

fn projection_json(state: &AppState, p: &Projection) -> Value {
    let running = state.jobs.running_for_projection(p.id);
    let (status, job_id, error) = match p.status {
        ProjectionStatus::Done => ("done", None, None),
        ProjectionStatus::Failed if p.error.as_deref() == Some("cancelled") => {
            ("cancelled", None, None)
        }
        ProjectionStatus::Failed => ("error", None, p.error.clone()),
        ProjectionStatus::Pending => match &running {
            Some(job) => (job.state().status(), Some(job.id), None),
            None => (
                "error",
                None,
                Some(
                    "this projection was left unfinished by a server that stopped; request it \
                     again to compute it"
                        .to_owned(),
                ),
            ),
        },
    };
    let mut v = json!({
        "id": p.id,
        "table_id": p.table_id,
        "status": status,
        "algorithm": p.algorithm,
        "fields": p.fields,
        "params": p.params,
        "seed": p.seed,
        "n_rows": p.n_rows,
        "n_components": p.n_components,
        "rows_subset": p.rows_subset,
        "elapsed_secs": p.elapsed_secs,
        "metrics": p.metrics,
        "job_id": job_id,
        "created_at": p.created_at,
    });
    if let Some(error) = error {
        v["error"] = json!(error);
    }
    v
}

async fn projection(
    State(state): State<Arc<AppState>>,
    Path(projection_id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let st = state.clone();
    blocking(&state, move |s| {
        let p = s.projection(projection_id).map_err(store_error)?;
        Ok(Json(projection_json(&st, &p)))
    })
    .await
}

async fn table_projections(
    State(state): State<Arc<AppState>>,
    Path(table_id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let st = state.clone();
    blocking(&state, move |s| {
        let list = s.list_projections(table_id).map_err(store_error)?;
        Ok(Json(Value::Array(
            list.iter().map(|p| projection_json(&st, p)).collect(),
        )))
    })
    .await
}

async fn projection_coords(
    State(state): State<Arc<AppState>>,
    Path(projection_id): Path<i64>,
) -> ApiResult<Response> {
    let bytes = blocking(&state, move |s| {
        let p = s.projection(projection_id).map_err(store_error)?;
        if p.status != ProjectionStatus::Done {
            return Err(ApiError::Conflict(format!(
                "projection {projection_id} has no coordinates yet (status {}); wait for its job \
                 to finish",
                p.status.as_str()
            )));
        }
        s.projection_coords_bytes(projection_id)
            .map_err(store_error)
    })
    .await?;
    let mut response = bytes.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    Ok(response)
}

/// The row ids of the projection's coordinates, in their order (every row for a whole-table
/// projection).
async fn projection_rows(
    State(state): State<Arc<AppState>>,
    Path(projection_id): Path<i64>,
) -> ApiResult<Response> {
    let rows = blocking(&state, move |s| {
        let p = s.projection(projection_id).map_err(store_error)?;
        let rows = s.projection_rows(projection_id).map_err(store_error)?;
        let n = u32::try_from(p.n_rows).unwrap_or(u32::MAX);
        Ok(rows.unwrap_or_else(|| (0..n).collect()))
    })
    .await?;
    Ok(crate::explore::u32_response(&rows))
}

async fn cancel_job(
    State(state): State<Arc<AppState>>,
    Path(job_id): Path<i64>,
) -> ApiResult<Json<Value>> {
    if let Some(job) = state.jobs.job(job_id) {
        let current = job.state();
        // Cancelling twice is fine; cancelling a job that finished otherwise is a conflict.
        if current.is_terminal() && current != JobState::Cancelled {
            return Err(ApiError::Conflict(format!(
                "job {job_id} already ended ({})",
                current.status()
            )));
        }
        job.cancel.cancel();
        return Ok(Json(json!({"status": "cancelled"})));
    }
    let job = blocking(&state, move |s| s.job(job_id).map_err(store_error)).await?;
    Err(ApiError::Conflict(format!(
        "job {job_id} is not running in this server (status {})",
        job.status.as_str()
    )))
}
