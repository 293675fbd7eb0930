//! Exact k nearest neighbours by tiled matrix products with a fused top-k, never the n × n
//! matrix.
//!
//! Rows are grouped into leaves of a random-projection tree (nearby rows together) and copied
//! leaf by leaf (centred, which keeps ‖x‖² + ‖y‖² − 2x·y accurate). Each unordered pair of leaves
//! is one GEMM tile, computed once: its entries are offered to the rows of both leaves, so the
//! products cost half of a row-by-row search. A vectorised scan compares each entry against
//! both rows' current k-th values and only the rare winners reach the scalar insertion.
//!
//! Worker threads take query leaves from a shared counter, heaviest first, and keep their own
//! neighbour lists for every row; the lists are merged at the end by (value, row id), so the
//! result does not depend on the thread count or schedule. A leaf pair is skipped when the
//! triangle-inequality bound between the two leaves' balls (centroid, radius) exceeds every
//! row's current k-th value in both leaves; on clustered data many tiles are never computed, on
//! structureless data it degrades to the full (halved) blocked product. Final values are
//! recomputed directly from the rows.
//!
//! The inner-product "metric" has no triangle inequality: every tile is computed.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use super::kernels::squared_l2;
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

/// One thread's neighbour lists for every row (in leaf order): sorted values and row ids, and
/// each row's current k-th value kept contiguous for the vectorised threshold test.
struct Lists {
    k: usize,
    values: Vec<f32>,
    ids: Vec<u32>,
    kth: Vec<f32>,
}

impl Lists {
    fn new(n: usize, k: usize) -> Self {
        Lists {
            k,
            values: vec![f32::INFINITY; n * k],
            ids: vec![EMPTY; n * k],
            kth: vec![f32::INFINITY; n],
        }
    }
}

/// The rows of one side of a tile: their slice of a thread's lists, their row ids and the
/// per-row term of the value (‖x‖² for squared L2, 0 for −dot).
struct Side<'a> {
    values: &'a mut [f32],
    ids: &'a mut [u32],
    kth: &'a mut [f32],
    row_ids: &'a [u32],
    lift: &'a [f32],
}

impl Side<'_> {
    #[inline(always)]
    fn offer(&mut self, row: usize, value: f32, id: u32, k: usize) {
        let (vs, is) = (
            &mut self.values[row * k..(row + 1) * k],
            &mut self.ids[row * k..(row + 1) * k],
        );
        if insert(vs, is, value, id) {
            self.kth[row] = vs[k - 1];
        }
    }
}

/// Value of a tile entry: (lift_q + lift_r) − scale · product, one rounding after an exact
/// scaling (scale is 1 or 2), the same in the scalar and the vector code.
#[inline(always)]
fn entry_value(lift_q: f32, lift_r: f32, scale: f32, product: f32) -> f32 {
    (lift_q + lift_r) - scale * product
}

/// Offers tile entry (q, j) to row q and, off the diagonal, to row j. `clamp` maps rounding
/// below zero back to zero for squared distances.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn offer_entry(
    qs: &mut Side<'_>,
    rs: &mut Option<Side<'_>>,
    q: usize,
    j: usize,
    value: f32,
    clamp: bool,
    k: usize,
) {
    let stored = if clamp { value.max(0.0) } else { value };
    match rs {
        Some(rs) => {
            if value <= qs.kth[q] {
                let id = rs.row_ids[j];
                qs.offer(q, stored, id, k);
            }
            if value <= rs.kth[j] {
                let id = qs.row_ids[q];
                rs.offer(j, stored, id, k);
            }
        }
        // Diagonal tile: row j is a row of the same leaf and gets its own row of the tile.
        None => {
            if j != q && value <= qs.kth[q] {
                let id = qs.row_ids[j];
                qs.offer(q, stored, id, k);
            }
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
    clamp: bool,
    k: usize,
    qs: &mut Side<'_>,
    rs: &mut Option<Side<'_>>,
) {
    let b = qs.row_ids.len();
    for q in 0..b {
        let lq = qs.lift[q];
        for j in 0..r {
            let lr = match rs {
                Some(s) => s.lift[j],
                None => qs.lift[j],
            };
            let value = entry_value(lq, lr, scale, tile[q * stride + j]);
            let kth_r = match rs {
                Some(s) => s.kth[j],
                None => f32::NEG_INFINITY,
            };
            if value <= qs.kth[q] || value <= kth_r {
                offer_entry(qs, rs, q, j, value, clamp, k);
            }
        }
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
    clamp: bool,
    k: usize,
    qs: &mut Side<'_>,
    rs: &mut Option<Side<'_>>,
) {
    use std::arch::x86_64::*;
    let b = qs.row_ids.len();
    let full = r / 8 * 8;
    let vscale = _mm256_set1_ps(scale);
    // The reference rows' terms and k-th values; on the diagonal, the query rows' own terms
    // and no second side (−∞ never passes).
    let never = vec![f32::NEG_INFINITY; r];
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
                offer_lanes(qs, rs, q, j, mask as u32, row, scale, clamp, k);
                kq = _mm256_set1_ps(qs.kth[q]);
            }
            j += 8;
        }
        for (jj, &product) in row.iter().enumerate().skip(full) {
            let (lr, kth_r) = match rs {
                Some(s) => (s.lift[jj], s.kth[jj]),
                None => (qs.lift[jj], f32::NEG_INFINITY),
            };
            let value = entry_value(lq, lr, scale, product);
            if value <= qs.kth[q] || value <= kth_r {
                offer_entry(qs, rs, q, jj, value, clamp, k);
            }
        }
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
    clamp: bool,
    k: usize,
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
        offer_entry(qs, rs, q, jj, value, clamp, k);
    }
}

