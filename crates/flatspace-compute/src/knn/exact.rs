//! Exact k nearest neighbours by tiled matrix products with a fused top-k, never the n × n
//! matrix.
//!
//! Rows are grouped into leaves of a random-projection tree (nearby rows together) and copied
//! leaf by leaf (centred, which keeps ‖x‖² + ‖y‖² − 2x·y accurate). For each query leaf, a
//! lower bound on the distance from every query to every other leaf comes from the leaf's
//! centroid and radius (triangle inequality); leaves are visited nearest bound first, each as
//! one GEMM tile (faer) whose entries are compared against each query's current k-th distance in
//! a vectorised scan, and the visit stops as soon as the next bound exceeds every query's k-th
//! distance. On clustered data most tiles are never computed; on structureless data it degrades
//! to the full blocked product. Final distances are recomputed directly from the rows.
//!
//! The inner-product "metric" has no triangle inequality: every tile is visited.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use super::kernels::squared_l2;
use super::rptree::rp_leaves;
use super::topk::{EMPTY, insert};
use crate::{MatrixView, Result, RunContext};

/// Rows per leaf (= GEMM tile side). Smaller leaves bound tighter; larger tiles run faster.
const LEAF: usize = 192;
/// Scan width of the vectorised threshold test.
const SCAN: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Squared euclidean distance.
    SquaredL2,
    /// −⟨x, y⟩.
    NegDot,
}

