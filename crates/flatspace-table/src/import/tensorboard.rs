//! TensorBoard projector data: a tensor TSV (one vector per line, tab-separated, no header), a
//! metadata TSV (one column: no header; several columns: a header line first), or a
//! `projector_config.pbtxt` naming them, whose sprite image is cut into one PNG per row.
//!
//! A config's `tensor_path` may also name a raw little-endian `float32` file (TensorBoard's
//! `.bytes` form), shaped by `tensor_shape`. Only the first `embeddings` entry is imported.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, FixedSizeListArray, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};

use super::cells::{Mode, build_column};
use super::{CountingReader, Progress};
use crate::embedding::{EmbeddingBuilder, embedding_field, embedding_from_row_major};
use crate::error::{Result, TableError};
use crate::media::{MediaBlob, decode_png, image_field};
use crate::validate::prepare_batch;

/// Name of the image column cut from a sprite.
pub const SPRITE_COLUMN: &str = "image";
/// Name of a single-column metadata file's column.
pub const LABEL_COLUMN: &str = "label";

/// Reads a tensor TSV: one row per line, values separated by tabs.
pub fn read_tensor_tsv(path: &Path, progress: Progress<'_>) -> Result<FixedSizeListArray> {
    let file = File::open(path).map_err(|e| TableError::io(path, e))?;
    let total = file.metadata().map_err(|e| TableError::io(path, e))?.len();
    let reader = BufReader::with_capacity(1 << 16, CountingReader::new(file, total, progress));
    let column = "embedding";
    let mut builder = EmbeddingBuilder::new(column);
    let mut values = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| text_error(path, index, e))?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        values.clear();
        for cell in line.split('\t') {
            let value = cell
                .trim()
                .parse::<f32>()
                .map_err(|_| TableError::BadValue {
                    file: Some(path.to_path_buf()),
                    column: column.into(),
                    row: builder.n_rows(),
                    line: Some(index as u64 + 1),
                    expected: "tab-separated numbers".into(),
                    value: cell.into(),
                })?;
            values.push(value);
        }
        builder.push_f32(&values).map_err(|e| e.in_file(path))?;
    }
    if builder.n_rows() == 0 {
        return Err(TableError::EmptyFile {
            path: path.to_path_buf(),
            expected: "one tab-separated vector per line".into(),
        });
    }
    builder.finish().map_err(|e| e.in_file(path))
}

fn text_error(path: &Path, index: usize, e: std::io::Error) -> TableError {
    if e.kind() == std::io::ErrorKind::InvalidData {
        TableError::format(path, Some(index as u64 + 1), "text is not valid UTF-8")
    } else {
        TableError::io(path, e)
    }
}

/// Reads a metadata TSV: one column without a header (named `label`), or several columns under a
/// header line. Returns the columns and the number of rows.
pub fn read_metadata_tsv(path: &Path) -> Result<(Vec<(Field, ArrayRef)>, usize)> {
    let mut text = String::new();
    File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|e| text_error(path, 0, e))?;
    let mut lines: Vec<&str> = text.lines().collect();
    // A trailing empty line is the file's final newline, not a row.
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let Some(first) = lines.first() else {
        return Err(TableError::EmptyFile {
            path: path.to_path_buf(),
            expected: "one label per line, or a header line and tab-separated columns".into(),
        });
    };
    let has_header = first.contains('\t');
    let (names, rows): (Vec<String>, Vec<Vec<&str>>) = if has_header {
        let names = first.split('\t').map(|n| n.trim().to_string()).collect();
        let rows = lines[1..].iter().map(|l| l.split('\t').collect()).collect();
        (names, rows)
    } else {
        (
            vec![LABEL_COLUMN.to_string()],
            lines.iter().map(|l| vec![*l]).collect(),
        )
    };
    let data_line = |row: usize| Some(row as u64 + 1 + u64::from(has_header));
    for (row, cells) in rows.iter().enumerate() {
        if cells.len() != names.len() {
            return Err(TableError::format(
                path,
                data_line(row),
                format!(
                    "line has {} tab-separated fields, expected {} like the header",
                    cells.len(),
                    names.len()
                ),
            ));
        }
    }
    crate::validate::check_shape(names.iter().map(String::as_str), rows.len())
        .map_err(|e| e.in_file(path))?;
    let mut columns = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        let column = build_column(
            name,
            rows.len(),
            |row| rows[row].get(index).copied(),
            Mode::Lenient,
            &data_line,
        )
        .map_err(|e| e.in_file(path))?;
        columns.push(column);
    }
    Ok((columns, rows.len()))
}

