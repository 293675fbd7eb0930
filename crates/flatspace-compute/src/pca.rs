//! Principal component analysis on every row.
//!
//! Two solvers share one result shape:
//! - **Covariance**: the d × d covariance accumulated from centred row blocks with f32 GEMMs
//!   (summed in f64), then a symmetric eigendecomposition (faer). Exact; costs n·d² + d³.
//! - **Randomized**: block subspace iteration on the covariance operator, each iteration one
//!   streaming pass over the rows that computes `Xcᵀ (Xc Q)` block by block (the data is read
//!   once per iteration and never copied whole), orthonormalised in f64, stopped when the top
//!   subspace stops moving, finished by a Rayleigh–Ritz step. Costs about n·d·l per pass with
//!   l = components + oversampling, which wins when d is large and few components are wanted.
//!
//! Every row is read a fixed number of times: one pass checks the values and sums the columns,
//! each solver pass reads the rows once (the mean is subtracted from the products rather than
//! from a copy of the rows unless the mean is far larger than the spread), and one pass
//! projects.
//!
//! Partial sums are taken over a fixed partition of the rows and added in a fixed order, so the
//! result does not depend on the number of threads. Signs follow scikit-learn's convention: the
//! entry of largest magnitude in each component is positive.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};
use rayon::prelude::*;

use crate::linalg::orthonormalize;
use crate::matrix::{ValueScan, scan_values};
use crate::rng::Rng;
use crate::{ComputeError, MatrixView, Result, RunContext};

/// Which algorithm computes the components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PcaSolver {
    /// Covariance for moderate dimensions or many components, randomized otherwise.
    #[default]
    Auto,
    Covariance,
    Randomized,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PcaParams {
    pub n_components: usize,
    /// Subtract the column means first (off: components of the raw second moment, like a
    /// truncated SVD).
    pub center: bool,
    /// Scale each output coordinate to unit variance.
    pub whiten: bool,
    pub solver: PcaSolver,
    /// Seeds the randomized solver's starting subspace.
    pub seed: u64,
}

