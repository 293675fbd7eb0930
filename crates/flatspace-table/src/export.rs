//! Exporters: Parquet (every type and the image tag kept) and CSV.
//!
//! In CSV an embedding is one cell holding "[v0, v1, ...]" (each value printed so it reads back to
//! the same `f32`), not one column per dimension: the CSV importer turns such a column back into an
//! embedding, and a table with a 784-dim embedding stays a readable width. Floats are printed with
//! a decimal point or exponent so they read back as floats; nulls are empty cells. Image columns
//! hold content hashes (the files stay in the store).
//!
//! Both write to a temporary file beside the target and rename it, so a failed export never leaves
//! a half-written file under the target's name.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::{Result, TableError};

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".{}.part", std::process::id()));
    path.with_file_name(name)
}

/// Writes to a temporary file and renames it onto `path` once `write` succeeded.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<()>,
) -> Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let file = File::create(&tmp).map_err(|e| TableError::io(path, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        write(&mut out)?;
        let file = out
            .into_inner()
            .map_err(|e| TableError::io(path, e.into_error()))?;
        file.sync_all().map_err(|e| TableError::io(path, e))?;
        std::fs::rename(&tmp, path).map_err(|e| TableError::io(path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The batch with `columns` added at the end (projection coordinates for an export, say).
pub fn append_columns(
    batch: &RecordBatch,
    columns: Vec<(String, ArrayRef)>,
) -> Result<RecordBatch> {
    let schema = batch.schema();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut arrays = batch.columns().to_vec();
    for (name, array) in columns {
        fields.push(Field::new(
            name,
            array.data_type().clone(),
            array.null_count() > 0,
        ));
        arrays.push(array);
    }
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())),
        arrays,
    )?;
    crate::validate::check_shape(
        batch.schema().fields().iter().map(|f| f.name().as_str()),
        batch.num_rows(),
    )?;
    Ok(batch)
}

pub fn export_parquet(batch: &RecordBatch, path: &Path) -> Result<()> {
    write_atomically(path, |out| write_parquet(batch, out, path))
}

pub fn export_csv(batch: &RecordBatch, path: &Path) -> Result<()> {
    write_atomically(path, |out| write_csv(batch, out, path))
}

/// The Parquet export written to any writer (an HTTP response body, say); `name` is what error
/// messages call the destination.
pub fn write_parquet<W: Write + Send>(batch: &RecordBatch, out: W, name: &Path) -> Result<()> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let parquet_error = |source| TableError::Parquet {
        path: name.to_path_buf(),
        source,
    };
    let mut writer =
        ArrowWriter::try_new(out, batch.schema(), Some(props)).map_err(parquet_error)?;
    writer.write(batch).map_err(parquet_error)?;
    writer.close().map_err(parquet_error)?;
    Ok(())
}

/// The CSV export written to any writer; `name` is what error messages call the destination.
pub fn write_csv<W: Write>(batch: &RecordBatch, out: W, name: &Path) -> Result<()> {
    let csv_error = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(source) => TableError::io(name, source),
        other => TableError::format(name, None, format!("{other:?}")),
    };
    let mut writer = csv::Writer::from_writer(out);
    let schema = batch.schema();
    writer
        .write_record(schema.fields().iter().map(|f| f.name().as_str()))
        .map_err(csv_error)?;
    let mut cell = String::new();
    for row in 0..batch.num_rows() {
        for column in batch.columns() {
            cell.clear();
            format_cell(column.as_ref(), row, &mut cell).map_err(|e| e.in_file(name))?;
            writer.write_field(&cell).map_err(csv_error)?;
        }
        writer.write_record(None::<&[u8]>).map_err(csv_error)?;
    }
    writer.flush().map_err(|e| TableError::io(name, e))
}

fn format_cell(array: &dyn Array, row: usize, out: &mut String) -> Result<()> {
    use std::fmt::Write as _;
    if array.is_null(row) {
        return Ok(());
    }
    macro_rules! display {
        ($t:ty) => {{
            let _ = write!(out, "{}", array.as_primitive::<$t>().value(row));
        }};
    }
    // `{:?}` prints the shortest text that reads back to the same float, with a `.0` or exponent.
    macro_rules! float {
        ($t:ty) => {{
            let _ = write!(out, "{:?}", array.as_primitive::<$t>().value(row));
        }};
    }
    match array.data_type() {
        DataType::Int8 => display!(Int8Type),
        DataType::Int16 => display!(Int16Type),
        DataType::Int32 => display!(Int32Type),
        DataType::Int64 => display!(Int64Type),
        DataType::UInt8 => display!(UInt8Type),
        DataType::UInt16 => display!(UInt16Type),
        DataType::UInt32 => display!(UInt32Type),
        DataType::UInt64 => display!(UInt64Type),
        DataType::Float32 => float!(Float32Type),
        DataType::Float64 => float!(Float64Type),
        DataType::Boolean => out.push_str(if array.as_boolean().value(row) {
            "true"
        } else {
            "false"
        }),
        DataType::Utf8 => out.push_str(array.as_string::<i32>().value(row)),
        DataType::FixedSizeList(_, _) => {
            let list = array.as_fixed_size_list();
            let values = list.value(row);
            out.push('[');
            for i in 0..values.len() {
                if i > 0 {
                    out.push_str(", ");
                }
                format_cell(values.as_ref(), i, out)?;
            }
            out.push(']');
        }
        other => {
            return Err(TableError::UnsupportedType {
                file: None,
                column: String::new(),
                data_type: other.to_string(),
                expected: "a stored column type".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedding::embedding_from_row_major;
    use crate::import::{ImportOptions, import_path};
    use arrow_array::{BooleanArray, Float64Array, Int64Array, StringArray};

    fn sample() -> RecordBatch {
        let emb = embedding_from_row_major(vec![0.1f32, -2.5e-8, 3.0, f32::MAX, 1.0, 1.0 / 3.0], 3)
            .expect("emb");
        RecordBatch::try_from_iter(vec![
            ("vec", Arc::new(emb) as ArrayRef),
            ("n", Arc::new(Int64Array::from(vec![Some(1), None]))),
            ("x", Arc::new(Float64Array::from(vec![1.0, 0.1 + 0.2]))),
            ("ok", Arc::new(BooleanArray::from(vec![true, false]))),
            (
                "label",
                Arc::new(StringArray::from(vec!["a, \"quoted\"", "日本"])),
            ),
        ])
        .expect("batch")
    }

    #[test]
    fn csv_export_reads_back_equal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.csv");
        let batch = sample();
        export_csv(&batch, &path).expect("export");
        let back = import_path(&path, &ImportOptions::default()).expect("import");
        assert_eq!(back.batch, batch);
    }

    #[test]
    fn parquet_export_reads_back_equal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.parquet");
        let batch = sample();
        export_parquet(&batch, &path).expect("export");
        let back = import_path(&path, &ImportOptions::default()).expect("import");
        assert_eq!(back.batch.columns(), batch.columns());
        assert_eq!(
            back.batch.schema().fields().len(),
            batch.schema().fields().len()
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn failed_export_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("no/such/dir/t.csv");
        assert!(export_csv(&sample(), &missing).is_err());
        assert!(!missing.exists());
    }
}
