//! A minimal `.npy` reader and writer: C-order little-endian arrays of one or two dimensions,
//! enough for the benchmark's inputs (f32/f64 matrices, integer labels and kNN indices) and
//! outputs. Anything else is refused with an error that names the file and what was found.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Element types this reader understands (all little-endian or single-byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
}

impl Dtype {
    fn parse(descr: &str) -> Option<Self> {
        // '|' marks "byte order not applicable" (one-byte types); '=' means native, which is
        // little-endian on every machine this runs on.
        let (order, code) = descr.split_at(descr.len().min(1));
        if !matches!(order, "<" | "|" | "=") {
            return None;
        }
        Some(match code {
            "f4" => Self::F32,
            "f8" => Self::F64,
            "i1" => Self::I8,
            "u1" | "b1" => Self::U8,
            "i2" => Self::I16,
            "u2" => Self::U16,
            "i4" => Self::I32,
            "u4" => Self::U32,
            "i8" => Self::I64,
            "u8" => Self::U64,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::F32 | Self::I32 | Self::U32 => 4,
            Self::F64 | Self::I64 | Self::U64 => 8,
        }
    }

    fn is_float(self) -> bool {
        matches!(self, Self::F32 | Self::F64)
    }
}

/// A decoded array: its shape and raw little-endian element bytes.
#[derive(Debug)]
pub struct NpyArray {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl NpyArray {
    /// Number of elements.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    fn elements(&self) -> impl Iterator<Item = &[u8]> {
        self.bytes.chunks_exact(self.dtype.size())
    }

    fn to_f32(&self) -> Vec<f32> {
        let le = |b: &[u8]| -> [u8; 8] {
            let mut out = [0u8; 8];
            out[..b.len()].copy_from_slice(b);
            out
        };
        self.elements()
            .map(|b| match self.dtype {
                Dtype::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                Dtype::F64 => f64::from_le_bytes(le(b)) as f32,
                _ => self.int_at(b) as f32,
            })
            .collect()
    }

    fn int_at(&self, b: &[u8]) -> i64 {
        match self.dtype {
            Dtype::I8 => b[0] as i8 as i64,
            Dtype::U8 => b[0] as i64,
            Dtype::I16 => i16::from_le_bytes([b[0], b[1]]) as i64,
            Dtype::U16 => u16::from_le_bytes([b[0], b[1]]) as i64,
            Dtype::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            Dtype::U32 => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            Dtype::I64 | Dtype::U64 => {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                // u64 values above i64::MAX wrap negative and are then rejected by callers
                // that need non-negative indices.
                i64::from_le_bytes(a)
            }
            Dtype::F32 | Dtype::F64 => 0,
        }
    }
}

/// A row-major f32 matrix read from a file.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub n_rows: usize,
    pub dim: usize,
    pub data: Vec<f32>,
}

/// Reads any supported `.npy` file.
pub fn read(path: &Path) -> Result<NpyArray> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    parse(&bytes).with_context(|| format!("{} is not a supported .npy file", path.display()))
}

fn parse(bytes: &[u8]) -> Result<NpyArray> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        bail!("missing the \\x93NUMPY magic at the start");
    }
    let major = bytes[6];
    let (header_len, header_start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                bail!("truncated header");
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => bail!("format version {v} (expected 1, 2 or 3)"),
    };
    let data_start = header_start + header_len;
    let header = bytes
        .get(header_start..data_start)
        .context("header length runs past the end of the file")?;
    let header = std::str::from_utf8(header).context("header is not text")?;
    let descr = dict_value(header, "descr").context("header has no 'descr'")?;
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"');
    let dtype = Dtype::parse(descr).with_context(|| {
        format!("dtype {descr:?}: expected little-endian f4, f8 or an integer type")
    })?;
    let fortran = dict_value(header, "fortran_order").context("header has no 'fortran_order'")?;
    let shape_text = dict_value(header, "shape").context("header has no 'shape'")?;
    let shape = parse_shape(shape_text)?;
    if fortran.trim().starts_with("True") && shape.len() > 1 {
        bail!("array is in Fortran order; save it with np.ascontiguousarray first");
    }
    let n: usize = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .context("shape overflows")?;
    let need = n.checked_mul(dtype.size()).context("shape overflows")?;
    let body = &bytes[data_start..];
    if body.len() < need {
        bail!(
            "shape {shape:?} of {descr} needs {need} data bytes, the file holds {}",
            body.len()
        );
    }
    Ok(NpyArray {
        dtype,
        shape,
        bytes: body[..need].to_vec(),
    })
}