impl Default for PcaParams {
    fn default() -> Self {
        Self {
            n_components: 2,
            center: true,
            whiten: false,
            solver: PcaSolver::Auto,
            seed: 42,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PcaResult {
    pub n_rows: usize,
    pub n_components: usize,
    /// Projected rows, row-major n_rows × n_components.
    pub coords: Vec<f32>,
    /// Each component's share of the total variance (of the total sum of squares when not
    /// centring); 0 when the data has no variance.
    pub explained_variance_ratio: Vec<f32>,
    /// Variance along each component (denominator n − 1).
    pub explained_variance: Vec<f32>,
    /// Unit component vectors, row-major n_components × dim, by decreasing variance.
    pub components: Vec<f32>,
    /// The vector subtracted from every row before projecting (zeros when not centring).
    pub mean: Vec<f32>,
}

impl PcaResult {
    /// Row `i` of the projection.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.coords[i * self.n_components..(i + 1) * self.n_components]
    }
}

/// Above this magnitude PCA runs on a rescaled copy (see `pca`).
const LARGE_VALUES: f32 = 1e9;
/// Rows per block in streaming passes: a centred block copy stays in L2 for d up to ~1000.
/// 128 measured fastest for the subspace passes (100k × 768, 2 threads, medians of 5: 0.70 CPU s
/// at 128, 0.75 at 64 and 256, 0.91 at 1024).
const BLOCK_ROWS: usize = 128;
/// Rows per block of the covariance solver's d × d Gram products.
const COVARIANCE_BLOCK_ROWS: usize = 512;
/// The fixed number of row groups whose partial sums are combined in order.
const MAX_GROUPS: usize = 16;
/// Memory allowed for per-group d × d covariance partials.
const COVARIANCE_PARTIALS_BUDGET: usize = 256 << 20;
/// Subspace iteration stops when the squared change k − ‖V_oldᵀ V_new‖²_F between successive
/// iterates (≈ 1e-3 rad), or the error still to come extrapolated from the last two changes
/// ([`remaining_error`]), falls below this. The extrapolation stops one pass earlier: on MNIST
/// to 2 components 5 passes instead of 6 (predicted 3.9e-7, the next change measured 4.4e-7),
/// on the 100k × 768 mixture 4 instead of 5.
const SUBSPACE_TOL: f64 = 1e-6;
const MIN_ITERS: usize = 3;
const MAX_ITERS: usize = 40;

/// Principal components of the rows of `x`.
pub fn pca(x: MatrixView<'_>, params: &PcaParams, ctx: &RunContext<'_>) -> Result<PcaResult> {
    let n = x.n_rows();
    let d = x.dim();
    let k = params.n_components;
    if n == 0 {
        return Err(ComputeError::InvalidInput(
            "PCA needs at least one row, got an empty matrix".into(),
        ));
    }
    if k == 0 || k > d {
        return Err(ComputeError::InvalidInput(format!(
            "PCA n_components must be between 1 and the dimension {d}, got {k}"
        )));
    }
    // One pass finds bad values, the largest magnitude and the column sums: on 100k × 768
    // the three separate passes were a fifth of the run.
    let (column_sums, scan) = scan_and_sum_columns(x);
    if !scan.within_limit {
        x.check_finite()?;
    }
    ctx.check_cancelled()?;
    // Large magnitudes: the covariance sums squares in f32 kernels, which overflow long before
    // the inputs do. PCA is linear, so solve on a rescaled copy and scale the answer back.
    let max_abs = scan.max_abs;
    if max_abs > LARGE_VALUES {
        let scaled: Vec<f32> = x.as_slice().iter().map(|v| v / max_abs).collect();
        let view = MatrixView::new(&scaled, n, d)?;
        let mut result = pca(view, params, ctx)?;
        if !params.whiten {
            result.coords.iter_mut().for_each(|c| *c *= max_abs);
        }
        let scale2 = max_abs as f64 * max_abs as f64;
        result
            .explained_variance
            .iter_mut()
            .for_each(|v| *v = (*v as f64 * scale2).min(f32::MAX as f64) as f32);
        result.mean.iter_mut().for_each(|m| *m *= max_abs);
        return Ok(result);
    }

    let mean = if params.center {
        column_sums.iter().map(|&s| s / n as f64).collect()
    } else {
        vec![0.0; d]
    };
    let denom = (n.max(2) - 1) as f64;
    let oversample = 16.max(k / 2);
    let l = (k + oversample).min(d);
    let use_covariance = match params.solver {
        PcaSolver::Covariance => true,
        PcaSolver::Randomized => false,
        PcaSolver::Auto => d <= 320 || 4 * l >= d,
    };

    let (components, variances, total_variance) = if use_covariance {
        covariance_solver(x, &mean, k, denom, ctx)?
    } else {
        randomized_solver(x, &mean, k, l, denom, params.seed, ctx)?
    };
    ctx.check_cancelled()?;

    // components: k × d row-major f64, already sign-fixed.
    let comp_f32: Vec<f32> = components.iter().map(|&v| v as f32).collect();
    let mut coords = project(
        x,
        &mean,
        &comp_f32,
        k,
        Centring::choose(&mean, total_variance),
    );
    if params.whiten {
        for row in coords.chunks_mut(k) {
            for (c, &var) in row.iter_mut().zip(&variances) {
                *c = if var > 0.0 {
                    (*c as f64 / var.sqrt()) as f32
                } else {
                    0.0
                };
            }
        }
    }
    ctx.report("pca", 1, 1);
    let explained_variance_ratio = variances
        .iter()
        .map(|&v| {
            if total_variance > 0.0 {
                (v / total_variance) as f32
            } else {
                0.0
            }
        })
        .collect();
    Ok(PcaResult {
        n_rows: n,
        n_components: k,
        coords,
        explained_variance_ratio,
        explained_variance: variances.iter().map(|&v| v as f32).collect(),
        components: comp_f32,
        mean: mean.iter().map(|&m| m as f32).collect(),
    })
}

/// Splits `n_blocks` into at most `groups` contiguous ranges, runs `per_group` on each in
/// parallel and returns the results in range order, so a sequential fold over them is
/// independent of the thread count.
fn grouped<T: Send>(
    n_blocks: usize,
    groups: usize,
    per_group: impl Fn(std::ops::Range<usize>) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let groups = groups.clamp(1, n_blocks.max(1));
    (0..groups)
        .into_par_iter()
        .map(|g| per_group(g * n_blocks / groups..(g + 1) * n_blocks / groups))
        .collect()
}

/// Column sums (in f64) and a [`ValueScan`] of every value, in one pass.
pub(crate) fn scan_and_sum_columns(x: MatrixView<'_>) -> (Vec<f64>, ValueScan) {
    let n = x.n_rows();
    let d = x.dim();
    let limit = x.max_abs_value();
    let n_blocks = n.div_ceil(BLOCK_ROWS);
    let partials = grouped(n_blocks, MAX_GROUPS, |blocks| {
        let mut sum = vec![0.0f64; d];
        let mut scan = ValueScan::NONE;
        for b in blocks {
            // Scanned block by block, so the sums read the block from cache.
            let rows = block_range(b, n, BLOCK_ROWS);
            scan = scan.and(scan_values(
                &x.as_slice()[rows.start * d..rows.end * d],
                limit,
            ));
            for i in rows {
                for (s, &v) in sum.iter_mut().zip(x.row(i)) {
                    *s += v as f64;
                }
            }
        }
        Ok((sum, scan))
    })
    .unwrap_or_default();
    let mut sums = vec![0.0f64; d];
    let mut scan = ValueScan::NONE;
    for (p, group_scan) in partials {
        for (m, v) in sums.iter_mut().zip(p) {
            *m += v;
        }
        scan = scan.and(group_scan);
    }
    (sums, scan)
}

/// How a streaming pass removes the mean from a block of rows before a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Centring {
    /// Copy the block minus the mean, then multiply: exact for any offset.
    CopyBlock,
    /// Multiply the raw rows and subtract the mean's product from the result: no copy (11% less
    /// CPU on 100k × 768), but f32 rounding grows with the mean's norm.
    SubtractProduct,
}

/// Largest ‖mean‖² / total variance for which [`Centring::SubtractProduct`] is used: at 10⁴ the
/// products' rounding is at most ~100 × that of centred rows, about 1e-5 of the spread.
const SUBTRACT_PRODUCT_MAX_OFFSET: f64 = 1e4;

impl Centring {
    fn choose(mean: &[f64], total_variance: f64) -> Self {
        let offset: f64 = mean.iter().map(|m| m * m).sum();
        if offset == 0.0 || offset <= SUBTRACT_PRODUCT_MAX_OFFSET * total_variance {
            Centring::SubtractProduct
        } else {
            Centring::CopyBlock
        }
    }
}

/// The values of rows `range` of `x` as the pass should multiply them: borrowed as they are
/// for [`Centring::SubtractProduct`], else copied centred into `buf`.
fn block_values<'b>(
    x: MatrixView<'b>,
    mean32: &[f32],
    range: std::ops::Range<usize>,
    centring: Centring,
    buf: &'b mut Vec<f32>,
) -> &'b [f32] {
    match centring {
        Centring::SubtractProduct => &x.as_slice()[range.start * x.dim()..range.end * x.dim()],
        Centring::CopyBlock => {
            centred_block(x, mean32, range, buf);
            buf
        }
    }
}

