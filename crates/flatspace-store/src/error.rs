//! Every way the store can fail, each naming the path, id, table or column involved and what was
//! expected, so a caller can show the message as is.

use std::path::PathBuf;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store directory {path} is not writable ({source}); choose another with --data-dir or FLATSPACE_DATA, or fix its permissions"
    )]
    ReadOnly {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "the catalog {path} is corrupt or not a flatspace catalog ({detail}); expected a SQLite database written by flatspace"
    )]
    CorruptCatalog { path: PathBuf, detail: String },

    #[error(
        "the catalog {path} has schema version {found}, newer than this flatspace understands (up to {supported}); upgrade flatspace"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error("catalog {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error(
        "table {table_id}: its segment file {path} is missing; the store directory was changed by hand"
    )]
    MissingSegment { table_id: i64, path: PathBuf },

    #[error("table {table_id}: the segment file {path} is not a readable Arrow IPC file: {detail}")]
    CorruptSegment {
        table_id: i64,
        path: PathBuf,
        detail: String,
    },

    #[error("no {what} with id {id} in the store")]
    UnknownId { what: &'static str, id: i64 },

    #[error("no {what} named {name:?} in the store")]
    UnknownName { what: &'static str, name: String },

    #[error("table {table_id} has no column {column:?}; its columns are: {available}")]
    UnknownColumn {
        table_id: i64,
        column: String,
        available: String,
    },

    #[error("no media file with hash {hash} in the store")]
    UnknownMedia { hash: String },

    #[error("{given:?} is not a media hash; expected 64 lowercase hex digits (a blake3 hash)")]
    InvalidHash { given: String },

    #[error("{what} must not be empty")]
    EmptyName { what: &'static str },

    #[error("table {key:?}: {detail}")]
    InvalidTable { key: String, detail: String },

    #[error("table {key:?}, column {column:?}: expected {expected}, found {found}")]
    ColumnMismatch {
        key: String,
        column: String,
        expected: String,
        found: String,
    },

    #[error("table {key:?}, column {column:?}, row {row}: {detail}")]
    InvalidCell {
        key: String,
        column: String,
        row: usize,
        detail: String,
    },

    #[error("table {table_id}, column {column:?}: expected {expected}, found {found}")]
    WrongColumnKind {
        table_id: i64,
        column: String,
        expected: String,
        found: String,
    },

    #[error("table {table_id}, column {column:?}, row {row}: {detail}")]
    BadValue {
        table_id: i64,
        column: String,
        row: usize,
        detail: String,
    },

    #[error("{what} is not valid: {detail}")]
    InvalidName { what: &'static str, detail: String },

    #[error("table {table_id} has {n_rows} rows, so row {row} is out of range (0..{n_rows})")]
    RowOutOfRange {
        table_id: i64,
        row: u64,
        n_rows: u64,
    },

    #[error("projection {projection_id}: {detail}")]
    InvalidProjection { projection_id: i64, detail: String },
}

impl StoreError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        StoreError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
