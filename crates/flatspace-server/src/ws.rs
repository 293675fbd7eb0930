//! `WS /api/v1/jobs/{job_id}/ws`: a job's progress as JSON text messages and its latest layout
//! snapshot as binary messages. Both come from `watch` channels, so a slow client skips stale
//! values instead of queueing them (latest wins). The client may send `cancel`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use flatspace_store::JobStatus;
use serde_json::json;

use crate::AppState;
use crate::api::{blocking, store_error};
use crate::error::ApiResult;
use crate::jobs::{Job, JobState};

/// Least time between two progress messages (snapshots have their own interval in the job).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(40);

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/jobs/{job_id}/ws", get(job_ws))
}

async fn job_ws(
    State(state): State<Arc<AppState>>,
    Path(job_id): Path<i64>,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    if let Some(job) = state.jobs.job(job_id) {
        return Ok(ws.on_upgrade(move |socket| stream_job(socket, job)));
    }
    // Not in memory: a job of an earlier server, or one retired long ago. Report how it ended.
    let job = blocking(&state, move |s| s.job(job_id).map_err(store_error)).await?;
    let end = match job.status {
        JobStatus::Done => JobState::Done {
            projection_id: job.projection_id.unwrap_or_default(),
        },
        JobStatus::Cancelled => JobState::Cancelled,
        JobStatus::Failed => JobState::Error {
            message: job.error.unwrap_or_else(|| "the job failed".into()),
        },
        JobStatus::Queued | JobStatus::Running => JobState::Error {
            message: format!("job {job_id} is not running in this server"),
        },
    };
    Ok(ws
        .on_upgrade(move |mut socket| async move {
            let _ = send_state(&mut socket, &end).await;
            let _ = socket.send(Message::Close(None)).await;
        })
        .into_response())
}

async fn send_state(socket: &mut WebSocket, state: &JobState) -> Result<(), axum::Error> {
    let text =
        serde_json::to_string(state).unwrap_or_else(|_| json!({"type": "error"}).to_string());
    socket.send(Message::Text(text.into())).await
}

async fn stream_job(mut socket: WebSocket, job: Arc<Job>) {
    let mut states = job.subscribe_state();
    let mut snapshots = job.subscribe_snapshot();
    let first = states.borrow_and_update().clone();
    if send_state(&mut socket, &first).await.is_err() {
        return;
    }
    if first.is_terminal() {
        let _ = socket.send(Message::Close(None)).await;
        return;
    }
    loop {
        tokio::select! {
            changed = states.changed() => {
                if changed.is_err() {
                    break;
                }
                let state = states.borrow_and_update().clone();
                if send_state(&mut socket, &state).await.is_err() {
                    return;
                }
                if state.is_terminal() {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                tokio::time::sleep(PROGRESS_INTERVAL).await;
            }
            changed = snapshots.changed() => {
                if changed.is_err() {
                    break;
                }
                let snapshot = snapshots.borrow_and_update().clone();
                if let Some(bytes) = snapshot
                    && socket.send(Message::Binary(bytes)).await.is_err() {
                        return;
                    }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) if text.trim() == "cancel" => job.cancel.cancel(),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
