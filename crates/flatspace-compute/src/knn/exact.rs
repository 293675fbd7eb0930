//! Exact k nearest neighbours by tiled matrix products with a fused top-k, never the n × n
//! matrix.
//!
//! Rows are grouped into leaves of a random-projection tree (nearby rows together) and copied
//! leaf by leaf (centred, which keeps ‖x‖² + ‖y‖² − 2x·y accurate). Each leaf is first searched
//! against itself; those lists bound every row's k-th value from the start. Then each unordered
//! pair of leaves is computed once, its entries offered to the rows of both leaves, so the
//! products cost half of a row-by-row search. A vectorised scan compares each entry against
//! both rows' gates (k-th value plus the worst rounding of an entry) and only the rare winners
//! go on: their exact value is computed from the two rows and inserted. Lists hold exact values
//! only, so they do not depend on which product, thread or order offered a pair.
//!
//! Before a pair is computed it is planned from lower bounds on its distances: skipped when the
//! leaves' balls (centroid, radius) are out of every row's reach; otherwise every row is
//! projected on the line through the two centroids, and only rows whose projected gap to the
//! other leaf is within their own reach take part ("thin": those rows against the other leaf).
//! Neighbouring clusters overlap as balls in high dimensions but separate along that line. On
//! structureless data every pair is taken whole, the full (halved) blocked product.
//!
//! Worker threads take query leaves from a shared counter, heaviest first, and keep their own
//! lists for every row; the lists are merged at the end by (value, row id), so the result does
//! not depend on the thread count or schedule. Final values are recomputed from the caller's
//! rows.
//!
//! The inner-product "metric" has no triangle inequality: every pair is taken whole.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use super::kernels::{dot, squared_l2};
use super::rptree::rp_leaves;
use super::topk::{EMPTY, insert};
use crate::{MatrixView, Result, RunContext};

/// Rows per leaf. Smaller leaves bound tighter; larger tiles run faster.
const LEAF: usize = 192;
/// Reference leaves per GEMM call: wider products amortise faer's packing of the query block.
const GROUP: usize = 2;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Squared euclidean distance.
    SquaredL2,
    /// −⟨x, y⟩.
    NegDot,
}

/// One thread's neighbour lists for every row (in leaf order): sorted exact values and row ids,
/// and each row's gate, kept contiguous for the vectorised threshold test: its current k-th
/// value plus the largest rounding error of a tile entry, so no entry that may belong in the
/// list is turned away by rounding.
struct Lists {
    k: usize,
    values: Vec<f32>,
    ids: Vec<u32>,
    kth: Vec<f32>,
}

impl Lists {
    fn new(n: usize, k: usize) -> Self {
        Self::with_thresholds(k, vec![f32::INFINITY; n])
    }

    /// Empty lists whose rows only accept tile entries up to `kth` (a gate known to hold for
    /// each row's final k-th value).
    fn with_thresholds(k: usize, kth: Vec<f32>) -> Self {
        let n = kth.len();
        Lists {
            k,
            values: vec![f32::INFINITY; n * k],
            ids: vec![EMPTY; n * k],
            kth,
        }
    }
}

/// How lists are kept: the metric, the row length, and the gate's margin over a k-th value.
#[derive(Clone, Copy)]
struct Keeping {
    kind: Kind,
    d: usize,
    slack: f32,
}

impl Keeping {
    /// The exact value of a pair, from the rows themselves: the same bits whichever tile,
    /// thread or order offers it, so the lists do not depend on the schedule.
    #[inline(always)]
    fn exact(&self, a: &[f32], b: &[f32]) -> f32 {
        match self.kind {
            Kind::SquaredL2 => squared_l2(a, b),
            Kind::NegDot => -dot(a, b),
        }
    }
}

/// The rows of one side of a tile: their slice of a thread's lists, their row ids, the
/// per-row term of a tile entry (‖x‖² for squared L2, 0 for −dot) and the rows themselves.
struct Side<'a> {
    values: &'a mut [f32],
    ids: &'a mut [u32],
    kth: &'a mut [f32],
    row_ids: &'a [u32],
    lift: &'a [f32],
    vectors: &'a [f32],
}

