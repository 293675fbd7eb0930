//! The demo tables: scikit-learn's digits (shipped in `demo/`, exported once by
//! `demo/export_digits.py`) and a seeded Gaussian mixture of any size.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, RecordBatch, StringArray, UInt8Array};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use flatspace_compute::rng::Rng;

use crate::png::encode_gray8;

const DIGITS_PIXELS_NPY: &[u8] = include_bytes!("../demo/digits_pixels.npy");
const DIGITS_LABELS_NPY: &[u8] = include_bytes!("../demo/digits_labels.npy");

pub const DIGITS_ROWS: usize = 1797;
pub const DIGITS_DIM: usize = 64;

/// A media file for the store: its bytes and content type.
pub struct DemoMedia {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

/// A demo table: its rows (image columns hold media hashes) and the media they name.
pub struct DemoTable {
    pub batch: RecordBatch,
    pub media: Vec<DemoMedia>,
}

/// The payload of a C-order `uint8` `.npy` file and its shape.
fn npy_u8(bytes: &'static [u8]) -> Result<(&'static [u8], Vec<usize>), String> {
    let magic = b"\x93NUMPY";
    if bytes.len() < 10 || &bytes[..6] != magic {
        return Err("not a .npy file".into());
    }
    let (header_len, header_start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = std::str::from_utf8(
        bytes
            .get(header_start..header_start + header_len)
            .ok_or("truncated .npy header")?,
    )
    .map_err(|_| "the .npy header is not text")?;
    if !header.contains("'descr': '|u1'") || !header.contains("'fortran_order': False") {
        return Err(format!(
            "expected a C-order uint8 array, header is {header}"
        ));
    }
    let shape_text = header
        .split("'shape': (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .ok_or("no shape in the .npy header")?;
    let shape = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|e| format!("shape {shape_text}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let payload = &bytes[header_start + header_len..];
    if payload.len() != shape.iter().product::<usize>() {
        return Err(format!(
            "shape {shape:?} needs {} bytes, the file holds {}",
            shape.iter().product::<usize>(),
            payload.len()
        ));
    }
    Ok((payload, shape))
}

/// Digits pixels (values 0..16, row-major `1797 × 64`) and labels, checked against the shape.
pub fn digits_arrays() -> Result<(&'static [u8], &'static [u8]), String> {
    let (pixels, pixel_shape) =
        npy_u8(DIGITS_PIXELS_NPY).map_err(|e| format!("digits pixels: {e}"))?;
    let (labels, label_shape) =
        npy_u8(DIGITS_LABELS_NPY).map_err(|e| format!("digits labels: {e}"))?;
    if pixel_shape != [DIGITS_ROWS, DIGITS_DIM] || label_shape != [DIGITS_ROWS] {
        return Err(format!(
            "digits files have shapes {pixel_shape:?} and {label_shape:?}, expected [1797, 64] and [1797]"
        ));
    }
    Ok((pixels, labels))
}

fn embedding_column(values: Vec<f32>, dim: usize) -> Result<ArrayRef, ArrowError> {
    let array = flatspace_table::embedding::embedding_from_row_major(values, dim)
        .map_err(|e| ArrowError::InvalidArgumentError(e.to_string()))?;
    Ok(Arc::new(array))
}

/// Digits as a table: `image` (8 × 8 PNG, dark ink on white), `label` (0..9), `pixels` (the 64
/// pixel values as an embedding).
pub fn digits() -> Result<DemoTable, String> {
    let (pixels, labels) = digits_arrays()?;
    let mut media = Vec::with_capacity(DIGITS_ROWS);
    let mut hashes = Vec::with_capacity(DIGITS_ROWS);
    for row in pixels.chunks(DIGITS_DIM) {
        let gray: Vec<u8> = row
            .iter()
            .map(|&v| 255 - (u16::from(v.min(16)) * 255 / 16) as u8)
            .collect();
        let png = encode_gray8(8, 8, &gray);
        hashes.push(flatspace_table::media::media_hash(&png));
        media.push(DemoMedia {
            bytes: png,
            content_type: "image/png",
        });
    }
    let embedding: Vec<f32> = pixels.iter().map(|&v| f32::from(v)).collect();
    let schema = Schema::new(vec![
        flatspace_table::media::image_field("image", false),
        Field::new("label", DataType::UInt8, false),
        Field::new(
            "pixels",
            flatspace_table::embedding::embedding_data_type(DIGITS_DIM)
                .map_err(|e| e.to_string())?,
            false,
        ),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(hashes)),
        Arc::new(UInt8Array::from(labels.to_vec())),
        embedding_column(embedding, DIGITS_DIM).map_err(|e| e.to_string())?,
    ];
    let batch = RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| e.to_string())?;
    Ok(DemoTable { batch, media })
}

/// A seeded mixture of `n_clusters` Gaussian blobs in `dim` dimensions: `cluster` (its name),
/// `radius` (distance to its centre, a continuous colour) and `embedding`.
pub fn gaussian_mixture(
    n_rows: usize,
    dim: usize,
    n_clusters: usize,
    seed: u64,
) -> Result<DemoTable, String> {
    if n_clusters == 0 || dim == 0 {
        return Err("a mixture needs at least one cluster and one dimension".into());
    }
    let mut rng = Rng::new(seed);
    // Centres far enough apart (σ = 8 per coordinate against unit-variance blobs) that every
    // cluster separates in a good layout.
    let centres: Vec<f32> = (0..n_clusters * dim)
        .map(|_| (rng.normal() * 8.0) as f32)
        .collect();
    let names: Vec<String> = (0..n_clusters).map(|c| format!("cluster {c}")).collect();
    let mut embedding = Vec::with_capacity(n_rows * dim);
    let mut cluster = Vec::with_capacity(n_rows);
    let mut radius = Vec::with_capacity(n_rows);
    for _ in 0..n_rows {
        let c = rng.below(n_clusters);
        let centre = &centres[c * dim..(c + 1) * dim];
        let mut r2 = 0.0f64;
        for &mu in centre {
            let z = rng.normal();
            r2 += z * z;
            embedding.push(mu + z as f32);
        }
        cluster.push(names[c].as_str());
        radius.push(r2.sqrt() as f32);
    }
    let schema = Schema::new(vec![
        Field::new("cluster", DataType::Utf8, false),
        Field::new("radius", DataType::Float32, false),
        Field::new(
            "embedding",
            flatspace_table::embedding::embedding_data_type(dim).map_err(|e| e.to_string())?,
            false,
        ),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(cluster)),
        Arc::new(Float32Array::from(radius)),
        embedding_column(embedding, dim).map_err(|e| e.to_string())?,
    ];
    let batch = RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| e.to_string())?;
    Ok(DemoTable {
        batch,
        media: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_load_with_expected_shape_and_ten_classes() {
        let table = digits().expect("digits");
        assert_eq!(table.batch.num_rows(), DIGITS_ROWS);
        assert_eq!(table.media.len(), DIGITS_ROWS);
        let (pixels, labels) = digits_arrays().expect("arrays");
        assert!(pixels.iter().all(|&v| v <= 16));
        let mut counts = [0usize; 10];
        for &l in labels {
            counts[usize::from(l)] += 1;
        }
        // load_digits has 174..=183 samples per class.
        assert!(
            counts.iter().all(|&c| (170..=185).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn mixture_is_seeded_and_sized() {
        let a = gaussian_mixture(500, 8, 5, 3).expect("mixture");
        let b = gaussian_mixture(500, 8, 5, 3).expect("mixture");
        let c = gaussian_mixture(500, 8, 5, 4).expect("mixture");
        assert_eq!(a.batch, b.batch);
        assert_ne!(a.batch, c.batch);
        assert_eq!(a.batch.num_rows(), 500);
    }
}