/// Copies rows `rows` of `x` minus `mean` into `buf` (row-major) and returns the row count.
pub(crate) fn centred_block(
    x: MatrixView<'_>,
    mean: &[f32],
    rows: std::ops::Range<usize>,
    buf: &mut Vec<f32>,
) -> usize {
    // Centred in f32, as scikit-learn centres float32 input: the mean's rounding shifts every
    // row alike, and the subtraction vectorises (with the f64 round trip this loop was 30% of
    // the randomized solver's profile on MNIST, 15% after, with 8 passes).
    buf.clear();
    let count = rows.len();
    for i in rows {
        buf.extend(x.row(i).iter().zip(mean).map(|(&v, &m)| v - m));
    }
    count
}

fn block_range(block: usize, n: usize, block_rows: usize) -> std::ops::Range<usize> {
    block * block_rows..((block + 1) * block_rows).min(n)
}

/// Returns (components k × d row-major, variances, total variance).
fn covariance_solver(
    x: MatrixView<'_>,
    mean: &[f64],
    k: usize,
    denom: f64,
    ctx: &RunContext<'_>,
) -> Result<(Vec<f64>, Vec<f64>, f64)> {
    let n = x.n_rows();
    let d = x.dim();
    let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    let block_rows = COVARIANCE_BLOCK_ROWS;
    let n_blocks = n.div_ceil(block_rows);
    let per_group_bytes = (d * d * 12).max(1);
    let groups = (COVARIANCE_PARTIALS_BUDGET / per_group_bytes).clamp(1, MAX_GROUPS);
    let partials = grouped(n_blocks, groups, |blocks| {
        let mut acc = vec![0.0f64; d * d];
        let mut gram = vec![0.0f32; d * d];
        let mut buf = Vec::with_capacity(block_rows * d);
        for b in blocks {
            ctx.check_cancelled()?;
            let rows = centred_block(x, &mean32, block_range(b, n, block_rows), &mut buf);
            let block = MatRef::from_row_major_slice(&buf, rows, d);
            let dst = MatMut::from_column_major_slice_mut(&mut gram, d, d);
            matmul(
                dst,
                Accum::Replace,
                block.transpose(),
                block,
                1.0f32,
                Par::Seq,
            );
            for (a, &g) in acc.iter_mut().zip(&gram) {
                *a += g as f64;
            }
        }
        Ok(acc)
    })?;
    let mut cov = Mat::<f64>::zeros(d, d);
    for p in partials {
        for j in 0..d {
            for i in 0..d {
                cov[(i, j)] += p[j * d + i];
            }
        }
    }
    for j in 0..d {
        for i in 0..d {
            cov[(i, j)] /= denom;
        }
    }
    let total: f64 = (0..d).map(|i| cov[(i, i)]).sum();
    ctx.check_cancelled()?;
    let eig = cov
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| ComputeError::InvalidInput(format!("PCA eigendecomposition failed: {e:?}")))?;
    let u = eig.U();
    let s = eig.S().column_vector();
    let mut components = vec![0.0f64; k * d];
    let mut variances = vec![0.0f64; k];
    for c in 0..k {
        let col = d - 1 - c; // eigenvalues ascend
        variances[c] = s[col].max(0.0);
        for i in 0..d {
            components[c * d + i] = u[(i, col)];
        }
    }
    fix_signs(&mut components, d);
    Ok((components, variances, total))
}

