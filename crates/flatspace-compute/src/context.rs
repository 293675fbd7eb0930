//! Progress reporting and cancellation shared by every long-running function.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::{ComputeError, Result};

/// One progress report. `positions` is an optional row-major snapshot of the current layout
/// (n_rows × n_components) so a UI can animate it; sinks that do not need it ignore it.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// Short stage name, e.g. "knn", "umap:optimize", "tsne:exaggeration".
    pub stage: &'static str,
    /// Units done in this stage (epochs, iterations, rows).
    pub done: u64,
    /// Units in this stage in total.
    pub total: u64,
    /// Objective value when the algorithm has one (t-SNE KL divergence estimate).
    pub loss: Option<f64>,
    /// Current layout, row-major, when the algorithm offers a snapshot at this step.
    pub positions: Option<&'a [f32]>,
}

/// Receives progress reports. Called from compute threads: must be cheap and thread-safe.
pub trait ProgressSink: Sync {
    fn report(&self, progress: &Progress<'_>);
    /// Whether the sink wants layout snapshots at this step; algorithms skip building them
    /// otherwise. `done` is the step about to be reported.
    fn wants_positions(&self, _stage: &'static str, _done: u64) -> bool {
        false
    }
}

/// A sink that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn report(&self, _progress: &Progress<'_>) {}
}

/// Cooperative cancellation: cheap to clone and to poll.
#[derive(Debug, Default, Clone)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// What every long function receives: where to report progress and how to learn it was cancelled.
#[derive(Clone, Copy)]
pub struct RunContext<'a> {
    pub progress: &'a dyn ProgressSink,
    pub cancel: Option<&'a CancelToken>,
}

impl Default for RunContext<'_> {
    fn default() -> Self {
        Self::silent()
    }
}

impl<'a> RunContext<'a> {
    /// No progress, no cancellation: for tests and one-off calls.
    pub fn silent() -> RunContext<'static> {
        RunContext {
            progress: &NoProgress,
            cancel: None,
        }
    }

    pub fn new(progress: &'a dyn ProgressSink, cancel: &'a CancelToken) -> Self {
        Self {
            progress,
            cancel: Some(cancel),
        }
    }

    /// `Err(Cancelled)` once the token is set; call between units of work.
    pub fn check_cancelled(&self) -> Result<()> {
        match self.cancel {
            Some(token) if token.is_cancelled() => Err(ComputeError::Cancelled),
            _ => Ok(()),
        }
    }

    pub fn report(&self, stage: &'static str, done: u64, total: u64) {
        self.progress.report(&Progress {
            stage,
            done,
            total,
            loss: None,
            positions: None,
        });
    }
}
