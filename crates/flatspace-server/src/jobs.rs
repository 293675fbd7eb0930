//! The job runner: projections run on a dedicated rayon pool (never on the async runtime), one
//! job per distinct request key (identical concurrent requests join the running job), with
//! progress and the latest layout snapshot published through `watch` channels, so a slow viewer
//! skips stale snapshots instead of queueing them, and cooperative cancellation.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use flatspace_compute::{CancelToken, Progress, ProgressSink};
use serde::Serialize;
use tokio::sync::watch;

/// How often a running job may publish a layout snapshot.
const SNAPSHOT_INTERVAL: Duration = Duration::from_millis(150);
/// Finished jobs kept for late WebSocket subscribers.
const FINISHED_KEPT: usize = 256;

/// A job's state as the WebSocket and the projection endpoint report it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Progress {
        stage: String,
        done: u64,
        total: u64,
        loss: Option<f64>,
        elapsed_secs: f64,
    },
    Done {
        projection_id: i64,
    },
    Error {
        message: String,
    },
    Cancelled,
}

impl JobState {
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Done { .. } | Self::Error { .. } | Self::Cancelled
        )
    }

    /// The status word of the projection API: queued, running, done, error, cancelled.
    pub fn status(&self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Progress { .. } => "running",
            Self::Done { .. } => "done",
            Self::Error { .. } => "error",
            Self::Cancelled => "cancelled",
        }
    }
}

/// How a job's work ended when it did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub enum JobFailure {
    Cancelled,
    Failed(String),
}

pub struct Job {
    /// The store's job id (unique across server restarts).
    pub id: i64,
    pub key: String,
    pub projection_id: i64,
    pub cancel: CancelToken,
    started: Instant,
    state: watch::Sender<JobState>,
    /// Latest layout, row-major little-endian `f32` bytes.
    snapshot: watch::Sender<Option<Bytes>>,
    last_snapshot_ms: AtomicU64,
}

impl Job {
    pub fn subscribe_state(&self) -> watch::Receiver<JobState> {
        self.state.subscribe()
    }
    pub fn subscribe_snapshot(&self) -> watch::Receiver<Option<Bytes>> {
        self.snapshot.subscribe()
    }
    pub fn state(&self) -> JobState {
        self.state.borrow().clone()
    }
    pub fn elapsed_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

/// The progress sink handed to compute functions: publishes progress and throttled snapshots.
pub struct JobProgress {
    job: Arc<Job>,
}

impl JobProgress {
    /// Reports a stage the server runs itself (loading rows, metrics).
    pub fn stage(&self, stage: &str, done: u64, total: u64) {
        self.publish(stage, done, total, None);
    }

    fn publish(&self, stage: &str, done: u64, total: u64, loss: Option<f64>) {
        let elapsed_secs = self.job.elapsed_secs();
        self.job.state.send_modify(|state| {
            // Never overwrite a terminal state (a late report racing the end).
            if !state.is_terminal() {
                *state = JobState::Progress {
                    stage: stage.to_owned(),
                    done,
                    total,
                    loss,
                    elapsed_secs,
                };
            }
        });
    }
}

impl ProgressSink for JobProgress {
    fn report(&self, progress: &Progress<'_>) {
        self.publish(progress.stage, progress.done, progress.total, progress.loss);
        if let Some(positions) = progress.positions {
            let bytes: Vec<u8> = positions.iter().flat_map(|v| v.to_le_bytes()).collect();
            self.job.snapshot.send_replace(Some(Bytes::from(bytes)));
        }
    }

