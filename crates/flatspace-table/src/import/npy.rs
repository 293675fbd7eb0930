//! Our own `.npy` reader: format versions 1, 2 and 3; little and big endian; `f4 f8 i1..i8 u1..u8`
//! and `b1`; C and Fortran order. Arrays of two or more dimensions become an embedding (trailing
//! dimensions flattened: 70000×28×28 images become 784-dim vectors); 1-D arrays (labels) become a
//! plain column of their own type, including fixed-width strings (`U`, `S`).
//!
//! The common case (little-endian `f4`, C order) is read straight into the final buffer: one copy
//! of the data in memory, no conversion pass.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Float64Array, Int8Array, Int16Array,
    Int32Array, Int64Array, StringArray, UInt8Array, UInt16Array, UInt32Array, UInt64Array,
};
use arrow_buffer::{Buffer, MutableBuffer, ScalarBuffer};

use super::{CountingReader, Progress};
use crate::embedding::embedding_from_row_major;
use crate::error::{Result, TableError};

const MAGIC: &[u8] = b"\x93NUMPY";
/// Bytes read per step when converting, and between progress updates.
const CHUNK_BYTES: usize = 1 << 22;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Float,
    Int,
    UInt,
    Bool,
    /// UTF-32 code units, `size / 4` per element.
    Unicode,
    /// Bytes.
    Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dtype {
    kind: Kind,
    size: usize,
    big_endian: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NpyHeader {
    dtype: Dtype,
    fortran_order: bool,
    shape: Vec<usize>,
    /// Bytes before the data.
    data_offset: u64,
}

impl NpyHeader {
    fn n_items(&self) -> Option<usize> {
        self.shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
    }
}

/// Reads a `.npy` file of two or more dimensions as an embedding column.
pub fn read_npy_embedding(path: &Path, progress: Progress<'_>) -> Result<FixedSizeListArray> {
    let (header, mut reader) = open(path, progress)?;
    if header.shape.len() < 2 {
        return Err(TableError::format(
            path,
            None,
            format!(
                "array has shape {:?}: expected two or more dimensions (rows × values) for an embedding",
                header.shape
            ),
        ));
    }
    let n_rows = header.shape[0];
    // Checked: a zero-row array passes `open`'s size check whatever its other dimensions claim.
    let dim = header.shape[1..]
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            TableError::format(
                path,
                None,
                format!(
                    "array has shape {:?}: the vector length overflows",
                    header.shape
                ),
            )
        })?;
    if dim == 0 {
        return Err(TableError::format(
            path,
            None,
            format!("array has shape {:?}: vectors have no values", header.shape),
        ));
    }
    let n_items = n_rows * dim; // checked in `open`
    let values = read_f32(path, &mut reader, header.dtype, n_items)?;
    let values = if header.fortran_order {
        fortran_to_c(&values, &header.shape)
    } else {
        values
    };
    embedding_from_row_major(values, dim).map_err(|e| e.in_file(path))
}