impl Side<'_> {
    #[inline(always)]
    fn vector(&self, row: usize, d: usize) -> &[f32] {
        &self.vectors[row * d..(row + 1) * d]
    }

    #[inline(always)]
    fn offer(&mut self, row: usize, value: f32, id: u32, keep: Keeping) {
        let k = self.values.len() / self.kth.len().max(1);
        let (vs, is) = (
            &mut self.values[row * k..(row + 1) * k],
            &mut self.ids[row * k..(row + 1) * k],
        );
        if insert(vs, is, value, id) {
            self.kth[row] = self.kth[row].min(vs[k - 1] + keep.slack);
        }
    }
}

/// Value of a tile entry: (lift_q + lift_r) − scale · product, one rounding after an exact
/// scaling (scale is 1 or 2), the same in the scalar and the vector code.
#[inline(always)]
fn entry_value(lift_q: f32, lift_r: f32, scale: f32, product: f32) -> f32 {
    (lift_q + lift_r) - scale * product
}

/// Offers the pair behind tile entry (q, j), at its exact value, to row q if the entry passes
/// q's gate and, off the diagonal, to row j if it passes j's.
#[inline(always)]
fn offer_entry(
    qs: &mut Side<'_>,
    rs: &mut Option<Side<'_>>,
    q: usize,
    j: usize,
    value: f32,
    keep: Keeping,
) {
    let d = keep.d;
    match rs {
        Some(rs) => {
            let to_q = value <= qs.kth[q];
            let to_r = value <= rs.kth[j];
            if to_q || to_r {
                let exact = keep.exact(qs.vector(q, d), rs.vector(j, d));
                if to_q {
                    let id = rs.row_ids[j];
                    qs.offer(q, exact, id, keep);
                }
                if to_r {
                    let id = qs.row_ids[q];
                    rs.offer(j, exact, id, keep);
                }
            }
        }
        // Diagonal tile: row j is a row of the same leaf and gets its own row of the tile.
        None => {
            if j != q && value <= qs.kth[q] {
                let exact = keep.exact(qs.vector(q, d), qs.vector(j, d));
                let id = qs.row_ids[j];
                qs.offer(q, exact, id, keep);
            }
        }
    }
}

/// Offers the entries `columns` of tile row `q` that pass a gate, one at a time: the portable
/// scan, and the vector scan's last few columns.
#[inline(always)]
fn scan_row_entries(
    qs: &mut Side<'_>,
    rs: &mut Option<Side<'_>>,
    q: usize,
    row: &[f32],
    columns: Range<usize>,
    scale: f32,
    keep: Keeping,
) {
    let lq = qs.lift[q];
    for (j, &product) in row.iter().enumerate().take(columns.end).skip(columns.start) {
        let (lr, kth_r) = match rs {
            Some(s) => (s.lift[j], s.kth[j]),
            None => (qs.lift[j], f32::NEG_INFINITY),
        };
        let value = entry_value(lq, lr, scale, product);
        if value <= qs.kth[q] || value <= kth_r {
            offer_entry(qs, rs, q, j, value, keep);
        }
    }
}

/// Scans a b × r tile of products; `rs` is `None` on the diagonal tile (rows against
/// themselves). Portable body: one entry at a time.
#[allow(clippy::too_many_arguments)]
fn scan_tile_portable(
    tile: &[f32],
    stride: usize,
    r: usize,
    scale: f32,
    keep: Keeping,
    qs: &mut Side<'_>,
    rs: &mut Option<Side<'_>>,
) {
    for q in 0..qs.row_ids.len() {
        let row = &tile[q * stride..q * stride + r];
        scan_row_entries(qs, rs, q, row, 0..r, scale, keep);
    }
}