    fn wants_positions(&self, _stage: &'static str, _done: u64) -> bool {
        // Only when someone watches, and at most every SNAPSHOT_INTERVAL.
        if self.job.snapshot.receiver_count() == 0 {
            return false;
        }
        let now_ms = self.job.started.elapsed().as_millis() as u64;
        let last = self.job.last_snapshot_ms.load(Ordering::Relaxed);
        if last != 0 && now_ms.saturating_sub(last) < SNAPSHOT_INTERVAL.as_millis() as u64 {
            return false;
        }
        self.job
            .last_snapshot_ms
            .compare_exchange(last, now_ms.max(1), Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }
}

/// A panic while holding the lock leaves the maps consistent (every update is one insert or
/// remove), so a poisoned lock is still usable.
fn lock(registry: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    registry
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Default)]
struct Registry {
    running_by_key: HashMap<String, Arc<Job>>,
    by_id: HashMap<i64, Arc<Job>>,
    finished: VecDeque<i64>,
}

/// What `submit` found or started.
pub enum Submitted {
    /// A job for the same key was already running; the caller joins it.
    Joined(Arc<Job>),
    /// A new job was started.
    Started(Arc<Job>),
}

impl Submitted {
    pub fn job(&self) -> &Arc<Job> {
        match self {
            Self::Joined(job) | Self::Started(job) => job,
        }
    }
}

pub struct JobRunner {
    pool: Arc<rayon::ThreadPool>,
    registry: Arc<Mutex<Registry>>,
}

/// A job ready to start: its ids and its work.
pub struct Prepared<W> {
    pub job_id: i64,
    pub projection_id: i64,
    pub work: W,
}

impl JobRunner {
    /// A runner with its own pool of `n_threads` compute threads (0: one per core).
    pub fn new(n_threads: usize) -> Result<Self, rayon::ThreadPoolBuildError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n_threads)
            .thread_name(|i| format!("flatspace-compute-{i}"))
            .build()?;
        Ok(Self {
            pool: Arc::new(pool),
            registry: Arc::new(Mutex::new(Registry::default())),
        })
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        lock(&self.registry)
    }

    pub fn job(&self, id: i64) -> Option<Arc<Job>> {
        self.registry().by_id.get(&id).cloned()
    }

    pub fn running_for_key(&self, key: &str) -> Option<Arc<Job>> {
        self.registry().running_by_key.get(key).cloned()
    }

    pub fn running_for_projection(&self, projection_id: i64) -> Option<Arc<Job>> {
        self.registry()
            .running_by_key
            .values()
            .find(|j| j.projection_id == projection_id)
            .cloned()
    }

    /// Joins the running job for `key`, or calls `prepare` (under the registry lock, so two
    /// identical requests cannot both start) to get the ids and the work, and starts it on the
    /// pool. `prepare` returning `Ok(None)` means the result is already cached.
    pub fn submit<W, P, E>(&self, key: &str, prepare: P) -> Result<Option<Submitted>, E>
    where
        P: FnOnce() -> Result<Option<Prepared<W>>, E>,
        W: FnOnce(&JobProgress, &CancelToken) -> Result<(), JobFailure> + Send + 'static,
    {
        let mut registry = self.registry();
        if let Some(job) = registry.running_by_key.get(key) {
            // A cancelled job is on its way out (its store row may already say so): a new
            // request starts afresh instead of joining it.
            if !job.cancel.is_cancelled() {
                return Ok(Some(Submitted::Joined(job.clone())));
            }
        }
        let Some(Prepared {
            job_id: id,
            projection_id,
            work,
        }) = prepare()?
        else {
            return Ok(None);
        };
        let (state, _) = watch::channel(JobState::Queued);
        let (snapshot, _) = watch::channel(None);
        let job = Arc::new(Job {
            id,
            key: key.to_owned(),
            projection_id,
            cancel: CancelToken::new(),
            started: Instant::now(),
            state,
            snapshot,
            last_snapshot_ms: AtomicU64::new(0),
        });
        registry.running_by_key.insert(key.to_owned(), job.clone());
        registry.by_id.insert(id, job.clone());
        drop(registry);

        let runner_job = job.clone();
        let finish = self.finisher();
        self.pool.spawn(move || {
            let progress = JobProgress {
                job: runner_job.clone(),
            };
            // The work runs even when cancelled while queued: it does its own bookkeeping.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                work(&progress, &runner_job.cancel)
            }))
            .unwrap_or_else(|_| Err(JobFailure::Failed("the computation panicked".into())));
            let end = match outcome {
                Ok(()) => JobState::Done {
                    projection_id: runner_job.projection_id,
                },
                Err(JobFailure::Cancelled) => JobState::Cancelled,
                Err(JobFailure::Failed(message)) => JobState::Error { message },
            };
            finish(&runner_job, end);
        });
        Ok(Some(Submitted::Started(job)))
    }

    /// Cancels every running job (server shutdown).
    pub fn cancel_all(&self) {
        for job in self.registry().running_by_key.values() {
            job.cancel.cancel();
        }
    }

    /// A closure that retires a job: removes it from the running map, then publishes its end
    /// (after the work saved its result, so a request after `done` finds it in the store).
    fn finisher(&self) -> impl Fn(&Arc<Job>, JobState) + Send + 'static {
        let shared = self.registry.clone();
        move |job, end| {
            {
                let mut registry = lock(&shared);
                // Only this job's own entry: a cancelled job may have been replaced already.
                if registry
                    .running_by_key
                    .get(&job.key)
                    .is_some_and(|running| running.id == job.id)
                {
                    registry.running_by_key.remove(&job.key);
                }
                registry.finished.push_back(job.id);
                while registry.finished.len() > FINISHED_KEPT {
                    if let Some(old) = registry.finished.pop_front() {
                        registry.by_id.remove(&old);
                    }
                }
            }
            job.state.send_replace(end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    type Work = Box<dyn FnOnce(&JobProgress, &CancelToken) -> Result<(), JobFailure> + Send>;

    fn prepared(job_id: i64, work: Work) -> Result<Option<Prepared<Work>>, String> {
        Ok(Some(Prepared {
            job_id,
            projection_id: 100 + job_id,
            work,
        }))
    }

    async fn wait_terminal(job: &Job) -> JobState {
        let mut rx = job.subscribe_state();
        loop {
            let state = rx.borrow_and_update().clone();
            if state.is_terminal() {
                return state;
            }
            rx.changed().await.expect("job alive");
        }
    }

    #[tokio::test]
    async fn identical_requests_join_one_job() {
        let runner = JobRunner::new(1).expect("pool");
        let (release, gate) = mpsc::channel::<()>();
        let first = runner
            .submit("key", || {
                prepared(
                    1,
                    Box::new(move |_p: &JobProgress, _c: &CancelToken| {
                        gate.recv().map_err(|e| JobFailure::Failed(e.to_string()))
                    }),
                )
            })
            .expect("ok")
            .expect("started");
        assert!(matches!(first, Submitted::Started(_)));
        let second = runner
            .submit::<Work, _, String>("key", || panic!("a running key must not prepare again"))
            .expect("ok")
            .expect("joined");
        assert!(matches!(second, Submitted::Joined(_)));
        assert_eq!(second.job().id, 1);
        // A different key is a different job.
        let other = runner
            .submit("other", || {
                prepared(2, Box::new(|_: &JobProgress, _: &CancelToken| Ok(())))
            })
            .expect("ok")
            .expect("started");
        assert_eq!(other.job().id, 2);
        release.send(()).expect("release");
        assert_eq!(
            wait_terminal(first.job()).await,
            JobState::Done { projection_id: 101 }
        );
        // Once done the key is free: the next request goes to `prepare` (the cache).
        let after = runner
            .submit::<Work, _, String>("key", || Ok(None))
            .expect("ok");
        assert!(after.is_none());
        assert!(runner.job(1).is_some(), "finished jobs stay visible");
    }

    #[tokio::test]
    async fn cancellation_reaches_the_work_and_failures_and_panics_are_reported() {
        let runner = JobRunner::new(1).expect("pool");
        let job = runner
            .submit("spin", || {
                prepared(
                    1,
                    Box::new(|_: &JobProgress, cancel: &CancelToken| {
                        while !cancel.is_cancelled() {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        Err(JobFailure::Cancelled)
                    }),
                )
            })
            .expect("ok")
            .expect("started");
        job.job().cancel.cancel();
        assert_eq!(wait_terminal(job.job()).await, JobState::Cancelled);

        let failing = runner
            .submit("fail", || {
                prepared(
                    2,
                    Box::new(|_: &JobProgress, _: &CancelToken| {
                        Err(JobFailure::Failed("bad rows".into()))
                    }),
                )
            })
            .expect("ok")
            .expect("started");
        assert_eq!(
            wait_terminal(failing.job()).await,
            JobState::Error {
                message: "bad rows".into()
            }
        );
        let panicking = runner
            .submit("panic", || {
                prepared(
                    3,
                    Box::new(|_: &JobProgress, _: &CancelToken| panic!("boom")),
                )
            })
            .expect("ok")
            .expect("started");
        assert!(matches!(
            wait_terminal(panicking.job()).await,
            JobState::Error { .. }
        ));
    }

    #[tokio::test]
    async fn snapshots_are_throttled_and_only_made_for_watchers() {
        let runner = JobRunner::new(1).expect("pool");
        let (release, gate) = mpsc::channel::<()>();
        let (report, reports) = mpsc::channel::<Vec<bool>>();
        let (ready, readiness) = mpsc::channel::<bool>();
        let submitted = runner
            .submit("snap", || {
                prepared(
                    1,
                    Box::new(move |progress: &JobProgress, _: &CancelToken| {
                        let unwatched = progress.wants_positions("x", 0);
                        let _ = ready.send(unwatched);
                        gate.recv().map_err(|e| JobFailure::Failed(e.to_string()))?;
                        // Watched now: the first request is granted, an immediate second is not.
                        let first = progress.wants_positions("x", 1);
                        progress.report(&Progress {
                            stage: "x",
                            done: 1,
                            total: 2,
                            loss: None,
                            positions: Some(&[1.0, 2.0]),
                        });
                        let second = progress.wants_positions("x", 2);
                        let _ = report.send(vec![unwatched, first, second]);
                        Ok(())
                    }),
                )
            })
            .expect("ok")
            .expect("started");
        let job = submitted.job().clone();
        readiness.recv().expect("work started");
        let mut snapshots = job.subscribe_snapshot();
        release.send(()).expect("release");
        let seen = reports.recv().expect("report");
        assert_eq!(seen, vec![false, true, false]);
        snapshots.changed().await.expect("a snapshot");
        let bytes = snapshots.borrow().clone().expect("bytes");
        assert_eq!(
            f32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
            2.0
        );
    }
}
