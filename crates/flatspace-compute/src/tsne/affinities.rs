//! Input-space affinities: per-row Gaussian conditional probabilities over the kNN graph whose
//! precision is found by binary search so each row's perplexity matches the target, then
//! P = (P_cond + P_condᵀ) / 2 normalised to sum 1, stored as CSR.

use rayon::prelude::*;

use crate::{KnnGraph, Result, RunContext};

/// A sparse symmetric affinity matrix in CSR form; values sum to 1 over the whole matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseAffinities {
    pub n_rows: usize,
    /// Row `i` holds entries `indptr[i]..indptr[i + 1]`.
    pub indptr: Vec<usize>,
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl SparseAffinities {
    /// Symmetric joint probabilities from a kNN graph.
    pub fn from_knn(graph: &KnnGraph, perplexity: f64, ctx: &RunContext<'_>) -> Result<Self> {
        let n = graph.n_rows;
        let k = graph.k;
        let conditional = conditional_probabilities(&graph.distances, k, perplexity);
        ctx.check_cancelled()?;

        // Row i gets (j, p_j|i / 2) from its own list and (i', p_i|i' / 2) from every row i' that
        // lists i; rows are then sorted by column and duplicates merged.
        let mut counts = vec![k; n];
        for &j in &graph.indices {
            counts[j as usize] += 1;
        }
        let mut start = Vec::with_capacity(n + 1);
        start.push(0usize);
        for &c in &counts {
            let last = *start.last().unwrap_or(&0);
            start.push(last + c);
        }
        let total = start[n];
        let mut cols = vec![0u32; total];
        let mut vals = vec![0f32; total];
        let mut fill: Vec<usize> = start[..n].to_vec();
        for i in 0..n {
            for slot in 0..k {
                let j = graph.indices[i * k + slot] as usize;
                let p = conditional[i * k + slot] * 0.5;
                cols[fill[i]] = j as u32;
                vals[fill[i]] = p;
                fill[i] += 1;
                cols[fill[j]] = i as u32;
                vals[fill[j]] = p;
                fill[j] += 1;
            }
        }
        ctx.check_cancelled()?;

        // Sort and merge each row in place; `merged[i]` is its length afterwards.
        let mut row_slices: Vec<(&mut [u32], &mut [f32])> = Vec::with_capacity(n);
        {
            let mut cols_rest: &mut [u32] = &mut cols;
            let mut vals_rest: &mut [f32] = &mut vals;
            for &c in &counts {
                let (ch, ct) = cols_rest.split_at_mut(c);
                let (vh, vt) = vals_rest.split_at_mut(c);
                row_slices.push((ch, vh));
                cols_rest = ct;
                vals_rest = vt;
            }
        }
        let merged: Vec<usize> = row_slices
            .par_iter_mut()
            .map(|(c, v)| merge_row(c, v))
            .collect();

        let mut indptr = Vec::with_capacity(n + 1);
        indptr.push(0usize);
        for &m in &merged {
            let last = *indptr.last().unwrap_or(&0);
            indptr.push(last + m);
        }
        let nnz = indptr[n];
        let mut indices = Vec::with_capacity(nnz);
        let mut values = Vec::with_capacity(nnz);
        for (i, &m) in merged.iter().enumerate() {
            indices.extend_from_slice(&cols[start[i]..start[i] + m]);
            values.extend_from_slice(&vals[start[i]..start[i] + m]);
        }
        // Normalise to sum 1 (rows of P_cond sum to 1, so the total is about n; summed in
        // row order so it is the same on every run).
        let sum: f64 = values.iter().map(|&v| f64::from(v)).sum();
        if sum > 0.0 {
            let inv = (1.0 / sum) as f32;
            values.iter_mut().for_each(|v| *v *= inv);
        }
        Ok(Self {
            n_rows: n,
            indptr,
            indices,
            values,
        })
    }

    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// The same affinities with rows and columns renumbered: row `r` of the result is row
    /// `order[r]` of `self`, and each row's columns are sorted.
    pub(crate) fn permuted(&self, order: &[u32]) -> Self {
        let n = self.n_rows;
        let mut inverse = vec![0u32; n];
        for (r, &old) in order.iter().enumerate() {
            inverse[old as usize] = r as u32;
        }
        let mut indptr = Vec::with_capacity(n + 1);
        indptr.push(0);
        for &old in order {
            let old = old as usize;
            let len = self.indptr[old + 1] - self.indptr[old];
            indptr.push(indptr[indptr.len() - 1] + len);
        }
        let mut indices = vec![0u32; self.indices.len()];
        let mut values = vec![0f32; self.values.len()];
        let mut rows: Vec<(&mut [u32], &mut [f32])> = Vec::with_capacity(n);
        let (mut rest_i, mut rest_v) = (&mut indices[..], &mut values[..]);
        for r in 0..n {
            let len = indptr[r + 1] - indptr[r];
            let (ri, ti) = rest_i.split_at_mut(len);
            let (rv, tv) = rest_v.split_at_mut(len);
            rows.push((ri, rv));
            rest_i = ti;
            rest_v = tv;
        }
        rows.into_par_iter()
            .zip(order.par_iter())
            .for_each(|((ri, rv), &old)| {
                let (cols, vals) = self.row(old as usize);
                let mut pairs: Vec<(u32, f32)> = cols
                    .iter()
                    .map(|&j| inverse[j as usize])
                    .zip(vals.iter().copied())
                    .collect();
                pairs.sort_unstable_by_key(|&(j, _)| j);
                for ((i, v), (j, pv)) in ri.iter_mut().zip(rv.iter_mut()).zip(pairs) {
                    *i = j;
                    *v = pv;
                }
            });
        Self {
            n_rows: n,
            indptr,
            indices,
            values,
        }
    }

    #[inline]
    pub(crate) fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let range = self.indptr[i]..self.indptr[i + 1];
        (&self.indices[range.clone()], &self.values[range])
    }
}

