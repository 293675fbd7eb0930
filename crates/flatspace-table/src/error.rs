//! Errors of the table model. Each one says what was wrong, where (file, row, column) and what was
//! expected. Rows are counted from 0 over data rows (header lines not counted), as in Arrow and
//! pandas; text formats also give the 1-based line number where it helps.

use std::path::{Path, PathBuf};

pub type Result<T, E = TableError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: file is empty: expected {expected}", .path.display())]
    EmptyFile { path: PathBuf, expected: String },
    #[error("{}the table has no columns: expected at least one", at(.file))]
    NoColumns { file: Option<PathBuf> },
    #[error("{}the table has no rows: expected at least one", at(.file))]
    NoRows { file: Option<PathBuf> },
    #[error("{}column {index} has an empty name: every column needs a name", at(.file))]
    EmptyColumnName { file: Option<PathBuf>, index: usize },
    #[error(
        "{}column name '{name}' appears twice (columns {first} and {second}): names must be unique",
        at(.file)
    )]
    DuplicateColumn {
        file: Option<PathBuf>,
        name: String,
        first: usize,
        second: usize,
    },
    #[error(
        "{}column '{column}', row {row}: vector has {found} values, expected {expected} like the rows before it",
        at(.file)
    )]
    Ragged {
        file: Option<PathBuf>,
        column: String,
        row: usize,
        expected: usize,
        found: usize,
    },
    #[error("{}column '{column}', row {row}: {value} is not a finite number{}", at(.file), in_vector(.position))]
    NonFinite {
        file: Option<PathBuf>,
        column: String,
        row: usize,
        /// Index within the vector when the column is an embedding.
        position: Option<usize>,
        value: f64,
    },
    #[error("{}column '{column}', row {row}{}: expected {expected}, found '{value}'", at(.file), line_of(.line))]
    BadValue {
        file: Option<PathBuf>,
        column: String,
        row: usize,
        line: Option<u64>,
        expected: String,
        value: String,
    },
    #[error("{}column '{column}', row {row}: missing value, expected {expected}", at(.file))]
    MissingValue {
        file: Option<PathBuf>,
        column: String,
        row: usize,
        expected: String,
    },
    #[error(
        "{}: has {found} rows but {other} has {expected}: expected one row per row of {other}",
        .path.display()
    )]
    RowCountMismatch {
        path: PathBuf,
        found: usize,
        other: String,
        expected: usize,
    },
    #[error("{}column '{column}' has type {data_type}: expected {expected}", at(.file))]
    UnsupportedType {
        file: Option<PathBuf>,
        column: String,
        data_type: String,
        expected: String,
    },
    #[error("{}{}{message}", .path.display(), line_of_colon(.line))]
    Format {
        path: PathBuf,
        line: Option<u64>,
        message: String,
    },
    #[error("{}: not a readable Parquet file (truncated or corrupt?): {source}", .path.display())]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("{}{source}", at(.file))]
    Arrow {
        file: Option<PathBuf>,
        #[source]
        source: arrow_schema::ArrowError,
    },
}

fn at(file: &Option<PathBuf>) -> String {
    match file {
        Some(path) => format!("{}: ", path.display()),
        None => String::new(),
    }
}

fn in_vector(position: &Option<usize>) -> String {
    match position {
        Some(i) => format!(" (vector element {i}); NaN and infinity cannot be projected"),
        None => {
            "; NaN and infinity are not allowed (leave the cell empty for a missing value)".into()
        }
    }
}

fn line_of(line: &Option<u64>) -> String {
    match line {
        Some(l) => format!(" (line {l})"),
        None => String::new(),
    }
}

fn line_of_colon(line: &Option<u64>) -> String {
    match line {
        Some(l) => format!(":{l}: "),
        None => ": ".into(),
    }
}

impl TableError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        TableError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn format(path: &Path, line: Option<u64>, message: impl Into<String>) -> Self {
        TableError::Format {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    /// Names `path` as the file the error is in, where the error does not name one yet.
    pub fn in_file(mut self, path: &Path) -> Self {
        use TableError::*;
        match &mut self {
            NoColumns { file }
            | NoRows { file }
            | EmptyColumnName { file, .. }
            | DuplicateColumn { file, .. }
            | Ragged { file, .. }
            | NonFinite { file, .. }
            | BadValue { file, .. }
            | MissingValue { file, .. }
            | UnsupportedType { file, .. }
            | Arrow { file, .. } => {
                if file.is_none() {
                    *file = Some(path.to_path_buf());
                }
            }
            Io { .. }
            | EmptyFile { .. }
            | RowCountMismatch { .. }
            | Format { .. }
            | Parquet { .. } => {}
        }
        self
    }
}

impl From<arrow_schema::ArrowError> for TableError {
    fn from(source: arrow_schema::ArrowError) -> Self {
        TableError::Arrow { file: None, source }
    }
}
