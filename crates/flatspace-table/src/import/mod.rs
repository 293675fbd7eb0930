//! Importers: a file in, an Arrow table (already through [`prepare_batch`]) and media files out.
//!
//! [`import_path`] picks the importer from the path: `.csv`, `.tsv` (a tensor TSV if its first line
//! is all numbers, else a table with a header), `.parquet`/`.pq`, `.npy`, `.pbtxt` or a folder
//! holding `projector_config.pbtxt`.
//!
//! [`prepare_batch`]: crate::validate::prepare_batch

use std::io::Read;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;

use crate::error::{Result, TableError};
use crate::media::MediaBlob;
use crate::validate::prepare_batch;

mod cells;
pub mod csv;
pub mod npy;
pub mod parquet;
mod pbtxt;
pub mod tensorboard;

pub use cells::parse_vector;

/// Reports `(bytes done, bytes total)` while a file is read.
pub type Progress<'a> = Option<&'a (dyn Fn(u64, u64) + 'a)>;

/// Name of the embedding column made from a `.npy` array or a tensor file.
pub const EMBEDDING_COLUMN: &str = "embedding";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Csv,
    /// Tab-separated with a header line.
    Tsv,
    Parquet,
    Npy,
    /// A TensorBoard tensor TSV (no header), with metadata via `labels`.
    TensorTsv,
    /// A `projector_config.pbtxt`.
    ProjectorConfig,
}

#[derive(Default, Clone, Copy)]
pub struct ImportOptions<'a> {
    /// Labels for `.npy` and tensor TSV input: a 1-D `.npy`, or a text/TSV file (one label per line,
    /// or a header line and tab-separated columns).
    pub labels: Option<&'a Path>,
    pub progress: Progress<'a>,
}

#[derive(Debug, Clone)]
pub struct Imported {
    pub batch: RecordBatch,
    /// Media the batch's image columns refer to (each hash once).
    pub media: Vec<MediaBlob>,
    pub format: ImportFormat,
}

/// Which importer reads `path`.
pub fn detect_format(path: &Path) -> Result<ImportFormat> {
    let meta = std::fs::metadata(path).map_err(|e| TableError::io(path, e))?;
    if meta.is_dir() {
        let config = path.join("projector_config.pbtxt");
        return if config.is_file() {
            Ok(ImportFormat::ProjectorConfig)
        } else {
            Err(TableError::format(
                path,
                None,
                "is a folder without projector_config.pbtxt: expected a file (.csv, .tsv, .parquet, .npy, .pbtxt)",
            ))
        };
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => Ok(ImportFormat::Csv),
        Some("tsv" | "tab") => {
            if meta.len() > 0 && tensorboard::looks_like_tensor_tsv(path)? {
                Ok(ImportFormat::TensorTsv)
            } else {
                Ok(ImportFormat::Tsv)
            }
        }
        Some("parquet" | "pq") => Ok(ImportFormat::Parquet),
        Some("npy") => Ok(ImportFormat::Npy),
        Some("pbtxt") => Ok(ImportFormat::ProjectorConfig),
        _ => Err(TableError::format(
            path,
            None,
            "unknown file type: expected .csv, .tsv, .parquet, .npy, projector_config.pbtxt or a folder holding one",
        )),
    }
}

/// Imports a file; see the module docs.
pub fn import_path(path: &Path, options: &ImportOptions<'_>) -> Result<Imported> {
    let format = detect_format(path)?;
    let takes_labels = matches!(format, ImportFormat::Npy | ImportFormat::TensorTsv);
    if let (Some(labels), false) = (options.labels, takes_labels) {
        return Err(TableError::format(
            labels,
            None,
            "a labels file goes with a .npy array or a tensor TSV; this table brings its own columns",
        ));
    }
    let progress = options.progress;
    let (batch, media) = match format {
        ImportFormat::Csv => (csv::read_csv(path, b',', progress)?, Vec::new()),
        ImportFormat::Tsv => (csv::read_csv(path, b'\t', progress)?, Vec::new()),
        ImportFormat::Parquet => (parquet::read_parquet(path, progress)?, Vec::new()),
        ImportFormat::Npy => {
            let embedding = npy::read_npy_embedding(path, progress)?;
            (with_labels(embedding, path, options.labels)?, Vec::new())
        }
        ImportFormat::TensorTsv => {
            let embedding = tensorboard::read_tensor_tsv(path, progress)?;
            (with_labels(embedding, path, options.labels)?, Vec::new())
        }
        ImportFormat::ProjectorConfig => {
            let config = if path.is_dir() {
                path.join("projector_config.pbtxt")
            } else {
                path.to_path_buf()
            };
            tensorboard::read_projector(&config, progress)?
        }
    };
    Ok(Imported {
        batch,
        media,
        format,
    })
}

fn with_labels(
    embedding: arrow_array::FixedSizeListArray,
    path: &Path,
    labels: Option<&Path>,
) -> Result<RecordBatch> {
    let (columns, labels_path): (_, PathBuf) = match labels {
        None => (Vec::new(), path.to_path_buf()),
        Some(labels)
            if labels
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("npy")) =>
        {
            let column = npy::read_npy_column(labels)?;
            let field = arrow_schema::Field::new(
                tensorboard::LABEL_COLUMN,
                column.data_type().clone(),
                false,
            );
            (vec![(field, column)], labels.to_path_buf())
        }
        Some(labels) => (
            tensorboard::read_metadata_tsv(labels)?.0,
            labels.to_path_buf(),
        ),
    };
    let batch = tensorboard::join_labels(EMBEDDING_COLUMN, embedding, path, columns, &labels_path)?;
    prepare_batch(&batch).map_err(|e| e.in_file(&labels_path))
}

/// Counts bytes read and reports them to a [`Progress`] callback (at most every 1 MiB).
pub(crate) struct CountingReader<'a, R> {
    inner: R,
    done: u64,
    reported: u64,
    total: u64,
    progress: Progress<'a>,
}

impl<'a, R> CountingReader<'a, R> {
    pub(crate) fn new(inner: R, total: u64, progress: Progress<'a>) -> Self {
        CountingReader {
            inner,
            done: 0,
            reported: 0,
            total,
            progress,
        }
    }
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if let Some(progress) = self.progress
            && (self.done - self.reported >= 1 << 20 || n == 0 || self.done == self.total)
        {
            self.reported = self.done;
            progress(self.done, self.total);
        }
        Ok(n)
    }
}