/// Reads a 1-D `.npy` file as a column (labels).
pub fn read_npy_column(path: &Path) -> Result<ArrayRef> {
    let (header, mut reader) = open(path, None)?;
    if header.shape.len() != 1 {
        return Err(TableError::format(
            path,
            None,
            format!(
                "array has shape {:?}: expected one dimension (one label per row)",
                header.shape
            ),
        ));
    }
    let n = header.shape[0];
    let mut bytes = vec![0u8; n * header.dtype.size];
    read_data(path, &mut reader, &mut bytes)?;
    let Dtype {
        kind,
        size,
        big_endian,
    } = header.dtype;
    macro_rules! numbers {
        ($array:ty, $native:ty) => {{
            let values: Vec<$native> = bytes
                .chunks_exact(size)
                .map(|c| {
                    let c = c.try_into().expect("chunks have the dtype's size");
                    if big_endian {
                        <$native>::from_be_bytes(c)
                    } else {
                        <$native>::from_le_bytes(c)
                    }
                })
                .collect();
            Arc::new(<$array>::from(values)) as ArrayRef
        }};
    }
    let array = match (kind, size) {
        (Kind::Float, 4) => numbers!(Float32Array, f32),
        (Kind::Float, 8) => numbers!(Float64Array, f64),
        (Kind::Int, 1) => numbers!(Int8Array, i8),
        (Kind::Int, 2) => numbers!(Int16Array, i16),
        (Kind::Int, 4) => numbers!(Int32Array, i32),
        (Kind::Int, 8) => numbers!(Int64Array, i64),
        (Kind::UInt, 1) => numbers!(UInt8Array, u8),
        (Kind::UInt, 2) => numbers!(UInt16Array, u16),
        (Kind::UInt, 4) => numbers!(UInt32Array, u32),
        (Kind::UInt, 8) => numbers!(UInt64Array, u64),
        (Kind::Bool, _) => Arc::new(BooleanArray::from(
            bytes.iter().map(|&b| b != 0).collect::<Vec<_>>(),
        )),
        (Kind::Unicode, _) => {
            let mut strings = Vec::with_capacity(n);
            for (row, item) in bytes.chunks_exact(size.max(1)).enumerate() {
                let text: Option<String> = item
                    .chunks_exact(4)
                    .map(|c| {
                        let c: [u8; 4] = c.try_into().expect("4-byte code units");
                        if big_endian {
                            u32::from_be_bytes(c)
                        } else {
                            u32::from_le_bytes(c)
                        }
                    })
                    .take_while(|&u| u != 0)
                    .map(char::from_u32)
                    .collect();
                strings.push(text.ok_or_else(|| {
                    TableError::format(
                        path,
                        None,
                        format!("element {row} is not valid UTF-32 text"),
                    )
                })?);
            }
            Arc::new(StringArray::from(strings))
        }
        (Kind::Bytes, _) => {
            let mut strings = Vec::with_capacity(n);
            for (row, item) in bytes.chunks_exact(size.max(1)).enumerate() {
                let end = item.iter().position(|&b| b == 0).unwrap_or(item.len());
                let text = std::str::from_utf8(&item[..end]).map_err(|_| {
                    TableError::format(path, None, format!("element {row} is not valid UTF-8 text"))
                })?;
                strings.push(text.to_string());
            }
            Arc::new(StringArray::from(strings))
        }
        _ => unreachable!("parse_descr accepts only the sizes above"),
    };
    Ok(array)
}

fn open<'p>(
    path: &Path,
    progress: Progress<'p>,
) -> Result<(NpyHeader, BufReader<CountingReader<'p, File>>)> {
    let file = File::open(path).map_err(|e| TableError::io(path, e))?;
    let file_len = file.metadata().map_err(|e| TableError::io(path, e))?.len();
    if file_len == 0 {
        return Err(TableError::EmptyFile {
            path: path.to_path_buf(),
            expected: "a .npy array (written by numpy.save)".into(),
        });
    }
    let mut reader =
        BufReader::with_capacity(1 << 16, CountingReader::new(file, file_len, progress));
    let header = read_header(path, &mut reader)?;
    let n_items = header.n_items().ok_or_else(|| {
        TableError::format(path, None, format!("shape {:?} is too large", header.shape))
    })?;
    let data_len = n_items.checked_mul(header.dtype.size).ok_or_else(|| {
        TableError::format(path, None, format!("shape {:?} is too large", header.shape))
    })?;
    let available = file_len.saturating_sub(header.data_offset);
    if (data_len as u64) > available {
        return Err(TableError::format(
            path,
            None,
            format!(
                "file is truncated: shape {:?} needs {data_len} bytes of data, the file holds {available}",
                header.shape
            ),
        ));
    }
    Ok((header, reader))
}

fn read_data(path: &Path, reader: &mut impl Read, out: &mut [u8]) -> Result<()> {
    reader.read_exact(out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            TableError::format(
                path,
                None,
                "file is truncated: it ends before all of the array's data",
            )
        } else {
            TableError::io(path, e)
        }
    })
}

