//! Immutable Arrow IPC segment files: checking a table before it is written, writing it, and
//! reading it back zero-copy (one aligned read of the file, arrays point into that buffer).

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_buffer::{Buffer, MutableBuffer};
use arrow_ipc::convert::fb_to_schema;
use arrow_ipc::reader::{FileDecoder, read_footer_length};
use arrow_ipc::root_as_footer;
use arrow_ipc::writer::FileWriter;
use arrow_schema::{DataType, SchemaRef};
use flatspace_table::ColumnKind;

use crate::error::{Result, StoreError};
use crate::files::TempFile;
use crate::media::is_valid_hash;

/// A decoded segment: the schema and its record batches (arrays share one file buffer).
#[derive(Debug, Clone)]
pub struct TableData {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl TableData {
    pub fn n_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

pub(crate) fn describe_kind(kind: &ColumnKind) -> String {
    match kind {
        ColumnKind::Embedding { dim } => format!("embedding of {dim} dims"),
        ColumnKind::Numeric => "numeric".into(),
        ColumnKind::Category => "category".into(),
        ColumnKind::Text => "text".into(),
        ColumnKind::Bool => "bool".into(),
        ColumnKind::Image => "image".into(),
    }
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn is_string_like(t: &DataType) -> bool {
    is_string(t) || matches!(t, DataType::Dictionary(k, v) if k.is_integer() && is_string(v))
}

fn is_numeric(t: &DataType) -> bool {
    t.is_integer() || t.is_floating()
}

/// The Arrow types a kind may be stored as, in words (for error messages), or `None` if `t` fits.
fn kind_mismatch(kind: &ColumnKind, t: &DataType) -> Option<String> {
    let ok = match kind {
        ColumnKind::Embedding { dim } => match t {
            DataType::FixedSizeList(item, n) => {
                *item.data_type() == DataType::Float32 && usize::try_from(*n).ok() == Some(*dim)
            }
            _ => false,
        },
        ColumnKind::Numeric => is_numeric(t),
        ColumnKind::Category => is_string_like(t) || t.is_integer() || *t == DataType::Boolean,
        ColumnKind::Text => is_string_like(t),
        ColumnKind::Bool => *t == DataType::Boolean,
        ColumnKind::Image => is_string(t),
    };
    if ok {
        return None;
    }
    Some(match kind {
        ColumnKind::Embedding { dim } => format!("FixedSizeList<Float32, {dim}> (an embedding)"),
        ColumnKind::Numeric => "an integer or float type (numeric)".into(),
        ColumnKind::Category => "strings, small integers or bools (category)".into(),
        ColumnKind::Text => "strings (text)".into(),
        ColumnKind::Bool => "Boolean (bool)".into(),
        ColumnKind::Image => "strings holding media hashes (image)".into(),
    })
}

/// Checks a table before anything is written: at least one column, unique non-empty names, one
/// kind per column matching its Arrow type, the same schema in every batch, no null or missing
/// vectors, and well-formed media hashes. Returns the media hashes the table refers to.
pub(crate) fn validate(
    key: &str,
    batches: &[RecordBatch],
    kinds: &[ColumnKind],
) -> Result<(SchemaRef, HashSet<String>)> {
    let invalid = |detail: String| StoreError::InvalidTable {
        key: key.to_string(),
        detail,
    };
    let first = batches
        .first()
        .ok_or_else(|| invalid("no record batches given; expected at least one".into()))?;
    let schema = first.schema();
    if schema.fields().is_empty() {
        return Err(invalid(
            "the table has zero columns; expected at least one".into(),
        ));
    }
    if kinds.len() != schema.fields().len() {
        return Err(invalid(format!(
            "{} column kinds given for {} columns; expected one kind per column",
            kinds.len(),
            schema.fields().len()
        )));
    }
    let mut seen = HashSet::new();
    for field in schema.fields() {
        if field.name().trim().is_empty() {
            return Err(invalid("a column has an empty name".into()));
        }
        if !seen.insert(field.name().as_str()) {
            return Err(invalid(format!(
                "the column name {:?} appears twice; expected unique names",
                field.name()
            )));
        }
    }
    for (field, kind) in schema.fields().iter().zip(kinds) {
        if let Some(expected) = kind_mismatch(kind, field.data_type()) {
            return Err(StoreError::ColumnMismatch {
                key: key.to_string(),
                column: field.name().clone(),
                expected,
                found: field.data_type().to_string(),
            });
        }
    }
    for (i, batch) in batches.iter().enumerate() {
        if batch.schema().fields() != schema.fields() {
            return Err(invalid(format!(
                "record batch {i} has a different schema from batch 0; expected all batches alike"
            )));
        }
    }
    let mut hashes = HashSet::new();
    let mut row0 = 0;
    for batch in batches {
        for ((field, kind), column) in schema.fields().iter().zip(kinds).zip(batch.columns()) {
            let cell_error = |row: usize, detail: String| StoreError::InvalidCell {
                key: key.to_string(),
                column: field.name().clone(),
                row: row0 + row,
                detail,
            };
            match kind {
                ColumnKind::Embedding { .. } => {
                    if let Some(row) = first_null(column.as_ref()) {
                        return Err(cell_error(
                            row,
                            "missing vector; expected every row to have one".into(),
                        ));
                    }
                    let list = column.as_fixed_size_list();
                    if let Some(pos) = first_null(list.values().as_ref()) {
                        let dim = usize::try_from(list.value_length()).unwrap_or(1).max(1);
                        return Err(cell_error(
                            pos / dim,
                            format!("null in dimension {}; expected a number", pos % dim),
                        ));
                    }
                }
                ColumnKind::Image => {
                    let strings = string_values(column.as_ref());
                    for (row, value) in strings.into_iter().enumerate() {
                        if let Some(hash) = value {
                            if !is_valid_hash(&hash) {
                                return Err(cell_error(
                                    row,
                                    format!(
                                        "{hash:?} is not a media hash; expected the 64-hex-digit hash returned by put_media"
                                    ),
                                ));
                            }
                            hashes.insert(hash);
                        }
                    }
                }
                _ => {}
            }
        }
        row0 += batch.num_rows();
    }
    Ok((schema, hashes))
}

fn first_null(array: &dyn Array) -> Option<usize> {
    let nulls = array.logical_nulls()?;
    if nulls.null_count() == 0 {
        return None;
    }
    (0..array.len()).find(|&i| nulls.is_null(i))
}

fn string_values(array: &dyn Array) -> Vec<Option<String>> {
    match array.data_type() {
        DataType::Utf8 => array
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect(),
        DataType::LargeUtf8 => array
            .as_string::<i64>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect(),
        DataType::Utf8View => array
            .as_string_view()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Writes the batches as one Arrow IPC file into a temp file, flushed but not yet synced.
pub(crate) fn write_temp(
    root: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<TempFile> {
    let mut tmp = TempFile::create(root, "arrow")?;
    let path = tmp.path().to_path_buf();
    let ipc_err = |e: arrow_schema::ArrowError| {
        StoreError::io("write", path.clone(), std::io::Error::other(e.to_string()))
    };
    {
        let mut writer = FileWriter::try_new(&mut tmp, schema).map_err(ipc_err)?;
        for batch in batches {
            writer.write(batch).map_err(ipc_err)?;
        }
        writer.finish().map_err(ipc_err)?;
    }
    Ok(tmp)
}

/// Reads a whole segment file into one 64-byte-aligned buffer and decodes its batches without
/// copying the column data.
pub(crate) fn read(table_id: i64, path: &Path) -> Result<TableData> {
    let corrupt = |detail: String| StoreError::CorruptSegment {
        table_id,
        path: path.to_path_buf(),
        detail,
    };
    let mut file = File::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            StoreError::MissingSegment {
                table_id,
                path: path.to_path_buf(),
            }
        } else {
            StoreError::io("open", path, e)
        }
    })?;
    let len = file
        .metadata()
        .map_err(|e| StoreError::io("stat", path, e))?
        .len();
    let len =
        usize::try_from(len).map_err(|_| corrupt("larger than this machine can address".into()))?;
    let mut bytes = MutableBuffer::from_len_zeroed(len);
    file.read_exact(bytes.as_slice_mut())
        .map_err(|e| StoreError::io("read", path, e))?;
    let buffer: Buffer = bytes.into();

    if len < 10 + 8 {
        return Err(corrupt(format!("only {len} bytes long")));
    }
    let trailer: [u8; 10] = buffer[len - 10..]
        .try_into()
        .map_err(|_| corrupt("no footer".into()))?;
    let footer_len = read_footer_length(trailer).map_err(|e| corrupt(e.to_string()))?;
    if footer_len > len - 10 {
        return Err(corrupt(format!(
            "footer length {footer_len} exceeds the file"
        )));
    }
    let footer = root_as_footer(&buffer[len - 10 - footer_len..len - 10])
        .map_err(|e| corrupt(format!("unreadable footer: {e}")))?;
    let schema = Arc::new(fb_to_schema(
        footer
            .schema()
            .ok_or_else(|| corrupt("no schema in the footer".into()))?,
    ));
    let mut decoder = FileDecoder::new(schema.clone(), footer.version());
    let slice = |offset: i64, length: usize| -> Result<Buffer> {
        let start = usize::try_from(offset).map_err(|_| corrupt("negative block offset".into()))?;
        if start.checked_add(length).is_none_or(|end| end > len) {
            return Err(corrupt(format!(
                "block at {start} of {length} bytes runs past the end"
            )));
        }
        Ok(buffer.slice_with_length(start, length))
    };
    let block_len = |b: &arrow_ipc::Block| -> Result<usize> {
        usize::try_from(b.bodyLength())
            .ok()
            .and_then(|body| body.checked_add(usize::try_from(b.metaDataLength()).ok()?))
            .ok_or_else(|| corrupt("negative block length".into()))
    };
    for block in footer.dictionaries().iter().flatten() {
        let data = slice(block.offset(), block_len(block)?)?;
        decoder
            .read_dictionary(block, &data)
            .map_err(|e| corrupt(e.to_string()))?;
    }
    let mut batches = Vec::new();
    for block in footer.recordBatches().iter().flatten() {
        let data = slice(block.offset(), block_len(block)?)?;
        if let Some(batch) = decoder
            .read_record_batch(block, &data)
            .map_err(|e| corrupt(e.to_string()))?
        {
            batches.push(batch);
        }
    }
    Ok(TableData { schema, batches })
}
