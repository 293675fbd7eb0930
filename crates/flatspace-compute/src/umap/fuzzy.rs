//! The fuzzy simplicial set: per-row `rho` (distance to the nearest neighbour, so every point is
//! connected to at least one other) and `sigma` (a bandwidth found by binary search so each row's
//! memberships sum to log2(k)), memberships `exp(-(d - rho) / sigma)`, then the fuzzy union of the
//! directed graph with its transpose. Follows umap-learn's `smooth_knn_dist`,
//! `compute_membership_strengths` and `fuzzy_simplicial_set`.

use rayon::prelude::*;

use super::sparse::{CsrGraph, RowBlocks};

const SMOOTH_K_TOLERANCE: f64 = 1e-5;
const MIN_K_DIST_SCALE: f64 = 1e-3;
const BINARY_SEARCH_STEPS: usize = 64;

/// Per-row bandwidth (`sigma`) and local connectivity offset (`rho`).
#[derive(Debug, Clone, PartialEq)]
pub struct SmoothKnn {
    pub sigmas: Vec<f32>,
    pub rhos: Vec<f32>,
}

/// Rows of `k` neighbour distances (row-major, self excluded, ascending). `target_k` is the
/// neighbour count whose log2 each row's memberships should sum to; `self_in_mean` counts a
/// zero self-distance in each row's mean, as the reference's kNN (which includes the point
/// itself) does when fitting.
pub fn smooth_knn_dist(
    distances: &[f32],
    k: usize,
    target_k: f64,
    local_connectivity: f64,
    self_in_mean: bool,
) -> SmoothKnn {
    if k == 0 {
        return SmoothKnn {
            sigmas: Vec::new(),
            rhos: Vec::new(),
        };
    }
    let target = target_k.max(1.0).log2();
    let mean_count = if self_in_mean { k + 1 } else { k } as f64;
    let mean_all: f64 = if distances.is_empty() {
        0.0
    } else {
        distances.iter().map(|&d| f64::from(d)).sum::<f64>() / distances.len() as f64
    };
    let (sigmas, rhos): (Vec<f32>, Vec<f32>) = distances
        .par_chunks(k)
        .map(|row| {
            let row: Vec<f64> = row.iter().map(|&d| f64::from(d)).collect();
            let non_zero: Vec<f64> = row.iter().copied().filter(|&d| d > 0.0).collect();
            let mut rho = 0.0;
            if non_zero.len() as f64 >= local_connectivity {
                let index = local_connectivity.floor() as usize;
                let interpolation = local_connectivity - index as f64;
                if index > 0 {
                    rho = non_zero[index - 1];
                    if interpolation > SMOOTH_K_TOLERANCE && index < non_zero.len() {
                        rho += interpolation * (non_zero[index] - non_zero[index - 1]);
                    }
                } else if let Some(&first) = non_zero.first() {
                    rho = interpolation * first;
                }
            } else if let Some(&last) = non_zero.last() {
                rho = last;
            }
            let (mut lo, mut hi, mut mid) = (0.0f64, f64::INFINITY, 1.0f64);
            for _ in 0..BINARY_SEARCH_STEPS {
                let psum: f64 = row
                    .iter()
                    .map(|&d| {
                        let d = d - rho;
                        if d > 0.0 { (-d / mid).exp() } else { 1.0 }
                    })
                    .sum();
                if (psum - target).abs() < SMOOTH_K_TOLERANCE {
                    break;
                }
                if psum > target {
                    hi = mid;
                    mid = (lo + hi) / 2.0;
                } else {
                    lo = mid;
                    if hi == f64::INFINITY {
                        mid *= 2.0;
                    } else {
                        mid = (lo + hi) / 2.0;
                    }
                }
            }
            // Guard against bandwidths collapsing to zero (duplicates, tiny distances).
            let floor = if rho > 0.0 {
                MIN_K_DIST_SCALE * row.iter().sum::<f64>() / mean_count
            } else {
                MIN_K_DIST_SCALE * mean_all
            };
            if mid < floor {
                mid = floor;
            }
            (mid as f32, rho as f32)
        })
        .unzip();
    SmoothKnn { sigmas, rhos }
}

/// Membership strength of one neighbour at distance `d` for a row with `sigma` and `rho`.
#[inline]
pub fn membership(d: f32, sigma: f32, rho: f32) -> f32 {
    let excess = d - rho;
    if excess <= 0.0 || sigma == 0.0 {
        1.0
    } else {
        (-(excess / sigma)).exp()
    }
}

