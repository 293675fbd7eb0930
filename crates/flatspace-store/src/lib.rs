//! The embedded store: one directory holding a SQLite catalog (WAL), immutable Arrow IPC segments
//! per table version, content-addressed media files and cached projections. See README.md.
//!
//! ```text
//! <dir>/catalog.sqlite        projects, runs, tables (versions, steps), columns, media, projections, jobs, selections
//! <dir>/segments/<name>.arrow one immutable Arrow IPC file per table version
//! <dir>/media/ab/cdef…        content-addressed media, named by blake3 hash
//! <dir>/projections/<key>.f32 projection coordinates, little-endian f32, row-major
//! <dir>/tmp/                  temp files of writes in progress
//! ```

mod catalog;
mod error;
mod export;
mod files;
mod jobs;
mod matrix;
mod media;
mod projections;
mod segment;
mod selections;
mod store;

pub use error::{Result, StoreError};
pub use jobs::{Job, JobStatus};
pub use matrix::F32Matrix;
pub use media::{Media, hash_bytes, is_valid_hash};
pub use projections::{Projection, ProjectionSpec, ProjectionStatus};
pub use segment::TableData;
pub use selections::{MAX_SELECTION_NAME_CHARS, SelectionInfo};
pub use store::{ColumnInfo, EmbeddingInfo, ProjectInfo, RunInfo, Store, TableInfo, TableMeta};

pub type ProjectId = i64;
pub type RunId = i64;
pub type TableId = i64;
pub type ProjectionId = i64;
pub type JobId = i64;
pub type SelectionId = i64;