/// The same scan eight entries at a time: a compare against both rows' k-th values picks the
/// candidates, which then take the portable path's exact steps in the same order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
fn scan_tile_avx2(
    tile: &[f32],
    stride: usize,
    r: usize,
    scale: f32,
    keep: Keeping,
    qs: &mut Side<'_>,
    rs: &mut Option<Side<'_>>,
) {
    use std::arch::x86_64::*;
    let b = qs.row_ids.len();
    let full = r / 8 * 8;
    let vscale = _mm256_set1_ps(scale);
    // The reference rows' terms and k-th values; on the diagonal, the query rows' own terms
    // and no second side (−∞ never passes). Only the diagonal (once per leaf) allocates: thin
    // pairs call this once per row.
    let never = if rs.is_none() {
        vec![f32::NEG_INFINITY; r]
    } else {
        Vec::new()
    };
    for q in 0..b {
        let lq = qs.lift[q];
        let vlq = _mm256_set1_ps(lq);
        let row = &tile[q * stride..q * stride + r];
        let mut kq = _mm256_set1_ps(qs.kth[q]);
        let mut j = 0;
        while j < full {
            let (lift_r, kth_r): (&[f32], &[f32]) = match rs {
                Some(s) => (&s.lift[..r], &s.kth[..r]),
                None => (&qs.lift[..r], &never),
            };
            // SAFETY: j + 8 <= full <= r, the length of `row`, `lift_r` and `kth_r`; AVX2 is
            // enabled on this function.
            let mask = unsafe {
                let t = _mm256_loadu_ps(row.as_ptr().add(j));
                let s = _mm256_add_ps(vlq, _mm256_loadu_ps(lift_r.as_ptr().add(j)));
                let v = _mm256_sub_ps(s, _mm256_mul_ps(vscale, t));
                let m = _mm256_or_ps(
                    _mm256_cmp_ps::<_CMP_LE_OQ>(v, kq),
                    _mm256_cmp_ps::<_CMP_LE_OQ>(v, _mm256_loadu_ps(kth_r.as_ptr().add(j))),
                );
                _mm256_movemask_ps(m)
            };
            if mask != 0 {
                offer_lanes(qs, rs, q, j, mask as u32, row, scale, keep);
                kq = _mm256_set1_ps(qs.kth[q]);
            }
            j += 8;
        }
        scan_row_entries(qs, rs, q, row, full..r, scale, keep);
    }
}

/// The candidate lanes of one vector of a tile row, in order (kept out of the hot loop).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn offer_lanes(
    qs: &mut Side<'_>,
    rs: &mut Option<Side<'_>>,
    q: usize,
    j: usize,
    mut bits: u32,
    row: &[f32],
    scale: f32,
    keep: Keeping,
) {
    let lq = qs.lift[q];
    while bits != 0 {
        let jj = j + bits.trailing_zeros() as usize;
        bits &= bits - 1;
        let lr = match rs {
            Some(s) => s.lift[jj],
            None => qs.lift[jj],
        };
        let value = entry_value(lq, lr, scale, row[jj]);
        offer_entry(qs, rs, q, jj, value, keep);
    }
}

#[allow(clippy::too_many_arguments)]
fn scan_tile(
    tile: &[f32],
    stride: usize,
    r: usize,
    scale: f32,
    keep: Keeping,
    qs: &mut Side<'_>,
    rs: &mut Option<Side<'_>>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        static AVX2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if *AVX2.get_or_init(|| is_x86_feature_detected!("avx2")) {
            // SAFETY: the feature was detected at run time.
            return unsafe { scan_tile_avx2(tile, stride, r, scale, keep, qs, rs) };
        }
    }
    scan_tile_portable(tile, stride, r, scale, keep, qs, rs)
}

/// Per-row neighbours (original row ids) and their values (squared L2 or −dot), sorted.
pub(crate) fn exact(
    x: MatrixView<'_>,
    k: usize,
    kind: Kind,
    seed: u64,
    ctx: &RunContext<'_>,
) -> Result<(Vec<u32>, Vec<f32>)> {
    exact_counting_plans(x, k, kind, seed, ctx).map(|(indices, values, _)| (indices, values))
}

/// How many leaf pairs were skipped, taken thin and taken whole.
type PlanCounts = [u64; 3];

