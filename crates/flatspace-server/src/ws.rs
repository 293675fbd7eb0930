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
        // Biased, snapshot first: after the progress pause both channels are usually ready, and
        // a random pick could keep choosing progress until the end, so a short job streamed no
        // layout at all. Snapshots are throttled by the job, so they cannot starve progress.
        tokio::select! {
            biased;
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
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) if text.trim() == "cancel" => job.cancel.cancel(),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{JobFailure, JobProgress, JobRunner, Prepared};
    use flatspace_compute::{CancelToken, Progress, ProgressSink};
    use futures_util::StreamExt;
    use std::sync::mpsc;
    use tokio_tungstenite::tungstenite::Message as Received;

    /// A short job publishes progress, its one layout snapshot and its end in one burst, so
    /// the stream finds the snapshot and the end both pending after its progress pause. The
    /// snapshot must still reach the viewer, before the end. (A random pick between the two
    /// loses it half the time; 16 trials make that a failure.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_snapshot_published_just_before_the_end_is_sent_before_it() {
        let runner = JobRunner::new(1).expect("pool");
        for trial in 0..16 {
            let (release, gate) = mpsc::channel::<()>();
            let work = move |progress: &JobProgress, _: &CancelToken| {
                gate.recv().map_err(|e| JobFailure::Failed(e.to_string()))?;
                progress.stage("optimize", 1, 2);
                progress.report(&Progress {
                    stage: "optimize",
                    done: 2,
                    total: 2,
                    loss: None,
                    positions: Some(&[1.0, 2.0]),
                });
                Ok(())
            };
            let submitted = runner
                .submit(&format!("burst-{trial}"), || {
                    Ok::<_, String>(Some(Prepared {
                        job_id: trial,
                        projection_id: 100 + trial,
                        work,
                    }))
                })
                .expect("submitted")
                .expect("started");
            let job = submitted.job().clone();
            let app = Router::new().route(
                "/ws",
                get(move |ws: WebSocketUpgrade| async move {
                    ws.on_upgrade(move |socket| stream_job(socket, job))
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
                .await
                .expect("websocket");
            let first = socket.next().await.expect("a message").expect("ok");
            assert!(first.to_text().expect("text").contains("queued"), "{first}");
            release.send(()).expect("release the work");
            let mut received = Vec::new();
            while let Some(message) = tokio::time::timeout(Duration::from_secs(30), socket.next())
                .await
                .expect("a message within 30 s")
            {
                match message.expect("message") {
                    Received::Binary(bytes) => {
                        received.push(format!("snapshot of {}", bytes.len()))
                    }
                    Received::Text(text) => received.push(text.to_string()),
                    _ => break,
                }
            }
            let snapshot = received.iter().position(|m| m == "snapshot of 8");
            let done = received.iter().position(|m| m.contains(r#""type":"done""#));
            assert!(
                snapshot.is_some() && done.is_some() && snapshot < done,
                "trial {trial}: {received:?}"
            );
        }
    }
}
