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

    /// Errors naming the first row and column that hold NaN or ±Inf.
    pub fn check_finite(&self) -> Result<()> {
        match self.data.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(pos) => Err(ComputeError::InvalidInput(format!(
                "non-finite value {} at row {}, dimension {}",
                self.data[pos],
                pos / self.dim.max(1),
                pos % self.dim.max(1)
            ))),
        }
    }
}
