//! Parquet import: list and fixed-size-list number columns become embeddings.

use std::fs::File;
use std::path::Path;

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::Progress;
use crate::error::{Result, TableError};
use crate::validate::prepare_batch;

pub fn read_parquet(path: &Path, progress: Progress<'_>) -> Result<RecordBatch> {
    let file = File::open(path).map_err(|e| TableError::io(path, e))?;
    let file_len = file.metadata().map_err(|e| TableError::io(path, e))?.len();
    if file_len == 0 {
        return Err(TableError::EmptyFile {
            path: path.to_path_buf(),
            expected: "a Parquet file".into(),
        });
    }
    let parquet_error = |source| TableError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_error)?;
    let total_rows = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    let schema = builder.schema().clone();
    let reader = builder
        .with_batch_size(65_536)
        .build()
        .map_err(parquet_error)?;
    let mut batches = Vec::new();
    let mut rows_done = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| TableError::Parquet {
            path: path.to_path_buf(),
            source: parquet::errors::ParquetError::ArrowError(e.to_string()),
        })?;
        rows_done += batch.num_rows() as u64;
        if let Some(progress) = progress {
            // Rows read, scaled to bytes so every importer reports the same unit.
            progress(rows_done * file_len / total_rows.max(1), file_len);
        }
        batches.push(batch);
    }
    let batch = arrow_select::concat::concat_batches(&schema, &batches)
        .map_err(|e| TableError::from(e).in_file(path))?;
    drop(batches);
    prepare_batch(&batch).map_err(|e| e.in_file(path))
}