/// The text of `'key': value` in the header dict, up to the next top-level comma or brace.
fn dict_value<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let at = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = &header[at + key.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    if rest.starts_with('(') {
        let close = rest.find(')')?;
        return Some(&rest[..=close]);
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(&rest[..end])
}

fn parse_shape(text: &str) -> Result<Vec<usize>> {
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .with_context(|| format!("shape {text:?} is not a tuple"))?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_end_matches('L')
                .parse::<usize>()
                .with_context(|| format!("shape entry {s:?} is not a non-negative integer"))
        })
        .collect()
}

/// Reads a 2-D float (or integer) array as a row-major f32 matrix. A 1-D array is read as one
/// column.
pub fn read_matrix(path: &Path) -> Result<Matrix> {
    let array = read(path)?;
    let (n_rows, dim) = match array.shape.as_slice() {
        [n] => (*n, 1),
        [n, d] => (*n, *d),
        s => bail!(
            "{}: expected a 2-D array (rows × dims), found shape {s:?}",
            path.display()
        ),
    };
    if !array.dtype.is_float() {
        bail!(
            "{}: expected float32 or float64 values, found {:?}",
            path.display(),
            array.dtype
        );
    }
    Ok(Matrix {
        n_rows,
        dim,
        data: array.to_f32(),
    })
}

/// Reads a 1-D array of class labels (any integer type, or floats holding integers).
pub fn read_labels(path: &Path) -> Result<Vec<i64>> {
    let array = read(path)?;
    if array.shape.len() != 1 {
        bail!(
            "{}: expected a 1-D array of labels, found shape {:?}",
            path.display(),
            array.shape
        );
    }
    if array.dtype.is_float() {
        return array
            .to_f32()
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                if v.fract() == 0.0 && v.is_finite() {
                    Ok(v as i64)
                } else {
                    bail!(
                        "{}: label at row {i} is {v}, not an integer",
                        path.display()
                    )
                }
            })
            .collect();
    }
    Ok(array.elements().map(|b| array.int_at(b)).collect())
}

/// Reads an `n × k` array of neighbour indices; every entry must lie in `0..n_rows` when
/// `n_rows` is given.
pub fn read_indices(path: &Path, n_rows: Option<usize>) -> Result<(usize, usize, Vec<u32>)> {
    let array = read(path)?;
    let [n, k] = array.shape.as_slice() else {
        bail!(
            "{}: expected a 2-D array of neighbour indices (rows × k), found shape {:?}",
            path.display(),
            array.shape
        );
    };
    if array.dtype.is_float() {
        bail!(
            "{}: expected integer neighbour indices, found {:?}",
            path.display(),
            array.dtype
        );
    }
    let limit = n_rows.unwrap_or(u32::MAX as usize) as i64;
    let mut out = Vec::with_capacity(array.len());
    for (pos, b) in array.elements().enumerate() {
        let v = array.int_at(b);
        if v < 0 || v >= limit {
            bail!(
                "{}: index {v} at row {}, column {} is outside 0..{limit}",
                path.display(),
                pos / (*k).max(1),
                pos % (*k).max(1)
            );
        }
        out.push(v as u32);
    }
    Ok((*n, *k, out))
}