/// Offers one tile row to a query's top-k: a vectorised minimum over each run of `SCAN`
/// values decides whether the run needs the scalar insertion at all.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn scan_row_body(
    l2: bool,
    row: &[f32],
    rnorms: &[f32],
    nq: f32,
    dq: &mut [f32],
    iq: &mut [u32],
    ids: &[u32],
    self_slot: Option<usize>,
) {
    let k = dq.len();
    let r = row.len().min(rnorms.len()).min(ids.len());
    let value = |j: usize| {
        if l2 {
            nq + rnorms[j] - 2.0 * row[j]
        } else {
            -row[j]
        }
    };
    let mut start = 0;
    while start < r {
        let end = (start + SCAN).min(r);
        let kth = dq[k - 1];
        let mut lowest = f32::INFINITY;
        for j in start..end {
            lowest = lowest.min(value(j));
        }
        if lowest <= kth {
            for (j, &id) in ids.iter().enumerate().take(end).skip(start) {
                if Some(j) != self_slot {
                    let v = if l2 { value(j).max(0.0) } else { value(j) };
                    insert(dq, iq, v, id);
                }
            }
        }
        start = end;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn scan_row_avx2(
    l2: bool,
    row: &[f32],
    rnorms: &[f32],
    nq: f32,
    dq: &mut [f32],
    iq: &mut [u32],
    ids: &[u32],
    self_slot: Option<usize>,
) {
    scan_row_body(l2, row, rnorms, nq, dq, iq, ids, self_slot)
}

#[allow(clippy::too_many_arguments)]
fn scan_row(
    l2: bool,
    row: &[f32],
    rnorms: &[f32],
    nq: f32,
    dq: &mut [f32],
    iq: &mut [u32],
    ids: &[u32],
    self_slot: Option<usize>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        static AVX2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if *AVX2.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
        {
            // SAFETY: the features were detected at run time.
            return unsafe { scan_row_avx2(l2, row, rnorms, nq, dq, iq, ids, self_slot) };
        }
    }
    scan_row_body(l2, row, rnorms, nq, dq, iq, ids, self_slot)
}

/// Per-row neighbours (original row ids) and their values (squared L2 or −dot), sorted.
pub(crate) fn exact(
    x: MatrixView<'_>,
    k: usize,
    kind: Kind,
    seed: u64,
    ctx: &RunContext<'_>,
) -> Result<(Vec<u32>, Vec<f32>)> {
    let n = x.n_rows();
    let d = x.dim();
    let leaves = rp_leaves(x, LEAF, seed);
    let n_leaves = leaves.n_leaves();

    // Leaf-ordered, centred copy (centring is only valid for the translation-invariant L2).
    let mean: Vec<f64> = if kind == Kind::SquaredL2 {
        let mut m = vec![0.0f64; d];
        for i in 0..n {
            for (s, &v) in m.iter_mut().zip(x.row(i)) {
                *s += v as f64;
            }
        }
        m.iter().map(|s| s / n as f64).collect()
    } else {
        vec![0.0; d]
    };
    let mut xs = vec![0.0f32; n * d];
    xs.par_chunks_mut(d.max(1))
        .zip(leaves.order.par_iter())
        .for_each(|(dst, &src)| {
            for ((o, &v), &m) in dst.iter_mut().zip(x.row(src as usize)).zip(&mean) {
                *o = (v as f64 - m) as f32;
            }
        });
    let norms: Vec<f32> = xs
        .chunks(d.max(1))
        .map(|r| r.iter().map(|v| v * v).sum())
        .collect();
    let max_norm = norms.iter().cloned().fold(0.0f32, f32::max);

    // Leaf centroids and radii.
    let mut centroids = vec![0.0f32; n_leaves * d];
    let mut radii = vec![0.0f32; n_leaves];
    centroids
        .par_chunks_mut(d.max(1))
        .zip(radii.par_iter_mut())
        .enumerate()
        .for_each(|(l, (c, r))| {
            let range = leaves.bounds[l]..leaves.bounds[l + 1];
            let mut acc = vec![0.0f64; d];
            for i in range.clone() {
                for (a, &v) in acc.iter_mut().zip(&xs[i * d..(i + 1) * d]) {
                    *a += v as f64;
                }
            }
            for (ci, a) in c.iter_mut().zip(&acc) {
                *ci = (a / range.len() as f64) as f32;
            }
            *r = range
                .map(|i| squared_l2(&xs[i * d..(i + 1) * d], c).sqrt())
                .fold(0.0f32, f32::max);
        });
    let cnorms: Vec<f32> = centroids
        .chunks(d.max(1))
        .map(|r| r.iter().map(|v| v * v).sum())
        .collect();
    let xs_mat = MatRef::from_row_major_slice(&xs, n, d);
    let cent_mat = MatRef::from_row_major_slice(&centroids, n_leaves, d);
    // Slack for rounding in the expanded distances before a bound may prune.
    let abs_slack = 1e-5 * max_norm;
    let prune = kind == Kind::SquaredL2;

    let done = std::sync::atomic::AtomicU64::new(0);
    let per_leaf: Vec<(Vec<u32>, Vec<f32>)> = (0..n_leaves)
        .into_par_iter()
        .map(|ql| -> Result<(Vec<u32>, Vec<f32>)> {
            ctx.check_cancelled()?;
            let q0 = leaves.bounds[ql];
            let b = leaves.bounds[ql + 1] - q0;
            let q_mat = xs_mat.subrows(q0, b);
            let mut best_d = vec![f32::INFINITY; b * k];
            let mut best_i = vec![EMPTY; b * k];
            let mut thr = vec![f32::INFINITY; b];

            // Lower bound (squared) from each query to each leaf; leaves sorted by the block's
            // smallest bound.
            let mut lb = vec![0.0f32; b * n_leaves];
            let mut visit: Vec<(f32, u32)> = Vec::with_capacity(n_leaves);
            if kind == Kind::SquaredL2 {
                matmul(
                    MatMut::from_row_major_slice_mut(&mut lb, b, n_leaves),
                    Accum::Replace,
                    q_mat,
                    cent_mat.transpose(),
                    1.0f32,
                    Par::Seq,
                );
                let mut min_lb = vec![f32::INFINITY; n_leaves];
                for q in 0..b {
                    let nq = norms[q0 + q];
                    let row = &mut lb[q * n_leaves..(q + 1) * n_leaves];
                    for (l, v) in row.iter_mut().enumerate() {
                        let dist = (nq + cnorms[l] - 2.0 * *v).max(0.0).sqrt();
                        let bound = (dist - radii[l]).max(0.0);
                        *v = bound * bound;
                        min_lb[l] = min_lb[l].min(*v);
                    }
                }
                min_lb[ql] = 0.0;
                visit.extend(min_lb.iter().enumerate().map(|(l, &v)| (v, l as u32)));
                visit.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            } else {
                visit.extend((0..n_leaves as u32).map(|l| (0.0, l)));
                lb.fill(0.0);
            }

            let mut tile = vec![0.0f32; b * LEAF];
            for &(bound, rl) in &visit {
                let rl = rl as usize;
                let max_thr = thr.iter().cloned().fold(0.0f32, f32::max);
                if prune && bound > max_thr + abs_slack + 1e-3 * max_thr {
                    break; // sorted: every later leaf is at least as far
                }
                let r0 = leaves.bounds[rl];
                let r = leaves.bounds[rl + 1] - r0;
                let tile = &mut tile[..b * r];
                matmul(
                    MatMut::from_row_major_slice_mut(tile, b, r),
                    Accum::Replace,
                    q_mat,
                    xs_mat.subrows(r0, r).transpose(),
                    1.0f32,
                    Par::Seq,
                );
                let rnorms = &norms[r0..r0 + r];
                for q in 0..b {
                    let t = thr[q];
                    let lbq = lb[q * n_leaves + rl];
                    if prune && lbq > t + abs_slack + 1e-3 * t {
                        continue;
                    }
                    let nq = norms[q0 + q];
                    let dq = &mut best_d[q * k..(q + 1) * k];
                    let iq = &mut best_i[q * k..(q + 1) * k];
                    let row = &tile[q * r..(q + 1) * r];
                    let self_slot = (q0 + q).checked_sub(r0).filter(|&s| s < r);
                    scan_row(
                        kind == Kind::SquaredL2,
                        row,
                        rnorms,
                        nq,
                        dq,
                        iq,
                        &leaves.order[r0..r0 + r],
                        self_slot,
                    );
                    thr[q] = dq[k - 1];
                }
            }
            // Exact values from the original rows, re-sorted.
            for q in 0..b {
                let orig_q = leaves.order[q0 + q] as usize;
                let mut pairs: Vec<(f32, u32)> = best_i[q * k..(q + 1) * k]
                    .iter()
                    .map(|&j| {
                        let v = match kind {
                            Kind::SquaredL2 => squared_l2(x.row(orig_q), x.row(j as usize)),
                            Kind::NegDot => -super::kernels::dot(x.row(orig_q), x.row(j as usize)),
                        };
                        (v, j)
                    })
                    .collect();
                pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                for (s, (v, j)) in pairs.into_iter().enumerate() {
                    best_d[q * k + s] = v;
                    best_i[q * k + s] = j;
                }
            }
            let finished = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            ctx.report("knn:exact", finished, n_leaves as u64);
            Ok((best_i, best_d))
        })
        .collect::<Result<_>>()?;

    let mut indices = vec![0u32; n * k];
    let mut values = vec![0.0f32; n * k];
    for (ql, (bi, bd)) in per_leaf.into_iter().enumerate() {
        for (q, &orig) in leaves.leaf(ql).iter().enumerate() {
            let o = orig as usize * k;
            indices[o..o + k].copy_from_slice(&bi[q * k..(q + 1) * k]);
            values[o..o + k].copy_from_slice(&bd[q * k..(q + 1) * k]);
        }
    }
    Ok((indices, values))
}