#[allow(clippy::too_many_arguments)]
fn scan_tile(
    tile: &[f32],
    stride: usize,
    r: usize,
    scale: f32,
    clamp: bool,
    k: usize,
    qs: &mut Side<'_>,
    rs: &mut Option<Side<'_>>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        static AVX2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if *AVX2.get_or_init(|| is_x86_feature_detected!("avx2")) {
            // SAFETY: the feature was detected at run time.
            return unsafe { scan_tile_avx2(tile, stride, r, scale, clamp, k, qs, rs) };
        }
    }
    scan_tile_portable(tile, stride, r, scale, clamp, k, qs, rs)
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
    // Slack for rounding in the expanded values before a bound may prune.
    let abs_slack = 1e-5 * max_norm;
    // Lower bound (squared) on the distance between any row of leaf a and any row of leaf b.
    let pair_bound = |a: usize, b: usize| -> f32 {
        if !l2 || a == b {
            return 0.0;
        }
        let centre = squared_l2(
            &centroids[a * d..(a + 1) * d],
            &centroids[b * d..(b + 1) * d],
        )
        .sqrt();
        let gap = (centre - radii[a] - radii[b]).max(0.0);
        gap * gap
    };
    let prunable = |bound: f32, kth: &[f32]| -> bool {
        let t = kth.iter().cloned().fold(0.0f32, f32::max);
        bound > t + abs_slack + 1e-3 * t
    };

    // Work is counted in leaf pairs; query leaf q owns the pairs (q, r ≥ q).
    let total_pairs = (n_leaves * (n_leaves + 1) / 2) as u64;
    let pairs_done = AtomicU64::new(0);
    let next_leaf = AtomicUsize::new(0);
    let workers = rayon::current_num_threads().max(1);
    let per_worker: Vec<Option<Lists>> = (0..workers)
        .into_par_iter()
        .map(|_| -> Result<Option<Lists>> {
            let mut lists: Option<Lists> = None;
            let mut tile = vec![0.0f32; LEAF * LEAF * GROUP];
            loop {
                let ql = next_leaf.fetch_add(1, Ordering::Relaxed);
                if ql >= n_leaves {
                    return Ok(lists);
                }
                ctx.check_cancelled()?;
                let lists = lists.get_or_insert_with(|| Lists::new(n, k));
                let q0 = leaves.bounds[ql];
                let q1 = leaves.bounds[ql + 1];
                let b = q1 - q0;
                let q_mat = xs_mat.subrows(q0, b);
                let mut rl = ql;
                while rl < n_leaves {
                    // The diagonal tile alone, then groups of up to GROUP leaves.
                    let rl_end = if rl == ql {
                        rl + 1
                    } else {
                        (rl + GROUP).min(n_leaves)
                    };
                    let group = rl..rl_end;
                    rl = rl_end;
                    let skip: Vec<bool> = group
                        .clone()
                        .map(|g| {
                            let bound = pair_bound(ql, g);
                            let g_rows = leaves.bounds[g]..leaves.bounds[g + 1];
                            bound > 0.0
                                && prunable(bound, &lists.kth[q0..q1])
                                && prunable(bound, &lists.kth[g_rows])
                        })
                        .collect();
                    if skip.iter().all(|&s| s) {
                        continue;
                    }
                    let r0 = leaves.bounds[group.start];
                    let r_all = leaves.bounds[group.end] - r0;
                    let tile = &mut tile[..b * r_all];
                    matmul(
                        MatMut::from_row_major_slice_mut(tile, b, r_all),
                        Accum::Replace,
                        q_mat,
                        xs_mat.subrows(r0, r_all).transpose(),
                        1.0f32,
                        Par::Seq,
                    );
                    for (g, &skipped) in group.clone().zip(&skip) {
                        if skipped {
                            continue;
                        }
                        let g0 = leaves.bounds[g];
                        let r = leaves.bounds[g + 1] - g0;
                        // The leaf's columns of the tile: rows of r values, r_all apart.
                        scan_pair(
                            lists,
                            &leaves.order,
                            &lift,
                            (&tile[g0 - r0..], r_all),
                            (q0, q1),
                            (g0, g0 + r),
                            scale,
                            l2,
                        );
                    }
                }
                let owned = (n_leaves - ql) as u64;
                let finished = pairs_done.fetch_add(owned, Ordering::Relaxed) + owned;
                ctx.report("knn:exact", finished, total_pairs);
            }
        })
        .collect::<Result<_>>()?;
    let per_worker: Vec<Lists> = per_worker.into_iter().flatten().collect();

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
                        Kind::NegDot => -super::kernels::dot(x.row(orig_q), x.row(j as usize)),
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
    Ok((indices, values))
}

