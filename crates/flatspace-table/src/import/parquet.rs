//! Parquet import: list and fixed-size-list number columns become embeddings.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::ParquetMetaData;

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
    let file_for_headers = file.try_clone().map_err(|e| TableError::io(path, e))?;
    let builder = open_reader(path, file).map_err(parquet_error)?;
    check_page_headers(&file_for_headers, file_len, builder.metadata()).map_err(parquet_error)?;
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

/// Walks the page headers of every column chunk before the `parquet` crate reads them, and refuses
/// a header the crate could spend unbounded time on. `parquet` 59.3.2 skips a header's unknown
/// fields value by value, with no check that a declared list size fits in the bytes that are left:
/// one list of 2^31 booleans (which it reads as taking no byte each) cost 30 s in a 591-byte file,
/// and a file can hold many. Here every list, set, map and binary must fit in what is left of its
/// column chunk, and the values of all the headers of a chunk together must not outnumber its
/// bytes (in a valid file each value takes at least one byte). The walk reads the bytes exactly as
/// the crate will: its known fields by id (refusing a wire type the crate would misread), the rest
/// as its `skip_till_depth` does, so the crate then does no more work than the walk allowed.
fn check_page_headers(
    file: &File,
    file_len: u64,
    metadata: &ParquetMetaData,
) -> parquet::errors::Result<()> {
    for (group_index, group) in metadata.row_groups().iter().enumerate() {
        for (column_index, column) in group.columns().iter().enumerate() {
            let (start, len) = column.byte_range();
            let end = start.saturating_add(len);
            let place = format!(
                "row group {group_index}, column {column_index} ({}, bytes {start}..{end})",
                column.column_path()
            );
            let corrupt =
                |what: String| parquet::errors::ParquetError::General(format!("{place}: {what}"));
            if start.checked_add(len).is_none_or(|end| end > file_len) {
                return Err(corrupt(format!(
                    "the column chunk ends past the end of the file ({file_len} bytes)"
                )));
            }
            let mut reader = BufReader::new(file.try_clone()?);
            reader.seek(SeekFrom::Start(start))?;
            let mut walk = HeaderWalk {
                reader,
                left: len,
                values_left: len,
                compressed_size: None,
            };
            while walk.left > 0 {
                let at = end - walk.left;
                walk.compressed_size = None;
                walk.known_struct(PAGE_HEADER, true).map_err(|what| {
                    corrupt(format!("the page header at byte {at} is corrupt: {what}"))
                })?;
                let Some(body) = walk
                    .compressed_size
                    .and_then(|size| u64::try_from(size).ok())
                else {
                    return Err(corrupt(format!(
                        "the page header at byte {at} has no valid compressed page size"
                    )));
                };
                walk.skip_bytes(body)
                    .map_err(|what| corrupt(format!("the page at byte {at} is corrupt: {what}")))?;
            }
        }
    }
    Ok(())
}

/// A field of a page header that `parquet` 59.3.2 reads by its id, whatever its wire type says.
#[derive(Clone, Copy)]
enum Known {
    I32,
    Bool,
    Struct(&'static [(i16, Known)]),
}

/// `PageHeader`: type, sizes, crc, then one of the page kinds' headers.
const PAGE_HEADER: &[(i16, Known)] = &[
    (1, Known::I32),
    (2, Known::I32),
    (3, Known::I32),
    (4, Known::I32),
    (5, Known::Struct(DATA_PAGE_HEADER)),
    (6, Known::Struct(&[])),
    (7, Known::Struct(DICTIONARY_PAGE_HEADER)),
    (8, Known::Struct(DATA_PAGE_HEADER_V2)),
];
/// `DataPageHeader` (its statistics, field 5, are skipped like an unknown field).
const DATA_PAGE_HEADER: &[(i16, Known)] = &[
    (1, Known::I32),
    (2, Known::I32),
    (3, Known::I32),
    (4, Known::I32),
];
const DICTIONARY_PAGE_HEADER: &[(i16, Known)] =
    &[(1, Known::I32), (2, Known::I32), (3, Known::Bool)];
/// `DataPageHeaderV2` (statistics, field 8, skipped).
const DATA_PAGE_HEADER_V2: &[(i16, Known)] = &[
    (1, Known::I32),
    (2, Known::I32),
    (3, Known::I32),
    (4, Known::I32),
    (5, Known::I32),
    (6, Known::I32),
    (7, Known::Bool),
];

/// The deepest nesting the `parquet` crate skips (its `DEFAULT_SKIP_DEPTH`).
const MAX_THRIFT_DEPTH: u32 = 64;

type WalkResult<T> = std::result::Result<T, String>;

/// A Thrift compact-protocol reader over one column chunk that refuses what cannot fit in it.
struct HeaderWalk {
    reader: BufReader<File>,
    /// Bytes of the column chunk not read yet.
    left: u64,
    /// Values (fields and elements) the headers of this chunk may still hold.
    values_left: u64,
    /// Field 3 of the page header being read, as the crate reads it (an `i32`).
    compressed_size: Option<i32>,
}

impl HeaderWalk {
    /// A struct whose `fields` the crate reads by id; `top` for the page header itself.
    fn known_struct(&mut self, fields: &[(i16, Known)], top: bool) -> WalkResult<()> {
        let mut last_id = 0i16;
        loop {
            let (kind, id) = self.field_begin(last_id)?;
            if kind == 0 {
                return Ok(());
            }
            last_id = id;
            match fields
                .iter()
                .find(|(known, _)| *known == id)
                .map(|(_, k)| *k)
            {
                None => self.skip(kind, MAX_THRIFT_DEPTH)?,
                Some(Known::I32) => {
                    self.expect_kind(id, kind, &[5], "an i32")?;
                    // The crate truncates the varint to 32 bits; so does this.
                    let value = self.zigzag()? as i32;
                    if top && id == 3 {
                        self.compressed_size = Some(value);
                    }
                }
                Some(Known::Bool) => self.expect_kind(id, kind, &[1, 2], "a bool")?,
                Some(Known::Struct(inner)) => {
                    self.expect_kind(id, kind, &[12], "a struct")?;
                    self.known_struct(inner, false)?;
                }
            }
        }
    }

