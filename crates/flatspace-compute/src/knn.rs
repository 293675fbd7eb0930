//! k-nearest-neighbour graphs. The graph excludes each row itself; rows are sorted by ascending
//! distance, ties broken by lower index. Distances are the metric's own: euclidean = L2 (not
//! squared), cosine = 1 − cos θ (zero vectors are at distance 1 from everything), inner product =
//! −⟨x, y⟩.
//!
//! This first version is an exact brute-force scan; the blocked-GEMM exact path and NN-descent
//! replace its internals behind the same `knn_graph` signature.

use rayon::prelude::*;

use crate::{ComputeError, MatrixView, Result, RunContext};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Metric {
    #[default]
    Euclidean,
    Cosine,
    InnerProduct,
}

impl std::str::FromStr for Metric {
    type Err = ComputeError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "euclidean" | "l2" => Ok(Metric::Euclidean),
            "cosine" => Ok(Metric::Cosine),
            "inner_product" | "ip" | "dot" => Ok(Metric::InnerProduct),
            other => Err(ComputeError::InvalidInput(format!(
                "unknown metric {other:?}; expected euclidean, cosine or inner_product"
            ))),
        }
    }
}

/// The k nearest neighbours of every row: `indices[i * k + j]` is row i's j-th neighbour.
/// When `k >= n_rows` the graph holds `n_rows - 1` neighbours per row (`k` is clamped).
#[derive(Debug, Clone, PartialEq)]
pub struct KnnGraph {
    pub n_rows: usize,
    pub k: usize,
    pub indices: Vec<u32>,
    pub distances: Vec<f32>,
}

impl KnnGraph {
    pub fn neighbors(&self, row: usize) -> &[u32] {
        &self.indices[row * self.k..(row + 1) * self.k]
    }
    pub fn neighbor_distances(&self, row: usize) -> &[f32] {
        &self.distances[row * self.k..(row + 1) * self.k]
    }
}

/// Which algorithm builds the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KnnMethod {
    /// Exact for small problems, NN-descent for large ones.
    #[default]
    Auto,
    /// Exact neighbours.
    Exact,
    /// Approximate: random-projection-tree seeded NN-descent.
    NnDescent,
}

/// How to compute the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct KnnParams {
    pub k: usize,
    pub metric: Metric,
    pub method: KnnMethod,
    pub seed: u64,
}

impl Default for KnnParams {
    fn default() -> Self {
        Self {
            k: 15,
            metric: Metric::Euclidean,
            method: KnnMethod::Auto,
            seed: 42,
        }
    }
}

#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[inline]
pub(crate) fn squared_l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let d = x - y;
            d * d
        })
        .sum()
}

/// Distance between two rows under `metric` (norms are passed in for cosine).
#[inline]
pub fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    match metric {
        Metric::Euclidean => squared_l2(a, b).sqrt(),
        Metric::Cosine => {
            let na = dot(a, a).sqrt();
            let nb = dot(b, b).sqrt();
            if na == 0.0 || nb == 0.0 {
                1.0
            } else {
                (1.0 - dot(a, b) / (na * nb)).max(0.0)
            }
        }
        Metric::InnerProduct => -dot(a, b),
    }
}

/// The kNN graph of every row of `x`.
pub fn knn_graph(x: MatrixView<'_>, params: &KnnParams, ctx: &RunContext<'_>) -> Result<KnnGraph> {
    let n = x.n_rows();
    if params.k == 0 {
        return Err(ComputeError::InvalidInput("k must be at least 1".into()));
    }
    x.check_finite()?;
    let k = params.k.min(n.saturating_sub(1));
    if k == 0 {
        return Ok(KnnGraph {
            n_rows: n,
            k: 0,
            indices: Vec::new(),
            distances: Vec::new(),
        });
    }
    let mut indices = vec![0u32; n * k];
    let mut distances = vec![0f32; n * k];
    let chunk_rows = 256;
    let total_chunks = n.div_ceil(chunk_rows) as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    indices
        .par_chunks_mut(chunk_rows * k)
        .zip(distances.par_chunks_mut(chunk_rows * k))
        .enumerate()
        .try_for_each(|(chunk, (idx_out, dist_out))| -> Result<()> {
            ctx.check_cancelled()?;
            let mut candidates: Vec<(f32, u32)> = Vec::with_capacity(n);
            for (local, (idx_row, dist_row)) in idx_out
                .chunks_mut(k)
                .zip(dist_out.chunks_mut(k))
                .enumerate()
            {
                let i = chunk * chunk_rows + local;
                candidates.clear();
                let xi = x.row(i);
                for j in 0..n {
                    if j != i {
                        candidates.push((distance(params.metric, xi, x.row(j)), j as u32));
                    }
                }
                let by_distance =
                    |a: &(f32, u32), b: &(f32, u32)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
                if candidates.len() > k {
                    candidates.select_nth_unstable_by(k, by_distance);
                    candidates.truncate(k);
                }
                candidates.sort_unstable_by(by_distance);
                for (slot, &(d, j)) in candidates.iter().enumerate() {
                    idx_row[slot] = j;
                    dist_row[slot] = d;
                }
            }
            let finished = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            ctx.report("knn", finished, total_chunks);
            Ok(())
        })?;
    Ok(KnnGraph {
        n_rows: n,
        k,
        indices,
        distances,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_line_has_expected_neighbours() {
        let data = [0.0f32, 1.0, 3.0, 7.0];
        let x = MatrixView::new(&data, 4, 1).expect("shape");
        let g = knn_graph(
            x,
            &KnnParams {
                k: 2,
                ..Default::default()
            },
            &RunContext::silent(),
        )
        .expect("knn");
        assert_eq!(g.neighbors(0), &[1, 2]);
        assert_eq!(g.neighbors(3), &[2, 1]);
        assert_eq!(g.neighbor_distances(2), &[2.0, 3.0]);
    }

    #[test]
    fn k_clamped_and_single_row_defined() {
        let data = [1.0f32, 2.0];
        let one = MatrixView::new(&data, 1, 2).expect("shape");
        let g = knn_graph(one, &KnnParams::default(), &RunContext::silent()).expect("knn");
        assert_eq!(g.k, 0);
        let two = MatrixView::new(&data, 2, 1).expect("shape");
        let g = knn_graph(two, &KnnParams::default(), &RunContext::silent()).expect("knn");
        assert_eq!(g.k, 1);
        assert_eq!(g.indices, vec![1, 0]);
    }
}