/// The symmetric fuzzy graph from a kNN graph (`indices`/`distances` are `n × k`, self
/// excluded). `mix` is `set_op_mix_ratio`: 1 = fuzzy union `P + Pᵀ − P∘Pᵀ`, 0 = fuzzy
/// intersection `P∘Pᵀ`. Neighbour indices `>= n` (a kNN that could not fill a row) are skipped.
pub fn fuzzy_union(
    n: usize,
    k: usize,
    indices: &[u32],
    distances: &[f32],
    smooth: &SmoothKnn,
    mix: f32,
) -> CsrGraph {
    if n == 0 || k == 0 {
        return CsrGraph::empty(n);
    }
    // Directed memberships, each row sorted by column, duplicates and self-loops removed.
    let directed: Vec<Vec<(u32, f32)>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut row: Vec<(u32, f32)> = indices[i * k..(i + 1) * k]
                .iter()
                .zip(&distances[i * k..(i + 1) * k])
                .filter(|(j, _)| (**j as usize) < n && **j as usize != i)
                .map(|(&j, &d)| (j, membership(d, smooth.sigmas[i], smooth.rhos[i])))
                .collect();
            row.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
            row.dedup_by_key(|e| e.0);
            row
        })
        .collect();
    // Transpose by counting: incoming[i] lists (j, P[j][i]) in ascending j.
    let mut in_ptr = vec![0usize; n + 1];
    for row in &directed {
        for &(j, _) in row {
            in_ptr[j as usize + 1] += 1;
        }
    }
    for i in 0..n {
        in_ptr[i + 1] += in_ptr[i];
    }
    let mut fill = in_ptr.clone();
    let mut in_entries = vec![(0u32, 0f32); in_ptr[n]];
    for (src, row) in directed.iter().enumerate() {
        for &(j, v) in row {
            let slot = &mut fill[j as usize];
            in_entries[*slot] = (src as u32, v);
            *slot += 1;
        }
    }
    const BLOCK: usize = 1024;
    let blocks: RowBlocks = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            (b * BLOCK..((b + 1) * BLOCK).min(n))
                .map(|i| {
                    let out_row = &directed[i];
                    let in_row = &in_entries[in_ptr[i]..in_ptr[i + 1]];
                    let mut merged = Vec::with_capacity(out_row.len() + in_row.len());
                    let combine = |a: f32, b: f32| {
                        let prod = a * b;
                        mix * (a + b - prod) + (1.0 - mix) * prod
                    };
                    let (mut p, mut q) = (0, 0);
                    while p < out_row.len() || q < in_row.len() {
                        let (col, a, b) = match (out_row.get(p), in_row.get(q)) {
                            (Some(&(cp, a)), Some(&(cq, b))) if cp == cq => {
                                p += 1;
                                q += 1;
                                (cp, a, b)
                            }
                            (Some(&(cp, a)), Some(&(cq, _))) if cp < cq => {
                                p += 1;
                                (cp, a, 0.0)
                            }
                            (Some(&(cp, a)), None) => {
                                p += 1;
                                (cp, a, 0.0)
                            }
                            (_, Some(&(cq, b))) => {
                                q += 1;
                                (cq, 0.0, b)
                            }
                            (None, None) => break,
                        };
                        let v = combine(a, b);
                        if v > 0.0 {
                            merged.push((col, v));
                        }
                    }
                    (i, merged)
                })
                .collect()
        })
        .collect();
    CsrGraph::from_row_blocks(n, blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bandwidth_makes_memberships_sum_to_log2_k() {
        let k = 6;
        let dists: Vec<f32> = (0..4)
            .flat_map(|r| (0..k).map(move |j| 0.5 + r as f32 * 0.3 + j as f32 * 0.25))
            .collect();
        let s = smooth_knn_dist(&dists, k, (k + 1) as f64, 1.0, true);
        for (r, row) in dists.chunks(k).enumerate() {
            assert_eq!(s.rhos[r], row[0]);
            let total: f32 = row
                .iter()
                .map(|&d| membership(d, s.sigmas[r], s.rhos[r]))
                .sum();
            assert!(
                (total - ((k + 1) as f32).log2()).abs() < 1e-3,
                "row {r}: {total}"
            );
        }
    }

    #[test]
    fn union_is_symmetric_and_combines_both_directions() {
        // Three points on a line; row 0 sees 1, row 1 sees 0 and 2, row 2 sees 1.
        let k = 2;
        let idx = [1u32, 2, 0, 2, 1, 0];
        let d = [1.0f32, 3.0, 1.0, 2.0, 2.0, 3.0];
        let s = smooth_knn_dist(&d, k, 3.0, 1.0, true);
        let g = fuzzy_union(3, k, &idx, &d, &s, 1.0);
        for i in 0..3 {
            let (c, v) = g.row(i);
            for (&j, &w) in c.iter().zip(v) {
                let (cj, vj) = g.row(j as usize);
                let pos = cj
                    .iter()
                    .position(|&x| x as usize == i)
                    .expect("symmetric entry");
                assert!((vj[pos] - w).abs() < 1e-6);
                assert!(w > 0.0 && w <= 1.0);
            }
        }
        // Nearest neighbours get membership 1 from both sides.
        assert_eq!(g.row(0).1[0], 1.0);
        let inter = fuzzy_union(3, k, &idx, &d, &s, 0.0);
        assert!(inter.vals.iter().zip(&g.vals).all(|(a, b)| a <= b));
    }
}