    fn expect_kind(&self, id: i16, kind: u8, allowed: &[u8], what: &str) -> WalkResult<()> {
        if allowed.contains(&kind) {
            Ok(())
        } else {
            Err(format!(
                "field {id} should be {what} but has wire type {kind}"
            ))
        }
    }

    fn byte(&mut self) -> WalkResult<u8> {
        if self.left == 0 {
            return Err("it runs past the end of the column chunk".into());
        }
        let mut one = [0u8; 1];
        self.reader
            .read_exact(&mut one)
            .map_err(|e| format!("reading it: {e}"))?;
        self.left -= 1;
        Ok(one[0])
    }

    fn skip_bytes(&mut self, n: u64) -> WalkResult<()> {
        if n > self.left {
            return Err(format!(
                "it declares {n} bytes, but only {} are left in the column chunk",
                self.left
            ));
        }
        // `n` is at most the chunk's length, which fits in the file, hence in an i64.
        let offset = i64::try_from(n).map_err(|_| format!("{n} bytes is too many"))?;
        self.reader
            .seek_relative(offset)
            .map_err(|e| format!("reading it: {e}"))?;
        self.left -= n;
        Ok(())
    }

    fn varint(&mut self) -> WalkResult<u64> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f).wrapping_shl(shift);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a variable-length integer longer than 10 bytes".into())
    }

    fn zigzag(&mut self) -> WalkResult<i64> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// A struct field's wire type (0 at the end of the struct) and id, read as the crate does.
    fn field_begin(&mut self, last_id: i16) -> WalkResult<(u8, i16)> {
        self.count_value()?;
        let byte = self.byte()?;
        let kind = byte & 0x0f;
        if kind == 0 {
            return Ok((0, 0));
        }
        let delta = byte >> 4;
        let id = if delta != 0 {
            last_id
                .checked_add(i16::from(delta))
                .ok_or("a field id past 32767")?
        } else {
            self.zigzag()? as i16
        };
        Ok((kind, id))
    }

    /// One more value of a header, counted against the chunk's budget: this bounds the walk and
    /// the crate's own skipping alike, since neither does more than a constant work per value.
    fn count_value(&mut self) -> WalkResult<()> {
        if self.values_left == 0 {
            return Err("its headers hold more values than the column chunk has bytes".into());
        }
        self.values_left -= 1;
        Ok(())
    }

    /// The number of elements of a list, set or map, which must fit in the bytes left.
    fn collection_size(&mut self, size: u64) -> WalkResult<u64> {
        if size > self.left {
            return Err(format!(
                "a list of {size} values, but only {} bytes are left in the column chunk",
                self.left
            ));
        }
        Ok(size)
    }

    /// Skips a value of wire type `kind` as `parquet` 59.3.2 does (`skip_till_depth`).
    fn skip(&mut self, kind: u8, depth: u32) -> WalkResult<()> {
        if depth == 0 {
            return Err("values nested too deep".into());
        }
        match kind {
            // A boolean struct field is in its field header; the crate reads a boolean list
            // element as no byte too.
            1 | 2 => Ok(()),
            3 => self.byte().map(drop),
            4..=6 => self.varint().map(drop),
            7 => self.skip_bytes(8),
            8 => {
                let n = self.varint()?;
                self.skip_bytes(n)
            }
            9 | 10 => {
                let header = self.byte()?;
                if header == 0 {
                    return Ok(());
                }
                let element = header & 0x0f;
                let size = match header >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                let size = self.collection_size(size)?;
                for _ in 0..size {
                    self.count_value()?;
                    self.skip(element, depth - 1)?;
                }
                Ok(())
            }
            11 => {
                let size = self.varint()?;
                let size = self.collection_size(size)?;
                if size == 0 {
                    return Ok(());
                }
                let types = self.byte()?;
                let (key, value) = (types >> 4, types & 0x0f);
                for _ in 0..size {
                    self.count_value()?;
                    self.skip(key, depth - 1)?;
                    self.count_value()?;
                    self.skip(value, depth - 1)?;
                }
                Ok(())
            }
            12 => loop {
                // The crate skips with 0 as the last field id (ids do not matter here).
                let (kind, _) = self.field_begin(0)?;
                if kind == 0 {
                    return Ok(());
                }
                self.skip(kind, depth - 1)?;
            },
            13 => self.skip_bytes(16),
            other => Err(format!("a value of unknown type {other}")),
        }
    }
}