/// Reads `n_items` numbers and converts them to `f32`.
fn read_f32(
    path: &Path,
    reader: &mut impl Read,
    dtype: Dtype,
    n_items: usize,
) -> Result<ScalarBuffer<f32>> {
    let native_f32 = dtype.kind == Kind::Float
        && dtype.size == 4
        && dtype.big_endian == cfg!(target_endian = "big");
    if native_f32 {
        // Read straight into the final (64-byte aligned) buffer.
        let mut buffer = MutableBuffer::from_len_zeroed(n_items * 4);
        for chunk in buffer.as_slice_mut().chunks_mut(CHUNK_BYTES) {
            read_data(path, reader, chunk)?;
        }
        return Ok(ScalarBuffer::new(Buffer::from(buffer), 0, n_items));
    }
    if !matches!(
        dtype.kind,
        Kind::Float | Kind::Int | Kind::UInt | Kind::Bool
    ) {
        return Err(TableError::format(
            path,
            None,
            "an embedding array must hold numbers (f4, f8, i1..i8, u1..u8), not text",
        ));
    }
    let mut values = Vec::with_capacity(n_items);
    let items_per_chunk = CHUNK_BYTES / dtype.size;
    let mut chunk = vec![0u8; items_per_chunk * dtype.size];
    let mut remaining = n_items;
    while remaining > 0 {
        let n = remaining.min(items_per_chunk);
        let bytes = &mut chunk[..n * dtype.size];
        read_data(path, reader, bytes)?;
        convert_to_f32(bytes, dtype, &mut values);
        remaining -= n;
    }
    Ok(ScalarBuffer::from(values))
}

fn convert_to_f32(bytes: &[u8], dtype: Dtype, out: &mut Vec<f32>) {
    macro_rules! push {
        ($native:ty) => {
            out.extend(bytes.chunks_exact(std::mem::size_of::<$native>()).map(|c| {
                let c = c.try_into().expect("chunks have the dtype's size");
                let v = if dtype.big_endian {
                    <$native>::from_be_bytes(c)
                } else {
                    <$native>::from_le_bytes(c)
                };
                v as f32
            }))
        };
    }
    match (dtype.kind, dtype.size) {
        (Kind::Float, 4) => push!(f32),
        (Kind::Float, 8) => push!(f64),
        (Kind::Int, 1) => push!(i8),
        (Kind::Int, 2) => push!(i16),
        (Kind::Int, 4) => push!(i32),
        (Kind::Int, 8) => push!(i64),
        (Kind::UInt, 1) | (Kind::Bool, 1) => push!(u8),
        (Kind::UInt, 2) => push!(u16),
        (Kind::UInt, 4) => push!(u32),
        (Kind::UInt, 8) => push!(u64),
        _ => unreachable!("read_f32 checks the kind; parse_descr the sizes"),
    }
}

/// Reorders a Fortran-order array (first index fastest) into C order with trailing dimensions
/// flattened into rows.
fn fortran_to_c(values: &[f32], shape: &[usize]) -> ScalarBuffer<f32> {
    let n_rows = shape[0];
    let trailing = &shape[1..];
    let dim: usize = trailing.iter().product();
    // For each Fortran-ordered trailing index m, its C-ordered position.
    let mut c_position = vec![0usize; dim];
    let mut index = vec![0usize; trailing.len()];
    for slot in c_position.iter_mut() {
        *slot = index
            .iter()
            .zip(trailing)
            .fold(0, |acc, (&i, &d)| acc * d + i);
        // Advance the first (fastest in Fortran order) trailing index.
        for (i, &d) in index.iter_mut().zip(trailing) {
            *i += 1;
            if *i < d {
                break;
            }
            *i = 0;
        }
    }
    let mut out = vec![0f32; values.len()];
    for (m, &c) in c_position.iter().enumerate() {
        let column = &values[m * n_rows..(m + 1) * n_rows];
        for (row, &v) in column.iter().enumerate() {
            out[row * dim + c] = v;
        }
    }
    ScalarBuffer::from(out)
}