/// Sorts a row's entries by column and sums duplicates; returns the merged length.
fn merge_row(cols: &mut [u32], vals: &mut [f32]) -> usize {
    let mut pairs: Vec<(u32, f32)> = cols.iter().copied().zip(vals.iter().copied()).collect();
    pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out = 0usize;
    for (c, v) in pairs {
        if out > 0 && cols[out - 1] == c {
            vals[out - 1] += v;
        } else {
            cols[out] = c;
            vals[out] = v;
            out += 1;
        }
    }
    out
}

/// Conditional probabilities p_j|i for rows of `k` neighbour distances (each row sums to 1).
pub(crate) fn conditional_probabilities(distances: &[f32], k: usize, perplexity: f64) -> Vec<f32> {
    let mut out = vec![0f32; distances.len()];
    if k == 0 {
        return out;
    }
    let target = perplexity.ln();
    out.par_chunks_mut(k)
        .zip(distances.par_chunks(k))
        .for_each(|(row_out, row_dist)| row_probabilities(row_dist, target, row_out));
    out
}

/// One row: find the precision β of exp(−β d²) whose entropy (nats) matches `target_entropy`.
/// The entropy falls monotonically with β; Newton steps (dH/dβ = −β Var(d²)) inside a shrinking
/// bisection bracket converge in a handful of evaluations.
fn row_probabilities(distances: &[f32], target_entropy: f64, out: &mut [f32]) {
    let k = distances.len();
    // Squared distances shifted by the smallest so the largest weight is exp(0) = 1 (no underflow
    // of the whole row whatever the scale of the data).
    let d2: Vec<f64> = distances
        .iter()
        .map(|&d| {
            let d = f64::from(d);
            d * d
        })
        .collect();
    let d_min = d2.iter().copied().fold(f64::INFINITY, f64::min);
    let shifted: Vec<f64> = d2.iter().map(|&v| v - d_min).collect();
    let mean = shifted.iter().sum::<f64>() / k as f64;
    let mut beta = if mean > 0.0 { 1.0 / mean } else { 1.0 };
    let mut lo = 0.0f64;
    let mut hi = f64::INFINITY;
    let mut weights = vec![0f64; k];
    let mut sum = 0.0;
    for _ in 0..100 {
        sum = 0.0;
        let mut m1 = 0.0;
        let mut m2 = 0.0;
        for (w, &s) in weights.iter_mut().zip(&shifted) {
            *w = (-beta * s).exp();
            sum += *w;
            m1 += *w * s;
            m2 += *w * s * s;
        }
        let mean_s = m1 / sum;
        let var_s = (m2 / sum - mean_s * mean_s).max(0.0);
        let entropy = sum.ln() + beta * mean_s;
        let gap = entropy - target_entropy;
        if gap.abs() < 1e-5 {
            break;
        }
        if gap > 0.0 {
            lo = beta; // too flat: sharpen
        } else {
            hi = beta;
        }
        let slope = -beta * var_s;
        let newton = if slope < 0.0 {
            beta - gap / slope
        } else {
            f64::NAN
        };
        beta = if newton.is_finite() && newton > lo && newton < hi {
            newton
        } else if hi.is_finite() {
            0.5 * (lo + hi)
        } else {
            beta * 2.0
        };
        if !(beta.is_finite() && beta > 0.0) || (hi.is_finite() && hi - lo <= 1e-14 * hi) {
            break;
        }
    }
    if !(sum.is_finite() && sum > 0.0) {
        let uniform = 1.0 / k as f32;
        out.iter_mut().for_each(|v| *v = uniform);
        return;
    }
    for (o, &w) in out.iter_mut().zip(&weights) {
        *o = (w / sum) as f32;
    }
}