/// [`exact`], also counting the plans of the leaf pairs (for tests).
fn exact_counting_plans(
    x: MatrixView<'_>,
    k: usize,
    kind: Kind,
    seed: u64,
    ctx: &RunContext<'_>,
) -> Result<(Vec<u32>, Vec<f32>, PlanCounts)> {
    let n = x.n_rows();
    let d = x.dim();
    let leaves = rp_leaves(x, LEAF, seed);
    let n_leaves = leaves.n_leaves();
    let l2 = kind == Kind::SquaredL2;

    // Leaf-ordered, centred copy (centring is only valid for the translation-invariant L2).
    let mean: Vec<f64> = if l2 {
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
    // Per-row term of an entry's value, and the product's factor.
    let lift: Vec<f32> = if l2 { norms } else { vec![0.0; n] };
    let scale = if l2 { 2.0f32 } else { 1.0 };

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
    let xs_mat = MatRef::from_row_major_slice(&xs, n, d);
    // The largest rounding error of a tile entry against the exact value (the entries are
    // sums of d products of values up to max_norm in size), with a wide margin.
    let keep = Keeping {
        kind,
        d,
        slack: 4.0 * (d as f32 + 4.0) * f32::EPSILON * max_norm.max(f32::MIN_POSITIVE),
    };
    let leaf_rows = |l: usize| leaves.bounds[l]..leaves.bounds[l + 1];
    let rows = Rows {
        order: &leaves.order,
        lift: &lift,
        xs: &xs,
        d,
    };

    // Each leaf against itself first: its rows' lists among their leaf-mates, whose gates then
    // hold for every row's final k-th value from the start of the main pass.
    let mut own = Lists::new(n, k);
    {
        let mut rest: (&mut [f32], &mut [u32], &mut [f32]) =
            (&mut own.values, &mut own.ids, &mut own.kth);
        let mut parts = Vec::with_capacity(n_leaves);
        for l in 0..n_leaves {
            let b = leaf_rows(l).len();
            let (v, v_rest) = std::mem::take(&mut rest.0).split_at_mut(b * k);
            let (i, i_rest) = std::mem::take(&mut rest.1).split_at_mut(b * k);
            let (t, t_rest) = std::mem::take(&mut rest.2).split_at_mut(b);
            rest = (v_rest, i_rest, t_rest);
            parts.push((l, v, i, t));
        }
        parts.into_par_iter().for_each(|(l, values, ids, kth)| {
            let rows_of_leaf = leaf_rows(l);
            let b = rows_of_leaf.len();
            let q_mat = xs_mat.subrows(rows_of_leaf.start, b);
            let mut tile = vec![0.0f32; b * b];
            matmul(
                MatMut::from_row_major_slice_mut(&mut tile, b, b),
                Accum::Replace,
                q_mat,
                q_mat.transpose(),
                1.0f32,
                Par::Seq,
            );
            let mut qs = rows.side(values, ids, kth, rows_of_leaf);
            scan_tile(&tile, b, b, scale, keep, &mut qs, &mut None);
        });
    }

    // Work is counted in leaf pairs; query leaf q owns the pairs (q, r > q).
    let total_pairs = (n_leaves * n_leaves.saturating_sub(1) / 2) as u64;
    let pairs_done = AtomicU64::new(0);
    let plans = [const { AtomicU64::new(0) }; 3];
    let next_leaf = AtomicUsize::new(0);
    let workers = rayon::current_num_threads().max(1);
    let per_worker: Vec<Option<Lists>> = (0..workers)
        .into_par_iter()
        .map(|_| -> Result<Option<Lists>> {
            let mut lists: Option<Lists> = None;
            let mut work = Workspace::new(d);
            loop {
                let ql = next_leaf.fetch_add(1, Ordering::Relaxed);
                if ql >= n_leaves {
                    return Ok(lists);
                }
                ctx.check_cancelled()?;
                let lists = lists.get_or_insert_with(|| Lists::with_thresholds(k, own.kth.clone()));
                let qr = leaf_rows(ql);
                let q_mat = xs_mat.subrows(qr.start, qr.len());
                // Consecutive leaves needing their whole tile, GROUP at most, are one product.
                let plan = |rl: usize, kth: &[f32], work: &mut Workspace| {
                    let pair = Pair {
                        a: ql,
                        b: rl,
                        rows_a: leaf_rows(ql),
                        rows_b: leaf_rows(rl),
                    };
                    let plan = plan_pair(&xs, d, &centroids, &radii, l2, &pair, kth, work);
                    plans[plan as usize].fetch_add(1, Ordering::Relaxed);
                    plan
                };
                let mut rl = ql + 1;
                let mut pending: Option<(usize, Plan)> = None;
                loop {
                    let (leaf, first) = match pending.take() {
                        Some(p) => p,
                        None if rl < n_leaves => {
                            rl += 1;
                            (rl - 1, plan(rl - 1, &lists.kth, &mut work))
                        }
                        None => break,
                    };
                    match first {
                        Plan::Skip => {}
                        Plan::Thin => thin_pair(
                            lists,
                            &rows,
                            xs_mat,
                            (qr.clone(), leaf_rows(leaf)),
                            scale,
                            keep,
                            &mut work,
                        ),
                        Plan::Full => {
                            let mut end = leaf + 1;
                            while end < n_leaves && end - leaf < GROUP {
                                let next = plan(end, &lists.kth, &mut work);
                                rl = end + 1;
                                if next != Plan::Full {
                                    pending = Some((end, next));
                                    break;
                                }
                                end += 1;
                            }
                            let r0 = leaves.bounds[leaf];
                            let r_all = leaves.bounds[end] - r0;
                            let tile = &mut work.tile[..qr.len() * r_all];
                            matmul(
                                MatMut::from_row_major_slice_mut(tile, qr.len(), r_all),
                                Accum::Replace,
                                q_mat,
                                xs_mat.subrows(r0, r_all).transpose(),
                                1.0f32,
                                Par::Seq,
                            );
                            for g in leaf..end {
                                let g0 = leaves.bounds[g];
                                // The leaf's columns of the tile: rows of its values, r_all apart.
                                scan_pair(
                                    lists,
                                    &rows,
                                    (&work.tile[g0 - r0..], r_all),
                                    qr.clone(),
                                    leaf_rows(g),
                                    scale,
                                    keep,
                                );
                            }
                        }
                    }
                }
                let owned = (n_leaves - 1 - ql) as u64;
                let finished = pairs_done.fetch_add(owned, Ordering::Relaxed) + owned;
                ctx.report("knn:exact", finished, total_pairs);
            }
        })
        .collect::<Result<_>>()?;
    let per_worker: Vec<Lists> = std::iter::once(own)
        .chain(per_worker.into_iter().flatten())
        .collect();

    // Merge the workers' lists by (value, id), then exact values from the original rows.
    let mut indices = vec![0u32; n * k];
    let mut values = vec![0.0f32; n * k];
    let position_of: Vec<usize> = {
        let mut p = vec![0usize; n];
        for (pos, &orig) in leaves.order.iter().enumerate() {
            p[orig as usize] = pos;
        }
        p
    };
    indices
        .par_chunks_mut(k)
        .zip(values.par_chunks_mut(k))
        .enumerate()
        .for_each(|(orig_q, (io, vo))| {
            let pos = position_of[orig_q];
            let mut pairs: Vec<(f32, u32)> = Vec::with_capacity(k * per_worker.len());
            for lists in &per_worker {
                let range = pos * k..(pos + 1) * k;
                pairs.extend(
                    lists.values[range.clone()]
                        .iter()
                        .zip(&lists.ids[range])
                        .filter(|&(_, &j)| j != EMPTY)
                        .map(|(&v, &j)| (v, j)),
                );
            }
            pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            pairs.truncate(k);
            let mut exact_pairs: Vec<(f32, u32)> = pairs
                .iter()
                .map(|&(_, j)| {
                    let v = match kind {
                        Kind::SquaredL2 => squared_l2(x.row(orig_q), x.row(j as usize)),
                        Kind::NegDot => -dot(x.row(orig_q), x.row(j as usize)),
                    };
                    (v, j)
                })
                .collect();
            exact_pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (s, (v, j)) in exact_pairs.into_iter().enumerate() {
                vo[s] = v;
                io[s] = j;
            }
        });
    let plans = plans.map(|c| c.load(Ordering::Relaxed));
    Ok((indices, values, plans))
}

/// The leaf-ordered rows every side is cut from.
struct Rows<'a> {
    order: &'a [u32],
    lift: &'a [f32],
    xs: &'a [f32],
    d: usize,
}