/// Applies the covariance operator to the columns of `q` (d × l, column-major f32):
/// returns `Xcᵀ Xc q / denom` (d × l column-major f64) and, when `want_total` (which needs
/// [`Centring::CopyBlock`]), the centred sum of squares / denom (else 0).
#[allow(clippy::too_many_arguments)]
fn apply_covariance(
    x: MatrixView<'_>,
    mean: &[f64],
    q: &[f32],
    l: usize,
    denom: f64,
    centring: Centring,
    want_total: bool,
    ctx: &RunContext<'_>,
) -> Result<(Vec<f64>, f64)> {
    let n = x.n_rows();
    let d = x.dim();
    let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    let shift = mean_product(&mean32, q, l);
    let n_blocks = n.div_ceil(BLOCK_ROWS);
    let q_mat = MatRef::from_column_major_slice(q, d, l);
    let partials = grouped(n_blocks, MAX_GROUPS, |blocks| {
        let mut acc = vec![0.0f64; d * l];
        let mut y_sums = vec![0.0f64; l];
        let mut sum_sq = 0.0f64;
        let mut part = vec![0.0f32; d * l];
        let mut y = vec![0.0f32; BLOCK_ROWS * l];
        let mut buf = Vec::with_capacity(BLOCK_ROWS * d);
        for b in blocks {
            ctx.check_cancelled()?;
            let range = block_range(b, n, BLOCK_ROWS);
            let rows = range.len();
            let values = block_values(x, &mean32, range, centring, &mut buf);
            if want_total {
                sum_sq += values.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>();
            }
            let block = MatRef::from_row_major_slice(values, rows, d);
            let y = &mut y[..rows * l];
            matmul(
                MatMut::from_column_major_slice_mut(y, rows, l),
                Accum::Replace,
                block,
                q_mat,
                1.0f32,
                Par::Seq,
            );
            if centring == Centring::SubtractProduct {
                // y = X q − 1 (meanᵀ q) = Xc q; its column sums feed the correction below.
                for ((column, &c), sum) in y.chunks_mut(rows).zip(&shift).zip(&mut y_sums) {
                    column.iter_mut().for_each(|v| *v -= c);
                    *sum += column.iter().map(|&v| v as f64).sum::<f64>();
                }
            }
            matmul(
                MatMut::from_column_major_slice_mut(&mut part, d, l),
                Accum::Replace,
                block.transpose(),
                MatRef::from_column_major_slice(y, rows, l),
                1.0f32,
                Par::Seq,
            );
            for (a, &p) in acc.iter_mut().zip(&part) {
                *a += p as f64;
            }
        }
        Ok((acc, y_sums, sum_sq))
    })?;
    let mut z = vec![0.0f64; d * l];
    let mut y_sums = vec![0.0f64; l];
    let mut total = 0.0;
    for (p, sums, s) in partials {
        for (zi, pi) in z.iter_mut().zip(p) {
            *zi += pi;
        }
        for (t, v) in y_sums.iter_mut().zip(sums) {
            *t += v;
        }
        total += s;
    }
    // Xcᵀ y = Xᵀ y − mean · (1ᵀ y); 1ᵀ y is zero but for rounding.
    if centring == Centring::SubtractProduct {
        for (column, &sum) in z.chunks_mut(d).zip(&y_sums) {
            for (zi, &m) in column.iter_mut().zip(mean) {
                *zi -= m * sum;
            }
        }
    }
    for zi in &mut z {
        *zi /= denom;
    }
    Ok((z, total / denom))
}

