//! Projection algorithms over a row-major `f32` matrix: PCA, kNN graphs, UMAP, t-SNE and the
//! quality metrics reported beside every layout. Pure functions, no I/O; every long function takes a
//! [`RunContext`] (progress sink + cancellation token) and runs on the current rayon pool.

pub mod context;
pub mod knn;
mod linalg;
pub mod matrix;
pub mod metrics;
pub mod pca;
pub mod rng;
pub mod tsne;
pub mod umap;

pub use context::{CancelToken, NoProgress, Progress, ProgressSink, RunContext};
pub use knn::{KnnGraph, Metric};
pub use matrix::MatrixView;

/// Errors every compute function can return.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ComputeError {
    /// The caller cancelled through the [`CancelToken`].
    #[error("cancelled")]
    Cancelled,
    /// The input or a parameter is outside what the algorithm accepts; the message says which.
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

pub type Result<T> = std::result::Result<T, ComputeError>;