impl<'a> Rows<'a> {
    fn side<'s>(
        &self,
        values: &'s mut [f32],
        ids: &'s mut [u32],
        kth: &'s mut [f32],
        rows: Range<usize>,
    ) -> Side<'s>
    where
        'a: 's,
    {
        Side {
            values,
            ids,
            kth,
            row_ids: &self.order[rows.clone()],
            lift: &self.lift[rows.clone()],
            vectors: &self.xs[rows.start * self.d..rows.end * self.d],
        }
    }
}

/// Scans the tile of query rows `qr` against reference rows `rr` (leaf-order positions, `qr`
/// first) and offers its entries to both sides of one thread's lists.
fn scan_pair(
    lists: &mut Lists,
    rows: &Rows<'_>,
    (tile, stride): (&[f32], usize),
    qr: Range<usize>,
    rr: Range<usize>,
    scale: f32,
    keep: Keeping,
) {
    let k = lists.k;
    let r = rr.len();
    debug_assert!(qr.end <= rr.start);
    let (v_lo, v_hi) = lists.values.split_at_mut(rr.start * k);
    let (i_lo, i_hi) = lists.ids.split_at_mut(rr.start * k);
    let (t_lo, t_hi) = lists.kth.split_at_mut(rr.start);
    let mut qs = rows.side(
        &mut v_lo[qr.start * k..qr.end * k],
        &mut i_lo[qr.start * k..qr.end * k],
        &mut t_lo[qr.clone()],
        qr,
    );
    let mut rs = Some(rows.side(&mut v_hi[..r * k], &mut i_hi[..r * k], &mut t_hi[..r], rr));
    scan_tile(tile, stride, r, scale, keep, &mut qs, &mut rs);
}