/// `meanᵀ q` for each of the `l` columns of `q` (d × l, column-major), summed in f64.
fn mean_product(mean32: &[f32], q: &[f32], l: usize) -> Vec<f32> {
    let d = mean32.len();
    (0..l)
        .map(|c| {
            q[c * d..(c + 1) * d]
                .iter()
                .zip(mean32)
                .map(|(&a, &m)| a as f64 * m as f64)
                .sum::<f64>() as f32
        })
        .collect()
}

fn randomized_solver(
    x: MatrixView<'_>,
    mean: &[f64],
    k: usize,
    l: usize,
    denom: f64,
    seed: u64,
    ctx: &RunContext<'_>,
) -> Result<(Vec<f64>, Vec<f64>, f64)> {
    let d = x.dim();
    let mut rng = Rng::new(seed);
    let mut q: Vec<f64> = (0..d * l).map(|_| rng.normal()).collect();
    orthonormalize(&mut q, d, l, &mut rng);
    let mut previous: Option<Vec<f64>> = None;
    let mut previous_change: Option<f64> = None;
    let mut total = 0.0;
    for iter in 0..MAX_ITERS {
        ctx.check_cancelled()?;
        let q32: Vec<f32> = q.iter().map(|&v| v as f32).collect();
        // The first pass copies blocks centred, to measure the total variance that decides
        // how later passes centre.
        let pass_centring = if iter == 0 {
            Centring::CopyBlock
        } else {
            Centring::choose(mean, total)
        };
        let (mut z, this_total) =
            apply_covariance(x, mean, &q32, l, denom, pass_centring, iter == 0, ctx)?;
        if iter == 0 {
            total = this_total;
        }
        ctx.report("pca", iter as u64 + 1, MAX_ITERS as u64);
        // Rayleigh–Ritz: T = Qᵀ C Q, symmetrised.
        let mut t = Mat::<f64>::zeros(l, l);
        for a in 0..l {
            for b in 0..l {
                let qa = &q[a * d..(a + 1) * d];
                let zb = &z[b * d..(b + 1) * d];
                t[(a, b)] = qa.iter().zip(zb).map(|(u, v)| u * v).sum();
            }
        }
        for a in 0..l {
            for b in 0..a {
                let s = 0.5 * (t[(a, b)] + t[(b, a)]);
                t[(a, b)] = s;
                t[(b, a)] = s;
            }
        }
        let eig = t.self_adjoint_eigen(Side::Lower).map_err(|e| {
            ComputeError::InvalidInput(format!("PCA eigendecomposition failed: {e:?}"))
        })?;
        let w = eig.U();
        let s = eig.S().column_vector();
        let mut components = vec![0.0f64; k * d];
        let mut variances = vec![0.0f64; k];
        for c in 0..k {
            let col = l - 1 - c;
            variances[c] = s[col].max(0.0);
            let out = &mut components[c * d..(c + 1) * d];
            for a in 0..l {
                let coef = w[(a, col)];
                for (o, &qa) in out.iter_mut().zip(&q[a * d..(a + 1) * d]) {
                    *o += coef * qa;
                }
            }
        }
        let change = match &previous {
            Some(prev) => {
                // k − ‖V_prevᵀ V‖²_F: zero when the two k-dimensional subspaces coincide.
                let mut overlap = 0.0;
                for a in 0..k {
                    for b in 0..k {
                        let p: f64 = prev[a * d..(a + 1) * d]
                            .iter()
                            .zip(&components[b * d..(b + 1) * d])
                            .map(|(u, v)| u * v)
                            .sum();
                        overlap += p * p;
                    }
                }
                Some((k as f64 - overlap).max(0.0))
            }
            None => None,
        };
        let converged = iter + 1 >= MIN_ITERS
            && change.is_some_and(|c| {
                c < SUBSPACE_TOL
                    || previous_change.is_some_and(|p| remaining_error(c, p) < SUBSPACE_TOL)
            });
        if converged || iter + 1 == MAX_ITERS {
            fix_signs(&mut components, d);
            return Ok((components, variances, total));
        }
        previous = Some(components);
        previous_change = change;
        orthonormalize(&mut z, d, l, &mut rng);
        q = z;
    }
    Err(ComputeError::InvalidInput(
        "PCA randomized solver ran no iterations".into(),
    ))
}