/// Joins an embedding with label columns, checking the row counts match.
pub(crate) fn join_labels(
    embedding_name: &str,
    embedding: FixedSizeListArray,
    embedding_path: &Path,
    labels: Vec<(Field, ArrayRef)>,
    labels_path: &Path,
) -> Result<RecordBatch> {
    let n_rows = embedding.len();
    if let Some((_, column)) = labels.first()
        && column.len() != n_rows
    {
        return Err(TableError::RowCountMismatch {
            path: labels_path.to_path_buf(),
            found: column.len(),
            other: embedding_path.display().to_string(),
            expected: n_rows,
        });
    }
    let dim = embedding.value_length() as usize;
    let mut fields = vec![embedding_field(embedding_name, dim)?];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(embedding)];
    for (field, column) in labels {
        fields.push(field);
        columns.push(column);
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// What a `projector_config.pbtxt` names for one embedding.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProjectorEmbedding {
    pub tensor_name: Option<String>,
    pub tensor_path: Option<PathBuf>,
    pub tensor_shape: Vec<usize>,
    pub metadata_path: Option<PathBuf>,
    pub sprite_path: Option<PathBuf>,
    /// Width and height of one sprite cell.
    pub sprite_cell: Option<(u32, u32)>,
}

/// Reads the first `embeddings` entry of a projector config; paths are relative to its folder.
pub fn read_projector_config(path: &Path) -> Result<ProjectorEmbedding> {
    let text = std::fs::read_to_string(path).map_err(|e| TableError::io(path, e))?;
    let message = super::pbtxt::parse(&text)
        .map_err(|(line, msg)| TableError::format(path, Some(line), msg))?;
    let Some(entry) = message.messages("embeddings").next() else {
        return Err(TableError::format(
            path,
            None,
            "no `embeddings { ... }` entry: expected at least one",
        ));
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let resolve = |p: &str| base.join(p);
    let mut out = ProjectorEmbedding {
        tensor_name: entry.scalar("tensor_name").map(str::to_string),
        tensor_path: entry.scalar("tensor_path").map(resolve),
        metadata_path: entry.scalar("metadata_path").map(resolve),
        ..Default::default()
    };
    for v in entry.scalars("tensor_shape") {
        out.tensor_shape.push(v.parse().map_err(|_| {
            TableError::format(
                path,
                None,
                format!("tensor_shape {v} is not a whole number"),
            )
        })?);
    }
    if let Some(sprite) = entry.messages("sprite").next() {
        out.sprite_path = sprite.scalar("image_path").map(resolve);
        let dims: Vec<u32> = sprite
            .scalars("single_image_dim")
            .filter_map(|v| v.parse().ok())
            .collect();
        match dims.as_slice() {
            [w, h] if *w > 0 && *h > 0 => out.sprite_cell = Some((*w, *h)),
            _ if out.sprite_path.is_some() => {
                return Err(TableError::format(
                    path,
                    None,
                    "sprite needs two positive `single_image_dim` values (width, height)",
                ));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Imports what a projector config names: tensor, metadata, sprite images.
pub fn read_projector(
    config_path: &Path,
    progress: Progress<'_>,
) -> Result<(RecordBatch, Vec<MediaBlob>)> {
    let config = read_projector_config(config_path)?;
    let Some(tensor_path) = &config.tensor_path else {
        return Err(TableError::format(
            config_path,
            None,
            "the embedding has no `tensor_path`",
        ));
    };
    let embedding = if is_text_tensor(tensor_path) {
        read_tensor_tsv(tensor_path, progress)?
    } else {
        read_tensor_bytes(tensor_path, &config.tensor_shape, config_path)?
    };
    let name = config
        .tensor_name
        .clone()
        .unwrap_or_else(|| "embedding".into());
    let (labels, labels_path) = match &config.metadata_path {
        Some(p) => (read_metadata_tsv(p)?.0, p.clone()),
        None => (Vec::new(), config_path.to_path_buf()),
    };
    let batch = join_labels(&name, embedding, tensor_path, labels, &labels_path)?;
    let (batch, media) = match (&config.sprite_path, config.sprite_cell) {
        (Some(sprite), Some(cell)) => add_sprite_column(batch, sprite, cell)?,
        _ => (batch, Vec::new()),
    };
    let batch = prepare_batch(&batch).map_err(|e| e.in_file(config_path))?;
    Ok((batch, media))
}

fn is_text_tensor(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("tsv" | "txt" | "csv")
    )
}

/// A raw little-endian float32 tensor of shape `[n, dim]`.
fn read_tensor_bytes(
    path: &Path,
    shape: &[usize],
    config_path: &Path,
) -> Result<FixedSizeListArray> {
    let [n_rows, dim] = shape else {
        return Err(TableError::format(
            config_path,
            None,
            format!(
                "a binary tensor needs `tensor_shape` with two values (rows, dims), found {shape:?}"
            ),
        ));
    };
    let bytes = std::fs::read(path).map_err(|e| TableError::io(path, e))?;
    let expected = n_rows.checked_mul(*dim).and_then(|n| n.checked_mul(4));
    if expected != Some(bytes.len()) {
        return Err(TableError::format(
            path,
            None,
            format!(
                "holds {} bytes: expected {n_rows} × {dim} float32 values ({} bytes) as tensor_shape says",
                bytes.len(),
                expected.map_or("too many".into(), |e| e.to_string())
            ),
        ));
    }
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    embedding_from_row_major(values, *dim).map_err(|e| e.in_file(path))
}

/// Cuts the sprite into one PNG per row (row-major cells, as TensorBoard lays them out) and adds
/// an image column of their hashes.
fn add_sprite_column(
    batch: RecordBatch,
    sprite_path: &Path,
    cell: (u32, u32),
) -> Result<(RecordBatch, Vec<MediaBlob>)> {
    let bytes = std::fs::read(sprite_path).map_err(|e| TableError::io(sprite_path, e))?;
    let sprite = decode_png(sprite_path, bytes)?;
    let (w, h) = cell;
    let per_row = (sprite.width / w) as usize;
    let n_rows = batch.num_rows();
    let capacity = per_row * (sprite.height / h) as usize;
    if capacity < n_rows {
        return Err(TableError::format(
            sprite_path,
            None,
            format!(
                "sprite of {}×{} pixels holds {capacity} images of {w}×{h}: expected at least {n_rows}, one per row",
                sprite.width, sprite.height
            ),
        ));
    }
    let mut hashes = Vec::with_capacity(n_rows);
    let mut media: Vec<MediaBlob> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for row in 0..n_rows {
        let x = (row % per_row) as u32 * w;
        let y = (row / per_row) as u32 * h;
        let png = sprite.crop(x, y, w, h).encode_png().map_err(|e| {
            TableError::format(sprite_path, None, format!("cannot encode image {row}: {e}"))
        })?;
        let blob = MediaBlob::new(png, "image/png");
        hashes.push(blob.hash.clone());
        if seen.insert(blob.hash.clone()) {
            media.push(blob);
        }
    }
    let schema = batch.schema();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut columns = batch.columns().to_vec();
    fields.push(image_field(SPRITE_COLUMN, false));
    columns.push(Arc::new(StringArray::from(hashes)));
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    Ok((batch, media))
}

/// True if the file's first non-empty line is all tab-separated numbers (a tensor TSV).
pub fn looks_like_tensor_tsv(path: &Path) -> Result<bool> {
    let file = File::open(path).map_err(|e| TableError::io(path, e))?;
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| text_error(path, 0, e))?;
        if n == 0 {
            return Ok(false);
        }
        if !line.trim().is_empty() {
            return Ok(line
                .trim_end_matches(['\r', '\n'])
                .split('\t')
                .all(|c| c.trim().parse::<f64>().is_ok()));
        }
    }
}
