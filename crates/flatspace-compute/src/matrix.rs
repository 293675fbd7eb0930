//! A borrowed row-major `f32` matrix: the one input shape every algorithm takes.

use crate::{ComputeError, Result};

#[derive(Debug, Clone, Copy)]
pub struct MatrixView<'a> {
    data: &'a [f32],
    n_rows: usize,
    dim: usize,
}

impl<'a> MatrixView<'a> {
    /// Wraps `data` as `n_rows × dim`; errors if the length does not match.
    pub fn new(data: &'a [f32], n_rows: usize, dim: usize) -> Result<Self> {
        match n_rows.checked_mul(dim) {
            Some(len) if len == data.len() => Ok(Self { data, n_rows, dim }),
            _ => Err(ComputeError::InvalidInput(format!(
                "matrix of {n_rows} rows × {dim} dims needs {} values, got {}",
                n_rows.saturating_mul(dim),
                data.len()
            ))),
        }
    }

    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn as_slice(&self) -> &'a [f32] {
        self.data
    }

    /// Row `i`; panics if out of range (callers index rows they enumerated).
    #[inline]
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// Largest magnitude a value may have so that any squared euclidean distance between two rows
    /// (at most `dim · (2·max)²`) still fits in an `f32`: the kNN kernels accumulate squared
    /// distances in `f32`, and past this bound they overflow to infinity (and PCA to NaN).
    pub fn max_abs_value(&self) -> f32 {
        (f32::MAX / (4.0 * self.dim.max(1) as f32)).sqrt()
    }

    /// Errors naming the first row and column that hold NaN or ±Inf, or a value beyond
    /// [`max_abs_value`](Self::max_abs_value).
    pub fn check_finite(&self) -> Result<()> {
        let limit = self.max_abs_value();
        // The branch-free scan runs at memory speed; only a failing matrix is searched again
        // for the position to name.
        if scan_values(self.data, limit).within_limit {
            return Ok(());
        }
        match self
            .data
            .iter()
            .position(|v| !v.is_finite() || v.abs() > limit)
        {
            None => Ok(()),
            Some(pos) => {
                let (value, row, column) =
                    (self.data[pos], pos / self.dim.max(1), pos % self.dim.max(1));
                Err(ComputeError::InvalidInput(if value.is_finite() {
                    format!(
                        "value {value:e} at row {row}, dimension {column} is too large: with {} \
                         dimensions values must stay within ±{limit:.1e} so squared distances fit \
                         in f32; rescale the data",
                        self.dim
                    )
                } else {
                    format!("non-finite value {value} at row {row}, dimension {column}")
                }))
            }
        }
    }
}

/// What one pass over a slice of values found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ValueScan {
    /// Largest magnitude among the non-NaN values.
    pub max_abs: f32,
    /// No value is NaN, ±Inf or larger in magnitude than the limit.
    pub within_limit: bool,
}

impl ValueScan {
    /// The scan of no values.
    pub const NONE: Self = Self {
        max_abs: 0.0,
        within_limit: true,
    };

    /// The scan of both parts together.
    pub fn and(self, other: Self) -> Self {
        Self {
            max_abs: self.max_abs.max(other.max_abs),
            within_limit: self.within_limit && other.within_limit,
        }
    }
}

/// Scans `values` in 16 independent lanes so the loop vectorises (a short-circuiting
/// `position` ran at a third of memory speed).
pub(crate) fn scan_values(values: &[f32], limit: f32) -> ValueScan {
    const LANES: usize = 16;
    let mut max = [0.0f32; LANES];
    let mut outside = [false; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for j in 0..LANES {
            let a = chunk[j].abs();
            outside[j] |= a.is_nan() | (a > limit);
            max[j] = if a > max[j] { a } else { max[j] };
        }
    }
    for (j, &v) in chunks.remainder().iter().enumerate() {
        let a = v.abs();
        outside[j] |= a.is_nan() | (a > limit);
        max[j] = if a > max[j] { a } else { max[j] };
    }
    ValueScan {
        max_abs: max.iter().fold(0.0f32, |m, &v| m.max(v)),
        within_limit: !outside.iter().any(|&o| o),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_the_largest_magnitude_and_values_past_the_limit() {
        // 37 values: two full 16-lane chunks and a remainder, the extremes in the remainder.
        let mut values: Vec<f32> = (0..37).map(|i| i as f32 * 0.5 - 9.0).collect();
        values[35] = -20.0;
        let scan = scan_values(&values, 100.0);
        assert_eq!(scan.max_abs, 20.0);
        assert!(scan.within_limit);
        assert!(!scan_values(&values, 19.0).within_limit);
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for pos in [0, 17, 36] {
                let mut v = values.clone();
                v[pos] = bad;
                let scan = scan_values(&v, 100.0);
                assert!(!scan.within_limit, "{bad} at {pos} passed");
                assert!(!scan.max_abs.is_nan());
            }
        }
        assert_eq!(scan_values(&[], 1.0).max_abs, 0.0);
    }

    #[test]
    fn check_finite_names_the_row_and_dimension() {
        let mut values = vec![0.25f32; 40 * 3];
        assert!(
            MatrixView::new(&values, 40, 3)
                .and_then(|m| m.check_finite())
                .is_ok()
        );
        values[31 * 3 + 2] = f32::NAN;
        let err = MatrixView::new(&values, 40, 3)
            .and_then(|m| m.check_finite())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("row 31, dimension 2"), "{err}");
    }
}