pub(crate) fn read_header(path: &Path, reader: &mut impl Read) -> Result<NpyHeader> {
    let bad = |message: String| TableError::format(path, None, message);
    let mut prefix = [0u8; 8];
    reader
        .read_exact(&mut prefix)
        .map_err(|_| bad("not a .npy file: too short".into()))?;
    if &prefix[..6] != MAGIC {
        return Err(bad(
            "not a .npy file: it does not start with \\x93NUMPY".into()
        ));
    }
    let major = prefix[6];
    let (header_len, prefix_len) = match major {
        1 => {
            let mut len = [0u8; 2];
            reader
                .read_exact(&mut len)
                .map_err(|_| bad("truncated .npy header".into()))?;
            (u16::from_le_bytes(len) as usize, 10)
        }
        2 | 3 => {
            let mut len = [0u8; 4];
            reader
                .read_exact(&mut len)
                .map_err(|_| bad("truncated .npy header".into()))?;
            (u32::from_le_bytes(len) as usize, 12)
        }
        v => return Err(bad(format!(".npy format version {v}: expected 1, 2 or 3"))),
    };
    if header_len > 1 << 20 {
        return Err(bad(format!(
            ".npy header of {header_len} bytes is implausibly large"
        )));
    }
    let mut text = vec![0u8; header_len];
    reader
        .read_exact(&mut text)
        .map_err(|_| bad("truncated .npy header".into()))?;
    // Versions 1 and 2 use latin-1; version 3 UTF-8. The dictionary itself is ASCII.
    let text: String = if major == 3 {
        String::from_utf8(text).map_err(|_| bad(".npy header is not UTF-8".into()))?
    } else {
        text.iter().map(|&b| b as char).collect()
    };
    let mut parsed = parse_header_dict(&text)
        .map_err(|e| bad(format!("cannot read the .npy header {text:?}: {e}")))?;
    parsed.data_offset = (prefix_len + header_len) as u64;
    Ok(parsed)
}

/// A Python literal, as far as `.npy` headers use them.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Int(usize),
    Bool(bool),
    None,
    Tuple(Vec<Literal>),
    Dict(Vec<(String, Literal)>),
}