/// Estimated squared angle between the current iterate and the converged subspace, from the
/// last two squared changes `change` and `previous_change` (see [`SUBSPACE_TOL`]). Subspace
/// iteration converges linearly, so the angles still to come shrink by the factor
/// σ = √(change / previous_change) each pass and sum to √change · σ / (1 − σ). Infinite while
/// the changes do not shrink.
fn remaining_error(change: f64, previous_change: f64) -> f64 {
    if previous_change <= 0.0 {
        return 0.0;
    }
    let ratio = (change / previous_change).sqrt();
    if ratio >= 0.9 {
        return f64::INFINITY;
    }
    change * (ratio / (1.0 - ratio)).powi(2)
}

/// Flips each component so its entry of largest magnitude is positive (first such entry on ties).
fn fix_signs(components: &mut [f64], d: usize) {
    for comp in components.chunks_mut(d.max(1)) {
        let mut best = 0usize;
        for (i, v) in comp.iter().enumerate() {
            if v.abs() > comp[best].abs() {
                best = i;
            }
        }
        if comp.get(best).is_some_and(|&v| v < 0.0) {
            for v in comp.iter_mut() {
                *v = -*v;
            }
        }
    }
}

/// `(x − mean) · componentsᵀ`, row-major n × k.
fn project(
    x: MatrixView<'_>,
    mean: &[f64],
    components: &[f32],
    k: usize,
    centring: Centring,
) -> Vec<f32> {
    let n = x.n_rows();
    let d = x.dim();
    let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    // components is k × d row-major, which is d × k column-major.
    let shift = mean_product(&mean32, components, k);
    let mut coords = vec![0.0f32; n * k];
    let comps = MatRef::from_row_major_slice(components, k, d);
    coords
        .par_chunks_mut(BLOCK_ROWS * k)
        .enumerate()
        .for_each_init(Vec::new, |buf, (b, out)| {
            let range = block_range(b, n, BLOCK_ROWS);
            let rows = range.len();
            let values = block_values(x, &mean32, range, centring, buf);
            matmul(
                MatMut::from_row_major_slice_mut(out, rows, k),
                Accum::Replace,
                MatRef::from_row_major_slice(values, rows, d),
                comps.transpose(),
                1.0f32,
                Par::Seq,
            );
            if centring == Centring::SubtractProduct {
                for row in out.chunks_mut(k) {
                    row.iter_mut().zip(&shift).for_each(|(v, &c)| *v -= c);
                }
            }
        });
    coords
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows = latent (rank r, decreasing scales) · random orthonormal-ish basis + small noise + offset.
    fn planted(n: usize, d: usize, r: usize, noise: f64, seed: u64) -> (Vec<f32>, Vec<f64>) {
        let mut rng = Rng::new(seed);
        let mut basis: Vec<f64> = (0..r * d).map(|_| rng.normal()).collect();
        orthonormalize(&mut basis, d, r, &mut rng);
        let mut data = vec![0.0f32; n * d];
        for i in 0..n {
            for c in 0..r {
                let z = rng.normal() * (10.0 / (c + 1) as f64);
                for j in 0..d {
                    data[i * d + j] += (z * basis[c * d + j]) as f32;
                }
            }
            for j in 0..d {
                data[i * d + j] += (noise * rng.normal() + 3.0) as f32;
            }
        }
        (data, basis)
    }

    fn check_recovers(solver: PcaSolver, n: usize, d: usize) {
        let r = 3;
        let (data, basis) = planted(n, d, r, 0.01, 5);
        let x = MatrixView::new(&data, n, d).expect("shape");
        let params = PcaParams {
            n_components: r,
            solver,
            ..Default::default()
        };
        let res = pca(x, &params, &RunContext::silent()).expect("pca");
        for c in 0..r {
            let comp = &res.components[c * d..(c + 1) * d];
            let b = &basis[c * d..(c + 1) * d];
            let cos: f64 = comp.iter().zip(b).map(|(&a, &b)| a as f64 * b).sum();
            assert!(cos.abs() > 0.999, "component {c} cos {cos}");
        }
        let ratio_sum: f32 = res.explained_variance_ratio.iter().sum();
        assert!(ratio_sum > 0.99, "ratio sum {ratio_sum}");
        assert!(
            res.explained_variance_ratio
                .windows(2)
                .all(|w| w[0] >= w[1])
        );
        // Coordinates of the first component have the planted variance (100).
        let var0: f64 =
            (0..n).map(|i| (res.row(i)[0] as f64).powi(2)).sum::<f64>() / (n - 1) as f64;
        assert!((var0 / res.explained_variance[0] as f64 - 1.0).abs() < 1e-3);
        assert!((var0 - 100.0).abs() < 15.0, "var0 {var0}");
    }

    #[test]
    fn covariance_recovers_planted_low_rank() {
        check_recovers(PcaSolver::Covariance, 2000, 40);
    }

    #[test]
    fn randomized_recovers_planted_low_rank() {
        check_recovers(PcaSolver::Randomized, 2000, 120);
    }

    #[test]
    fn solvers_agree_and_are_deterministic() {
        let (n, d) = (1500, 60);
        let (data, _) = planted(n, d, 5, 0.5, 9);
        let x = MatrixView::new(&data, n, d).expect("shape");
        let cov = pca(
            x,
            &PcaParams {
                n_components: 2,
                solver: PcaSolver::Covariance,
                ..Default::default()
            },
            &RunContext::silent(),
        )
        .expect("cov");
        let rnd = PcaParams {
            n_components: 2,
            solver: PcaSolver::Randomized,
            ..Default::default()
        };
        let a = pca(x, &rnd, &RunContext::silent()).expect("rnd");
        let b = pca(x, &rnd, &RunContext::silent()).expect("rnd");
        assert_eq!(a, b);
        for (u, v) in cov.coords.iter().zip(&a.coords) {
            assert!((u - v).abs() < 1e-2 * (1.0 + u.abs()), "{u} vs {v}");
        }
    }

    #[test]
    fn bad_values_are_named_and_huge_values_are_rescaled() {
        let (n, d) = (300, 400);
        let (mut data, _) = planted(n, d, 2, 0.1, 3);
        let params = PcaParams {
            solver: PcaSolver::Randomized,
            ..Default::default()
        };
        let reference = pca(
            MatrixView::new(&data, n, d).expect("shape"),
            &params,
            &RunContext::silent(),
        )
        .expect("pca");
        // Scaled by 1e12 the squares overflow f32; the answer must be the same layout, scaled.
        let huge: Vec<f32> = data.iter().map(|v| v * 1e12).collect();
        let scaled = pca(
            MatrixView::new(&huge, n, d).expect("shape"),
            &params,
            &RunContext::silent(),
        )
        .expect("huge values");
        for (a, b) in reference.coords.iter().zip(&scaled.coords) {
            assert!((a * 1e12 - b).abs() <= 1e-3 * 1e12, "{a} vs {b}");
        }
        data[123 * d + 45] = f32::INFINITY;
        let err = pca(
            MatrixView::new(&data, n, d).expect("shape"),
            &params,
            &RunContext::silent(),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("row 123, dimension 45"), "{err}");
    }

    #[test]
    fn remaining_error_extrapolates_linear_convergence() {
        // Angles shrinking tenfold a pass: √1e-4 · (0.1 / 0.9) is the sum still to come.
        let expected = 1e-4 * (0.1f64 / 0.9).powi(2);
        assert!((remaining_error(1e-4, 1e-2) - expected).abs() < 1e-12);
        // Changes that do not shrink (or grow) promise nothing.
        assert_eq!(remaining_error(1e-4, 1.1e-4), f64::INFINITY);
        assert_eq!(remaining_error(2e-4, 1e-4), f64::INFINITY);
    }

    #[test]
    fn a_large_common_offset_leaves_the_layout_unchanged() {
        let (n, d) = (400, 400);
        let (data, _) = planted(n, d, 2, 0.1, 5);
        let run = |values: &[f32]| {
            let x = MatrixView::new(values, n, d).expect("shape");
            let params = PcaParams {
                solver: PcaSolver::Randomized,
                ..Default::default()
            };
            pca(x, &params, &RunContext::silent()).expect("pca")
        };
        let base = run(&data);
        let total: f64 =
            base.explained_variance[0] as f64 / base.explained_variance_ratio[0] as f64;
        // planted() adds 3 to every value: that offset takes the no-copy path, 1e5 the copying one.
        assert_eq!(
            Centring::choose(&vec![3.0; d], total),
            Centring::SubtractProduct
        );
        assert_eq!(Centring::choose(&vec![1e5; d], total), Centring::CopyBlock);
        let shifted: Vec<f32> = data.iter().map(|v| v + 1e5).collect();
        let moved = run(&shifted);
        for c in 0..2 {
            let column = |r: &PcaResult| (0..n).map(|i| r.row(i)[c]).collect::<Vec<f32>>();
            let (a, b) = (column(&base), column(&moved));
            let range = a.iter().fold(f32::MIN, |m, &v| m.max(v))
                - a.iter().fold(f32::MAX, |m, &v| m.min(v));
            let worst = a
                .iter()
                .zip(&b)
                .map(|(u, v)| (u - v).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-3 * range, "component {c}: {worst} of {range}");
        }
    }

    #[test]
    fn whitening_gives_unit_variance_and_edge_cases_are_defined() {
        let (n, d) = (500, 8);
        let (data, _) = planted(n, d, 2, 0.1, 1);
        let x = MatrixView::new(&data, n, d).expect("shape");
        let res = pca(
            x,
            &PcaParams {
                whiten: true,
                ..Default::default()
            },
            &RunContext::silent(),
        )
        .expect("pca");
        for c in 0..2 {
            let var: f64 =
                (0..n).map(|i| (res.row(i)[c] as f64).powi(2)).sum::<f64>() / (n - 1) as f64;
            assert!((var - 1.0).abs() < 1e-3, "var {var}");
        }
        let one = [1.0f32, 2.0, 3.0];
        let x1 = MatrixView::new(&one, 1, 3).expect("shape");
        let r1 = pca(x1, &PcaParams::default(), &RunContext::silent()).expect("one row");
        assert!(r1.coords.iter().all(|&v| v == 0.0));
        assert!(r1.explained_variance_ratio.iter().all(|&v| v == 0.0));
        assert!(
            pca(
                x1,
                &PcaParams {
                    n_components: 4,
                    ..Default::default()
                },
                &RunContext::silent()
            )
            .is_err()
        );
    }

    #[test]
    fn matches_scikit_learn_reference() {
        use crate::metrics::tests::reference;
        let (n, d, x) = reference("pca_x");
        let x: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let (_, _, components) = reference("pca_components");
        let (_, _, ratio) = reference("pca_ratio");
        let (_, _, coords) = reference("pca_coords");
        let (_, _, white) = reference("pca_whiten_coords");
        let view = MatrixView::new(&x, n, d).expect("shape");
        for solver in [PcaSolver::Covariance, PcaSolver::Randomized] {
            for whiten in [false, true] {
                let params = PcaParams {
                    n_components: 3,
                    solver,
                    whiten,
                    ..Default::default()
                };
                let res = pca(view, &params, &RunContext::silent()).expect("pca");
                for (a, b) in res.components.iter().zip(&components) {
                    assert!((*a as f64 - b).abs() < 1e-3, "{solver:?}: {a} vs {b}");
                }
                for (a, b) in res.explained_variance_ratio.iter().zip(&ratio) {
                    assert!((*a as f64 - b).abs() < 1e-5, "{a} vs {b}");
                }
                let want = if whiten { &white } else { &coords };
                for (a, b) in res.coords.iter().zip(want.iter()) {
                    assert!((*a as f64 - b).abs() < 1e-3 * (1.0 + b.abs()), "{a} vs {b}");
                }
            }
        }
    }
}