/// What to do with a pair of leaves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(usize)]
enum Plan {
    /// No row of either leaf can have a neighbour in the other.
    Skip = 0,
    /// Only the rows listed in the workspace need the other leaf: products of those rows alone.
    Thin = 1,
    /// The whole tile.
    Full = 2,
}

/// Two leaves and their rows (leaf-order positions).
struct Pair {
    a: usize,
    b: usize,
    rows_a: Range<usize>,
    rows_b: Range<usize>,
}

/// One worker's buffers.
struct Workspace {
    tile: Vec<f32>,
    direction: Vec<f32>,
    projected_a: Vec<f32>,
    projected_b: Vec<f32>,
    /// Rows of each leaf that may have a neighbour in the other (set by a `Thin` plan).
    need_a: Vec<usize>,
    need_b: Vec<usize>,
    gathered: Vec<f32>,
    /// Gates that turn everything away: the side of a thin product that is not offered to.
    closed: Vec<f32>,
}

impl Workspace {
    fn new(d: usize) -> Self {
        Workspace {
            tile: vec![0.0; LEAF * LEAF * GROUP],
            direction: Vec::with_capacity(d),
            projected_a: Vec::with_capacity(LEAF),
            projected_b: Vec::with_capacity(LEAF),
            need_a: Vec::with_capacity(LEAF),
            need_b: Vec::with_capacity(LEAF),
            gathered: vec![0.0; LEAF * d],
            closed: vec![f32::NEG_INFINITY; LEAF],
        }
    }
}

/// Plans a pair of leaves from lower bounds on the distances between their rows. For squared
/// L2: if the balls (centroid, radius) of the two leaves are further apart than any row's gate
/// allows, skip. Otherwise project every row on the line through the two centroids: a row of
/// `a` can only have a neighbour in `b` if the gap between its projection and the nearest
/// projection of `b` is within its reach, and the reverse. Neighbouring clusters overlap as
/// balls in high dimensions but separate along that line, so most of their rows drop out.
#[allow(clippy::too_many_arguments)]
fn plan_pair(
    xs: &[f32],
    d: usize,
    centroids: &[f32],
    radii: &[f32],
    l2: bool,
    pair: &Pair,
    kth: &[f32],
    work: &mut Workspace,
) -> Plan {
    if !l2 {
        return Plan::Full;
    }
    // A gate is a squared distance; a relative margin covers the rounding of the bounds.
    let reach = |gate: f32| (gate + 1e-3 * gate).sqrt();
    let gates = kth[pair.rows_a.clone()]
        .iter()
        .chain(&kth[pair.rows_b.clone()]);
    let (lowest, highest) = gates.fold((f32::INFINITY, 0.0f32), |(lo, hi), &g| {
        (lo.min(g), hi.max(g))
    });
    let (ca, cb) = (
        &centroids[pair.a * d..(pair.a + 1) * d],
        &centroids[pair.b * d..(pair.b + 1) * d],
    );
    let centre = squared_l2(ca, cb).sqrt();
    if highest.is_finite() && centre - radii[pair.a] - radii[pair.b] > reach(highest) {
        return Plan::Skip;
    }
    // Each leaf projects around its centroid, so gaps beyond `centre` plus a spread are rare:
    // when the centroids are close, rows are rarely pruned and the analysis is not worth it.
    if centre <= 0.5 * reach(lowest) {
        return Plan::Full;
    }
    work.direction.clear();
    work.direction
        .extend(cb.iter().zip(ca).map(|(y, x)| (y - x) / centre));
    // One matrix-vector product per leaf.
    let project = |rows: Range<usize>, out: &mut Vec<f32>, direction: &[f32]| {
        out.clear();
        out.resize(rows.len(), 0.0);
        matmul(
            MatMut::from_column_major_slice_mut(out, rows.len(), 1),
            Accum::Replace,
            MatRef::from_row_major_slice(&xs[rows.start * d..rows.end * d], rows.len(), d),
            MatRef::from_column_major_slice(direction, d, 1),
            1.0f32,
            Par::Seq,
        );
    };
    project(pair.rows_a.clone(), &mut work.projected_a, &work.direction);
    project(pair.rows_b.clone(), &mut work.projected_b, &work.direction);
    let furthest_a = work
        .projected_a
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let nearest_b = work
        .projected_b
        .iter()
        .fold(f32::INFINITY, |m, &v| m.min(v));
    work.need_a.clear();
    work.need_a.extend(
        pair.rows_a
            .clone()
            .zip(&work.projected_a)
            .filter(|&(i, &p)| nearest_b - p <= reach(kth[i]))
            .map(|(i, _)| i),
    );
    work.need_b.clear();
    work.need_b.extend(
        pair.rows_b
            .clone()
            .zip(&work.projected_b)
            .filter(|&(j, &p)| p - furthest_a <= reach(kth[j]))
            .map(|(j, _)| j),
    );
    let (na, nb) = (pair.rows_a.len(), pair.rows_b.len());
    let thin = work.need_a.len() * nb + na * work.need_b.len();
    if thin == 0 {
        Plan::Skip
    } else if thin * 5 < na * nb * 3 {
        Plan::Thin
    } else {
        Plan::Full
    }
}