fn write_raw(path: &Path, descr: &str, shape: &[usize], body: &[u8]) -> Result<()> {
    let shape_text = match shape {
        [n] => format!("({n},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad so the data starts on a 64-byte boundary, as numpy does; the header ends in '\n'.
    let unpadded = MAGIC.len() + 2 + 2 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let header_len = u16::try_from(header.len()).context("header too long for format 1.0")?;
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    out.write_all(MAGIC)?;
    out.write_all(&[1, 0])?;
    out.write_all(&header_len.to_le_bytes())?;
    out.write_all(header.as_bytes())?;
    out.write_all(body)?;
    out.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Writes a row-major f32 matrix as `<f4` with shape `(n_rows, dim)`.
pub fn write_f32(path: &Path, data: &[f32], n_rows: usize, dim: usize) -> Result<()> {
    if n_rows * dim != data.len() {
        bail!(
            "internal: {n_rows} × {dim} matrix with {} values",
            data.len()
        );
    }
    let body: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_raw(path, "<f4", &[n_rows, dim], &body)
}

/// Writes neighbour indices as `<i4` with shape `(n_rows, k)` (numpy's default index type
/// would be i8; i4 halves the file and holds every row index below 2³¹).
pub fn write_indices(path: &Path, data: &[u32], n_rows: usize, k: usize) -> Result<()> {
    if n_rows * k != data.len() {
        bail!(
            "internal: {n_rows} × {k} indices with {} values",
            data.len()
        );
    }
    let body: Vec<u8> = data
        .iter()
        .flat_map(|&v| (v as i32).to_le_bytes())
        .collect();
    write_raw(path, "<i4", &[n_rows, k], &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_f32_matrix_and_indices() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.npy");
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5 - 2.0).collect();
        write_f32(&path, &data, 3, 4).expect("write");
        let m = read_matrix(&path).expect("read");
        assert_eq!((m.n_rows, m.dim), (3, 4));
        assert_eq!(m.data, data);
        let raw = std::fs::read(&path).expect("bytes");
        let header_len = u16::from_le_bytes([raw[8], raw[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0, "data must start 64-byte aligned");

        let ipath = dir.path().join("i.npy");
        write_indices(&ipath, &[1, 0, 2, 2, 0, 1], 3, 2).expect("write");
        let (n, k, idx) = read_indices(&ipath, Some(3)).expect("read");
        assert_eq!((n, k), (3, 2));
        assert_eq!(idx, vec![1, 0, 2, 2, 0, 1]);
        assert!(
            read_indices(&ipath, Some(2)).is_err(),
            "index 2 is out of 0..2"
        );
    }

    fn handmade(descr: &str, shape: &str, body: &[u8], fortran: &str) -> Vec<u8> {
        let header =
            format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}\n");
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn reads_f64_and_integer_labels_written_by_numpy_style_headers() {
        let body: Vec<u8> = [1.5f64, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = parse(&handmade("<f8", "(1, 2)", &body, "False")).expect("parse");
        assert_eq!(a.to_f32(), vec![1.5, -2.0]);
        let body: Vec<u8> = [3i64, 7, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = parse(&handmade("<i8", "(3,)", &body, "False")).expect("parse");
        let labels: Vec<i64> = a.elements().map(|b| a.int_at(b)).collect();
        assert_eq!(labels, vec![3, 7, 0]);
        let a = parse(&handmade("|u1", "(2,)", &[200, 9], "False")).expect("parse");
        assert_eq!(
            a.elements().map(|b| a.int_at(b)).collect::<Vec<_>>(),
            vec![200, 9]
        );
    }

    #[test]
    fn refuses_what_it_cannot_read_with_a_reason() {
        let be = handmade(">f4", "(1,)", &[0, 0, 0, 0], "False");
        let err = parse(&be).expect_err("big-endian").to_string();
        assert!(err.contains(">f4"), "{err}");
        let fortran = handmade("<f4", "(2, 2)", &[0; 16], "True");
        assert!(
            parse(&fortran)
                .expect_err("fortran")
                .to_string()
                .contains("Fortran")
        );
        let short = handmade("<f4", "(4, 4)", &[0; 8], "False");
        assert!(
            parse(&short)
                .expect_err("short")
                .to_string()
                .contains("needs 64")
        );
        assert!(parse(b"not an npy file at all").is_err());
        assert!(parse(&[0x93]).is_err());
    }
}
