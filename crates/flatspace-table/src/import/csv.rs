//! CSV (and TSV with a header) import. See `cells.rs` for how a column's type is chosen.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::Schema;

use super::cells::{Mode, build_column};
use super::{CountingReader, Progress};
use crate::error::{Result, TableError};
use crate::validate::{check_shape, prepare_batch};

/// Reads a delimited text file with a header line.
pub fn read_csv(path: &Path, delimiter: u8, progress: Progress<'_>) -> Result<RecordBatch> {
    let file = File::open(path).map_err(|e| TableError::io(path, e))?;
    let total = file.metadata().map_err(|e| TableError::io(path, e))?.len();
    if total == 0 {
        return Err(TableError::EmptyFile {
            path: path.to_path_buf(),
            expected: "a header line naming the columns, then one line per row".into(),
        });
    }
    let csv_error = |e: csv::Error| {
        let line = e.position().map(|p| p.line());
        let message = match e.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("line has {len} fields, expected {expected_len} like the header"),
            csv::ErrorKind::Utf8 { .. } => "text is not valid UTF-8".to_string(),
            _ => e.to_string(),
        };
        match e.into_kind() {
            csv::ErrorKind::Io(source) => TableError::io(path, source),
            _ => TableError::format(path, line, message),
        }
    };
    let reader = CountingReader::new(file, total, progress);
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(reader);
    let headers: Vec<String> = csv
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if headers.len() == 1 && headers[0].is_empty() {
        return Err(TableError::EmptyFile {
            path: path.to_path_buf(),
            expected: "a header line naming the columns, then one line per row".into(),
        });
    }
    let mut records = Vec::new();
    let mut lines = Vec::new();
    let mut record = csv::StringRecord::new();
    while csv.read_record(&mut record).map_err(csv_error)? {
        lines.push(record.position().map_or(0, |p| p.line()));
        records.push(std::mem::take(&mut record));
    }
    check_shape(headers.iter().map(String::as_str), records.len()).map_err(|e| e.in_file(path))?;
    let line_of = |row: usize| lines.get(row).copied();
    let mut fields = Vec::with_capacity(headers.len());
    let mut columns = Vec::with_capacity(headers.len());
    for (index, name) in headers.iter().enumerate() {
        let (field, column) = build_column(
            name,
            records.len(),
            |row| records[row].get(index),
            Mode::Strict,
            &line_of,
        )
        .map_err(|e| e.in_file(path))?;
        fields.push(field);
        columns.push(column);
    }
    drop(records);
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| TableError::from(e).in_file(path))?;
    prepare_batch(&batch).map_err(|e| e.in_file(path))
}
