//! Parquet import: list and fixed-size-list number columns become embeddings.

use std::fs::File;
use std::path::Path;

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};

use super::Progress;
use crate::error::{Result, TableError};
use crate::validate::prepare_batch;

/// Reads a Parquet file whole. The `parquet` and `arrow-ipc` crates still panic on some
/// malformed files instead of failing (fuzzing found a negative column-chunk offset in the
/// footer, and unknown types in the embedded Arrow schema): a panic anywhere in the read becomes
/// an error naming the file, never a crash of the importer or the server.
pub fn read_parquet(path: &Path, progress: Progress<'_>) -> Result<RecordBatch> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_parquet_unguarded(path, progress)
    }))
    .unwrap_or_else(|payload| {
        let reason = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        Err(TableError::Parquet {
            path: path.to_path_buf(),
            source: parquet::errors::ParquetError::General(format!(
                "the file is malformed (the Parquet reader failed: {reason})"
            )),
        })
    })
}

fn read_parquet_unguarded(path: &Path, progress: Progress<'_>) -> Result<RecordBatch> {
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
    let builder = open_reader(path, file).map_err(parquet_error)?;
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

/// Opens the reader with the Arrow schema the writer embedded (it keeps fixed-size lists and
/// dictionaries as written). `arrow-ipc` panics on some malformed embedded schemas (an Int of
/// bit width 96, found by fuzzing) instead of failing: such a file is read again from its
/// Parquet schema alone, and a file that still cannot be opened is a clear error.
fn open_reader(
    path: &Path,
    file: File,
) -> parquet::errors::Result<ParquetRecordBatchReaderBuilder<File>> {
    let again = file.try_clone().map_err(|e| {
        parquet::errors::ParquetError::General(format!("reopening {}: {e}", path.display()))
    })?;
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ParquetRecordBatchReaderBuilder::try_new(file)
    })) {
        Ok(opened) => opened,
        Err(_) => ParquetRecordBatchReaderBuilder::try_new_with_options(
            again,
            ArrowReaderOptions::new().with_skip_arrow_metadata(true),
        ),
    }
}