/// Scans the tile of query rows `qr` against reference rows `rr` (leaf-order positions) and
/// offers its entries to both sides of one thread's lists.
#[allow(clippy::too_many_arguments)]
fn scan_pair(
    lists: &mut Lists,
    order: &[u32],
    lift: &[f32],
    (tile, stride): (&[f32], usize),
    qr: (usize, usize),
    rr: (usize, usize),
    scale: f32,
    l2: bool,
) {
    let k = lists.k;
    let r = rr.1 - rr.0;
    if qr == rr {
        let mut qs = Side {
            values: &mut lists.values[qr.0 * k..qr.1 * k],
            ids: &mut lists.ids[qr.0 * k..qr.1 * k],
            kth: &mut lists.kth[qr.0..qr.1],
            row_ids: &order[qr.0..qr.1],
            lift: &lift[qr.0..qr.1],
        };
        scan_tile(tile, stride, r, scale, l2, k, &mut qs, &mut None);
        return;
    }
    // Query leaves come before their reference leaves: split the lists between them.
    debug_assert!(qr.1 <= rr.0);
    let (v_lo, v_hi) = lists.values.split_at_mut(rr.0 * k);
    let (i_lo, i_hi) = lists.ids.split_at_mut(rr.0 * k);
    let (t_lo, t_hi) = lists.kth.split_at_mut(rr.0);
    let mut qs = Side {
        values: &mut v_lo[qr.0 * k..qr.1 * k],
        ids: &mut i_lo[qr.0 * k..qr.1 * k],
        kth: &mut t_lo[qr.0..qr.1],
        row_ids: &order[qr.0..qr.1],
        lift: &lift[qr.0..qr.1],
    };
    let mut rs = Some(Side {
        values: &mut v_hi[..r * k],
        ids: &mut i_hi[..r * k],
        kth: &mut t_hi[..r],
        row_ids: &order[rr.0..rr.1],
        lift: &lift[rr.0..rr.1],
    });
    scan_tile(tile, stride, r, scale, l2, k, &mut qs, &mut rs);
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
            let (b, r, stride, k) = (13, 29, 35, 5);
            let tile: Vec<f32> = (0..b * stride)
                .map(|_| rng.next_f32() * 4.0 - 2.0)
                .collect();
            let lift: Vec<f32> = (0..b + r).map(|_| rng.next_f32() * 3.0).collect();
            let order: Vec<u32> = (0..(b + r) as u32).map(|i| i * 3 + 1).collect();
            for diagonal in [false, true] {
                let mut results = Vec::new();
                for vector in [false, true] {
                    let mut lists = Lists::new(b + r, k);
                    // Rows 0 and b + 2 start with a tight list so some entries are refused.
                    lists.values[..k].fill(-10.0);
                    lists.kth[0] = -10.0;
                    let tight = (b + 2) * k;
                    lists.values[tight..tight + k].fill(0.5);
                    lists.kth[b + 2] = 0.5;
                    let (rr, width) = if diagonal {
                        ((0, b), b)
                    } else {
                        ((b, b + r), r)
                    };
                    let k_ = lists.k;
                    let (v_lo, v_hi) = lists.values.split_at_mut(b * k_);
                    let (i_lo, i_hi) = lists.ids.split_at_mut(b * k_);
                    let (t_lo, t_hi) = lists.kth.split_at_mut(b);
                    let mut qs = Side {
                        values: v_lo,
                        ids: i_lo,
                        kth: t_lo,
                        row_ids: &order[..b],
                        lift: &lift[..b],
                    };
                    let mut rs = (!diagonal).then(|| Side {
                        values: &mut v_hi[..r * k_],
                        ids: &mut i_hi[..r * k_],
                        kth: &mut t_hi[..r],
                        row_ids: &order[rr.0..rr.1],
                        lift: &lift[rr.0..rr.1],
                    });
                    if vector {
                        // SAFETY: AVX2 was detected above.
                        unsafe {
                            scan_tile_avx2(&tile, stride, width, 2.0, true, k, &mut qs, &mut rs)
                        };
                    } else {
                        scan_tile_portable(&tile, stride, width, 2.0, true, k, &mut qs, &mut rs);
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
                // Something was offered and something was refused.
                assert!(results[0].1.iter().any(|&i| i != EMPTY));
                assert!(results[0].1[..k].iter().all(|&i| i == EMPTY));
            }
        }
    }
}
