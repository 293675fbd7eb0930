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