/// A thin pair: the rows of `a` listed in the workspace against all of `b`, offered to those
/// rows only, then the listed rows of `b` against all of `a`, offered to those only. Each pair
/// of rows is offered at most once to each of its two rows, as in a full tile.
fn thin_pair(
    lists: &mut Lists,
    rows: &Rows<'_>,
    xs_mat: MatRef<'_, f32>,
    (rows_a, rows_b): (Range<usize>, Range<usize>),
    scale: f32,
    keep: Keeping,
    work: &mut Workspace,
) {
    let (k, d) = (lists.k, rows.d);
    let Workspace {
        tile,
        need_a,
        need_b,
        gathered,
        closed,
        ..
    } = work;
    for (need, other) in [(&*need_a, rows_b), (&*need_b, rows_a)] {
        if need.is_empty() {
            continue;
        }
        for (slot, &p) in gathered.chunks_exact_mut(d.max(1)).zip(need.iter()) {
            slot.copy_from_slice(&rows.xs[p * d..(p + 1) * d]);
        }
        let m = need.len();
        let r = other.len();
        let tile = &mut tile[..m * r];
        matmul(
            MatMut::from_row_major_slice_mut(tile, m, r),
            Accum::Replace,
            MatRef::from_row_major_slice(&gathered[..m * d], m, d),
            xs_mat.subrows(other.start, r).transpose(),
            1.0f32,
            Par::Seq,
        );
        for (t, &p) in need.iter().enumerate() {
            let mut qs = rows.side(
                &mut lists.values[p * k..(p + 1) * k],
                &mut lists.ids[p * k..(p + 1) * k],
                &mut lists.kth[p..p + 1],
                p..p + 1,
            );
            let mut rs = Some(rows.side(&mut [], &mut [], &mut closed[..r], other.clone()));
            scan_tile(
                &tile[t * r..(t + 1) * r],
                r,
                r,
                scale,
                keep,
                &mut qs,
                &mut rs,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// The vector scan keeps exactly the lists the portable scan keeps, on and off the
    /// diagonal, with ragged widths and lists already partly filled.
    #[test]
    fn vector_and_portable_scans_keep_the_same_lists() {
        #[cfg(target_arch = "x86_64")]
        {
            if !is_x86_feature_detected!("avx2") {
                return;
            }
            let mut rng = Rng::new(7);
            let (b, r, stride, k, d) = (13, 29, 35, 5, 6);
            let vectors: Vec<f32> = (0..(b + r) * d).map(|_| rng.next_f32() - 0.5).collect();
            let row = |i: usize| &vectors[i * d..(i + 1) * d];
            let lift: Vec<f32> = (0..b + r).map(|i| dot(row(i), row(i))).collect();
            let order: Vec<u32> = (0..(b + r) as u32).map(|i| i * 3 + 1).collect();
            let keep = Keeping {
                kind: Kind::SquaredL2,
                d,
                slack: 1e-5,
            };
            for diagonal in [false, true] {
                let (rr, width) = if diagonal { (0..b, b) } else { (b..b + r, r) };
                // Products of the query rows with the reference rows, padded to the stride.
                let mut tile = vec![9.0f32; b * stride];
                for q in 0..b {
                    for (j, t) in rr.clone().zip(&mut tile[q * stride..q * stride + width]) {
                        *t = dot(row(q), row(j));
                    }
                }
                let mut results = Vec::new();
                for vector in [false, true] {
                    let mut lists = Lists::new(b + r, k);
                    // Row 0 refuses everything; row b + 2 starts with a tight list.
                    lists.kth[0] = -10.0;
                    let tight = (b + 2) * k;
                    lists.values[tight..tight + k].fill(0.3);
                    lists.kth[b + 2] = 0.3;
                    let rows = Rows {
                        order: &order,
                        lift: &lift,
                        xs: &vectors,
                        d,
                    };
                    let (v_lo, v_hi) = lists.values.split_at_mut(b * k);
                    let (i_lo, i_hi) = lists.ids.split_at_mut(b * k);
                    let (t_lo, t_hi) = lists.kth.split_at_mut(b);
                    let mut qs = rows.side(v_lo, i_lo, t_lo, 0..b);
                    let mut rs = (!diagonal).then(|| {
                        rows.side(
                            &mut v_hi[..r * k],
                            &mut i_hi[..r * k],
                            &mut t_hi[..r],
                            rr.clone(),
                        )
                    });
                    if vector {
                        // SAFETY: AVX2 was detected above.
                        unsafe {
                            scan_tile_avx2(&tile, stride, width, 2.0, keep, &mut qs, &mut rs)
                        };
                    } else {
                        scan_tile_portable(&tile, stride, width, 2.0, keep, &mut qs, &mut rs);
                    }
                    results.push((lists.values.clone(), lists.ids.clone(), lists.kth.clone()));
                }
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&results[0].0),
                    bits(&results[1].0),
                    "diagonal {diagonal}"
                );
                assert_eq!(results[0].1, results[1].1, "diagonal {diagonal}");
                assert_eq!(
                    bits(&results[0].2),
                    bits(&results[1].2),
                    "diagonal {diagonal}"
                );
                // Something was offered and something was refused; values are exact.
                let ids = &results[0].1;
                assert!(ids.iter().any(|&i| i != EMPTY));
                assert!(ids[..k].iter().all(|&i| i == EMPTY));
                for (slot, &id) in ids.iter().enumerate().filter(|(_, i)| **i != EMPTY) {
                    let (p, j) = (slot / k, ((id - 1) / 3) as usize);
                    assert_eq!(results[0].0[slot], squared_l2(row(p), row(j)));
                }
            }
        }
    }

    /// Clusters whose balls overlap but whose rows separate along the line between leaf
    /// centroids: many leaf pairs are skipped or taken thin, and the graph still equals brute
    /// force, on 1 and 3 threads alike.
    #[test]
    fn pruned_search_equals_brute_force_on_overlapping_clusters() {
        let (n, d, clusters, k) = (5000, 16, 12, 10);
        let data = super::super::tests::blobs_spread(n, d, clusters, 1.5, 0.5, 3);
        let x = MatrixView::new(&data, n, d).expect("shape");
        let run = |threads: usize| {
            super::super::tests::on_threads(threads, || {
                exact_counting_plans(x, k, Kind::SquaredL2, 1, &RunContext::silent())
            })
        };
        let (indices, values, plans) = run(3);
        let [skipped, thin, full] = plans;
        assert!(skipped > 0 && thin > 0 && full > 0, "plans {plans:?}");
        let truth = super::super::brute_force_knn(x, k, crate::Metric::Euclidean);
        for i in 0..n {
            let mut got: Vec<u32> = indices[i * k..(i + 1) * k].to_vec();
            let mut want: Vec<u32> = truth.neighbors(i).to_vec();
            // Equal distances may list different rows; compare the k-th distance as well.
            let kth = values[(i + 1) * k - 1].sqrt();
            let want_kth = truth.neighbor_distances(i)[k - 1];
            assert!((kth - want_kth).abs() <= 1e-4 * (1.0 + want_kth), "row {i}");
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "row {i}");
        }
        let again = run(1);
        assert_eq!((again.0, again.1), (indices, values), "1 vs 3 threads");
    }
}