struct LiteralParser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl LiteralParser<'_> {
    fn skip_ws(&mut self) {
        while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
            self.chars.next();
        }
    }

    fn expect(&mut self, want: char) -> Result<(), String> {
        self.skip_ws();
        match self.chars.next() {
            Some(c) if c == want => Ok(()),
            other => Err(format!("expected '{want}', found {other:?}")),
        }
    }

    fn value(&mut self) -> Result<Literal, String> {
        self.skip_ws();
        match self.chars.peek().copied() {
            Some('{') => {
                self.chars.next();
                let mut entries = Vec::new();
                loop {
                    self.skip_ws();
                    if self.chars.peek() == Some(&'}') {
                        self.chars.next();
                        return Ok(Literal::Dict(entries));
                    }
                    let Literal::Str(key) = self.value()? else {
                        return Err("dictionary keys must be strings".into());
                    };
                    self.expect(':')?;
                    entries.push((key, self.value()?));
                    self.skip_ws();
                    match self.chars.next() {
                        Some(',') => {}
                        Some('}') => return Ok(Literal::Dict(entries)),
                        other => return Err(format!("expected ',' or '}}', found {other:?}")),
                    }
                }
            }
            Some(open @ ('(' | '[')) => {
                self.chars.next();
                let close = if open == '(' { ')' } else { ']' };
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.chars.peek() == Some(&close) {
                        self.chars.next();
                        return Ok(Literal::Tuple(items));
                    }
                    items.push(self.value()?);
                    self.skip_ws();
                    match self.chars.next() {
                        Some(',') => {}
                        Some(c) if c == close => return Ok(Literal::Tuple(items)),
                        other => return Err(format!("expected ',' or '{close}', found {other:?}")),
                    }
                }
            }
            Some(quote @ ('\'' | '"')) => {
                self.chars.next();
                let mut s = String::new();
                loop {
                    match self.chars.next() {
                        Some(c) if c == quote => return Ok(Literal::Str(s)),
                        Some('\\') => s.extend(self.chars.next()),
                        Some(c) => s.push(c),
                        None => return Err("unterminated string".into()),
                    }
                }
            }
            Some(c) if c.is_ascii_digit() => {
                let mut digits = String::new();
                while let Some(&d) = self.chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(d);
                    self.chars.next();
                }
                // Python 2 wrote longs as `70000L`.
                if self.chars.peek() == Some(&'L') {
                    self.chars.next();
                }
                digits
                    .parse()
                    .map(Literal::Int)
                    .map_err(|_| format!("number {digits} too large"))
            }
            Some(c) if c.is_alphabetic() => {
                let mut word = String::new();
                while let Some(&d) = self.chars.peek().filter(|d| d.is_alphanumeric()) {
                    word.push(d);
                    self.chars.next();
                }
                match word.as_str() {
                    "True" => Ok(Literal::Bool(true)),
                    "False" => Ok(Literal::Bool(false)),
                    "None" => Ok(Literal::None),
                    _ => Err(format!("unexpected word {word}")),
                }
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

fn parse_header_dict(text: &str) -> Result<NpyHeader, String> {
    let mut parser = LiteralParser {
        chars: text.chars().peekable(),
    };
    let Literal::Dict(entries) = parser.value()? else {
        return Err("expected a dictionary".into());
    };
    let get = |key: &str| entries.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let dtype =
        match get("descr") {
            Some(Literal::Str(descr)) => parse_descr(descr)?,
            Some(_) => return Err(
                "structured arrays (record dtypes) are not supported: save a plain numeric array"
                    .into(),
            ),
            None => return Err("missing 'descr'".into()),
        };
    let fortran_order = match get("fortran_order") {
        Some(Literal::Bool(b)) => *b,
        _ => return Err("missing 'fortran_order'".into()),
    };
    let shape = match get("shape") {
        Some(Literal::Tuple(items)) => items
            .iter()
            .map(|i| match i {
                Literal::Int(n) => Ok(*n),
                other => Err(format!("shape entry {other:?} is not a number")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err("missing 'shape'".into()),
    };
    Ok(NpyHeader {
        dtype,
        fortran_order,
        shape,
        data_offset: 0,
    })
}

fn parse_descr(descr: &str) -> Result<Dtype, String> {
    let unsupported = || {
        format!(
            "dtype '{descr}' is not supported: expected f4, f8, i1..i8, u1..u8, b1, or U/S strings"
        )
    };
    let mut chars = descr.chars();
    let (big_endian, rest) = match chars.next() {
        Some('<') | Some('|') | Some('=') => (false, chars.as_str()),
        Some('>') => (true, chars.as_str()),
        _ => (false, descr),
    };
    let (kind, size) = rest.split_at(rest.char_indices().nth(1).map_or(rest.len(), |(i, _)| i));
    let size: usize = size.parse().map_err(|_| unsupported())?;
    let kind = match kind {
        "f" if matches!(size, 4 | 8) => Kind::Float,
        "i" if matches!(size, 1 | 2 | 4 | 8) => Kind::Int,
        "u" if matches!(size, 1 | 2 | 4 | 8) => Kind::UInt,
        "b" if size == 1 => Kind::Bool,
        "U" if size > 0 => Kind::Unicode,
        "S" if size > 0 => Kind::Bytes,
        _ => return Err(unsupported()),
    };
    let size = if kind == Kind::Unicode {
        size * 4
    } else {
        size
    };
    Ok(Dtype {
        kind,
        size,
        big_endian,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_dict_variants() {
        let h =
            parse_header_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (70000, 784), }")
                .expect("v1");
        assert_eq!(h.shape, vec![70000, 784]);
        assert_eq!(
            h.dtype,
            Dtype {
                kind: Kind::Float,
                size: 4,
                big_endian: false
            }
        );
        let h = parse_header_dict("{'descr':'>i8','fortran_order':True,'shape':(3L,)}")
            .expect("py2 long");
        assert_eq!(h.shape, vec![3]);
        assert!(h.fortran_order && h.dtype.big_endian);
        let h = parse_header_dict("{'descr': '<U7', 'fortran_order': False, 'shape': (2,)}")
            .expect("unicode");
        assert_eq!(h.dtype.size, 28);
        assert!(
            parse_header_dict("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}")
                .is_err()
        );
        assert!(
            parse_header_dict("{'descr': '<c8', 'fortran_order': False, 'shape': (2,)}").is_err()
        );
    }

    #[test]
    fn fortran_order_3d_matches_c_order() {
        // Shape (2, 2, 3): element (i, j, k) has value 100 i + 10 j + k.
        let shape = [2usize, 2, 3];
        let mut fortran = vec![0f32; 12];
        for i in 0..2 {
            for j in 0..2 {
                for k in 0..3 {
                    fortran[i + 2 * (j + 2 * k)] = (100 * i + 10 * j + k) as f32;
                }
            }
        }
        let c = fortran_to_c(&fortran, &shape);
        let expected: Vec<f32> = (0..2)
            .flat_map(|i| {
                (0..2).flat_map(move |j| (0..3).map(move |k| (100 * i + 10 * j + k) as f32))
            })
            .collect();
        assert_eq!(c.to_vec(), expected);
    }
}
