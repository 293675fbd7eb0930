//! k-nearest-neighbour graphs. The graph excludes each row itself; rows are sorted by ascending
//! distance, ties broken by lower index. Distances are the metric's own: euclidean = L2 (not
//! squared), cosine = 1 − cos θ (zero vectors are at distance 1 from everything), inner product =
//! −⟨x, y⟩.
//!
//! Two algorithms: [`KnnMethod::Exact`] (tiled GEMM with a fused top-k and leaf pruning, see
//! `exact.rs`) and [`KnnMethod::NnDescent`] (random-projection forest + NN-descent, see
//! `nndescent.rs`); [`KnnMethod::Auto`] picks exact for small problems. Both are deterministic
//! for a given seed, whatever the number of threads. Cosine runs as euclidean on unit rows; zero
//! rows are handled apart (at distance 1 from everything, as defined above).

mod exact;
mod kernels;
mod nndescent;
mod query;
mod rptree;
mod topk;

use rayon::prelude::*;

pub(crate) use kernels::prefetch;
pub use kernels::{dot, squared_l2};
pub use query::{KnnQuery, Neighbor, dot_f64, query_exact, squared_l2_f64};

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

/// Distance between two rows under `metric`.
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

/// Problems up to this many n²·d multiply-adds go to the exact search under `Auto`.
const AUTO_EXACT_WORK: f64 = 4e10;

/// Whether `Auto` resolves to the exact search for this problem.
pub fn auto_is_exact(n_rows: usize, dim: usize, metric: Metric) -> bool {
    metric == Metric::InnerProduct
        || n_rows <= 4096
        || (n_rows as f64).powi(2) * dim.max(1) as f64 <= AUTO_EXACT_WORK
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
    let exact = match params.method {
        KnnMethod::Exact => true,
        // NN-descent needs a metric space; inner product is always searched exactly.
        KnnMethod::NnDescent => params.metric == Metric::InnerProduct,
        KnnMethod::Auto => auto_is_exact(n, x.dim(), params.metric),
    };
    let search =
        |view: MatrixView<'_>, k: usize, kind: exact::Kind| -> Result<(Vec<u32>, Vec<f32>)> {
            if exact {
                exact::exact(view, k, kind, params.seed, ctx)
            } else {
                let config = nndescent::NnDescentConfig::for_problem(view.n_rows(), view.dim(), k);
                nndescent::nn_descent(view, k, params.seed, &config, ctx)
            }
        };
    let (indices, distances) = match params.metric {
        Metric::Euclidean => {
            let (idx, mut dist) = search(x, k, exact::Kind::SquaredL2)?;
            dist.par_iter_mut().for_each(|v| *v = v.max(0.0).sqrt());
            (idx, dist)
        }
        Metric::InnerProduct => search(x, k, exact::Kind::NegDot)?,
        Metric::Cosine => cosine(x, k, search)?,
    };
    Ok(KnnGraph {
        n_rows: n,
        k,
        indices,
        distances,
    })
}

/// Cosine kNN: euclidean search over the unit-normalised non-zero rows, then zero rows (at
/// distance 1 from everything) merged in by index.
fn cosine(
    x: MatrixView<'_>,
    k: usize,
    search: impl Fn(MatrixView<'_>, usize, exact::Kind) -> Result<(Vec<u32>, Vec<f32>)>,
) -> Result<(Vec<u32>, Vec<f32>)> {
    let n = x.n_rows();
    let d = x.dim();
    let norms: Vec<f32> = (0..n).map(|i| dot(x.row(i), x.row(i)).sqrt()).collect();
    let nonzero: Vec<u32> = (0..n as u32).filter(|&i| norms[i as usize] > 0.0).collect();
    let zeros: Vec<u32> = (0..n as u32)
        .filter(|&i| norms[i as usize] == 0.0)
        .collect();
    let m = nonzero.len();
    let mut sub_graph: Option<(usize, Vec<u32>)> = None;
    if m >= 2 {
        let mut unit = vec![0.0f32; m * d];
        unit.par_chunks_mut(d.max(1))
            .zip(nonzero.par_iter())
            .for_each(|(dst, &i)| {
                let inv = 1.0 / norms[i as usize];
                for (o, &v) in dst.iter_mut().zip(x.row(i as usize)) {
                    *o = v * inv;
                }
            });
        let km = k.min(m - 1);
        let (idx, _) = search(MatrixView::new(&unit, m, d)?, km, exact::Kind::SquaredL2)?;
        sub_graph = Some((km, idx));
    }
    let mut position = vec![u32::MAX; n];
    for (p, &i) in nonzero.iter().enumerate() {
        position[i as usize] = p as u32;
    }
    let mut indices = vec![0u32; n * k];
    let mut distances = vec![0.0f32; n * k];
    indices
        .par_chunks_mut(k)
        .zip(distances.par_chunks_mut(k))
        .enumerate()
        .for_each(|(i, (io, dout))| {
            let mut cands: Vec<(f32, u32)> = Vec::with_capacity(2 * k);
            let p = position[i];
            if p != u32::MAX {
                if let Some((km, idx)) = &sub_graph {
                    let p = p as usize;
                    for &j in &idx[p * km..(p + 1) * km] {
                        let j = nonzero[j as usize];
                        cands.push((distance(Metric::Cosine, x.row(i), x.row(j as usize)), j));
                    }
                }
                cands.extend(zeros.iter().take(k).map(|&z| (1.0, z)));
            } else {
                // A zero row is at distance 1 from every row: the lowest other indices win.
                cands.extend(
                    (0..n as u32)
                        .filter(|&j| j as usize != i)
                        .take(k)
                        .map(|j| (1.0, j)),
                );
            }
            cands.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (s, &(dv, j)) in cands.iter().take(k).enumerate() {
                io[s] = j;
                dout[s] = dv;
            }
        });
    Ok((indices, distances))
}

/// Reference: every pair measured, O(n²·d). For tests and for checking the fast paths.
pub fn brute_force_knn(x: MatrixView<'_>, k: usize, metric: Metric) -> KnnGraph {
    let n = x.n_rows();
    let k = k.min(n.saturating_sub(1));
    let mut indices = vec![0u32; n * k];
    let mut distances = vec![0f32; n * k];
    if k > 0 {
        indices
            .par_chunks_mut(k)
            .zip(distances.par_chunks_mut(k))
            .enumerate()
            .for_each(|(i, (idx_row, dist_row))| {
                let xi = x.row(i);
                let mut cands: Vec<(f32, u32)> = (0..n)
                    .filter(|&j| j != i)
                    .map(|j| (distance(metric, xi, x.row(j)), j as u32))
                    .collect();
                let by = |a: &(f32, u32), b: &(f32, u32)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
                if cands.len() > k {
                    cands.select_nth_unstable_by(k, by);
                    cands.truncate(k);
                }
                cands.sort_unstable_by(by);
                for (s, &(dv, j)) in cands.iter().enumerate() {
                    idx_row[s] = j;
                    dist_row[s] = dv;
                }
            });
    }
    KnnGraph {
        n_rows: n,
        k,
        indices,
        distances,
    }
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

    /// Gaussian blobs: `clusters` centres spread by 4, unit spread.
    /// `f` on a pool of `threads` workers.
    /// Runs `f` on a pool of `threads` workers.
    pub(super) fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> Result<T> + Send) -> T {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(f)
            .expect("knn")
    }

    fn blobs(n: usize, d: usize, clusters: usize, seed: u64) -> Vec<f32> {
        blobs_spread(n, d, clusters, 4.0, 1.0, seed)
    }

    /// `n` rows around `clusters` centres drawn N(0, centre_scale²), each row N(centre, noise²).
    pub(super) fn blobs_spread(
        n: usize,
        d: usize,
        clusters: usize,
        centre_scale: f32,
        noise: f32,
        seed: u64,
    ) -> Vec<f32> {
        let mut rng = crate::rng::Rng::new(seed);
        let centres: Vec<f32> = (0..clusters * d)
            .map(|_| centre_scale * rng.normal() as f32)
            .collect();
        let mut data = Vec::with_capacity(n * d);
        for _ in 0..n {
            let c = rng.below(clusters);
            for j in 0..d {
                data.push(centres[c * d + j] + noise * rng.normal() as f32);
            }
        }
        data
    }

    fn params(k: usize, metric: Metric, method: KnnMethod) -> KnnParams {
        KnnParams {
            k,
            metric,
            method,
            seed: 3,
        }
    }

    /// Same neighbour distances as brute force (indices may differ only between near-equal
    /// distances).
    fn assert_matches_brute(g: &KnnGraph, truth: &KnnGraph) {
        assert_eq!((g.n_rows, g.k), (truth.n_rows, truth.k));
        let mut same = 0;
        for i in 0..g.n_rows {
            for (a, b) in g
                .neighbor_distances(i)
                .iter()
                .zip(truth.neighbor_distances(i))
            {
                assert!(
                    (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                    "row {i}: {a} vs {b}"
                );
            }
            same += g
                .neighbors(i)
                .iter()
                .filter(|j| truth.neighbors(i).contains(j))
                .count();
        }
        assert!(same as f64 >= 0.999 * (g.n_rows * g.k) as f64);
    }

    /// Tight clusters far from the origin and from each other: ‖x‖² + ‖y‖² − 2x·y loses most
    /// of its digits there (squared norms near 5·10⁶, squared distances near 10), which once
    /// gave 99 of 280 rows a wrong neighbour. The lists now hold exact values.
    #[test]
    fn exact_is_exact_on_far_apart_tight_clusters() {
        let (clusters, per, d) = (7, 40, 5);
        let mut rng = crate::rng::Rng::new(10);
        let centres: Vec<f64> = (0..clusters * d).map(|_| 1000.0 * rng.normal()).collect();
        let data: Vec<f32> = (0..clusters * per)
            .flat_map(|i| (0..d).map(move |j| (i % clusters) * d + j))
            .map(|c| (centres[c] + rng.normal()) as f32)
            .collect();
        let n = clusters * per;
        let x = MatrixView::new(&data, n, d).expect("shape");
        let g = knn_graph(
            x,
            &params(2, Metric::Euclidean, KnnMethod::Exact),
            &RunContext::silent(),
        )
        .expect("knn");
        let truth = brute_force_knn(x, 2, Metric::Euclidean);
        for i in 0..n {
            assert_eq!(g.neighbors(i), truth.neighbors(i), "row {i}");
        }
    }

    #[test]
    fn exact_equals_brute_force_on_random_and_clustered_data() {
        for (n, d, clusters) in [(700, 9, 1), (1500, 20, 12), (300, 3, 4)] {
            let data = blobs(n, d, clusters, n as u64);
            let x = MatrixView::new(&data, n, d).expect("shape");
            for metric in [Metric::Euclidean, Metric::Cosine, Metric::InnerProduct] {
                let g = knn_graph(
                    x,
                    &params(10, metric, KnnMethod::Exact),
                    &RunContext::silent(),
                )
                .expect("knn");
                assert_matches_brute(&g, &brute_force_knn(x, 10, metric));
            }
        }
    }

    #[test]
    fn nn_descent_recall_on_clustered_data() {
        let (n, d, k) = (4000, 24, 15);
        let data = blobs(n, d, 20, 11);
        let x = MatrixView::new(&data, n, d).expect("shape");
        let truth = brute_force_knn(x, k, Metric::Euclidean);
        for metric in [Metric::Euclidean, Metric::Cosine] {
            let truth = if metric == Metric::Euclidean {
                truth.clone()
            } else {
                brute_force_knn(x, k, metric)
            };
            let g = knn_graph(
                x,
                &params(k, metric, KnnMethod::NnDescent),
                &RunContext::silent(),
            )
            .expect("knn");
            let recall = crate::metrics::graph_recall(&truth, &g).expect("recall");
            assert!(recall >= 0.95, "{metric:?} recall {recall}");
            for i in 0..n {
                let ds = g.neighbor_distances(i);
                assert!(ds.windows(2).all(|w| w[0] <= w[1]));
                assert!(!g.neighbors(i).contains(&(i as u32)));
            }
        }
    }

    #[test]
    fn nn_descent_on_long_rows_with_constant_columns() {
        // Above 96 informative columns the trees split the leading principal coordinates
        // (here more axes than the data's rank, so some axes are arbitrary) and the search
        // reorders the columns by variance and drops constant ones; none of that may cost
        // recall, introduce duplicates, or depend on the thread count.
        // Clusters in 16 dimensions spread linearly over 159 (embeddings and images have a
        // low intrinsic dimension), 40 blank columns in front (as MNIST's borders) and a
        // constant one at the end.
        let (n, d, k, inner) = (3000, 200, 10, 16);
        let low = blobs(n, inner, 12, 21);
        let mut rng = crate::rng::Rng::new(4);
        let map: Vec<f32> = (0..inner * 159).map(|_| rng.normal() as f32).collect();
        let mut data = vec![0.0f32; n * d];
        for (row, z) in data.chunks_mut(d).zip(low.chunks(inner)) {
            for (c, v) in row[40..199].iter_mut().enumerate() {
                *v = (0..inner).map(|t| z[t] * map[t * 159 + c]).sum();
            }
            row[199] = 3.5;
        }
        let x = MatrixView::new(&data, n, d).expect("shape");
        let truth = brute_force_knn(x, k, Metric::Euclidean);
        let p = params(k, Metric::Euclidean, KnnMethod::NnDescent);
        let run = |threads: usize| on_threads(threads, || knn_graph(x, &p, &RunContext::silent()));
        let g = run(1);
        let recall = crate::metrics::graph_recall(&truth, &g).expect("recall");
        assert!(recall >= 0.95, "recall {recall}");
        for i in 0..n {
            let mut ids = g.neighbors(i).to_vec();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), k, "row {i} lists a neighbour twice");
            for (&j, &dist) in g.neighbors(i).iter().zip(g.neighbor_distances(i)) {
                let exact = distance(Metric::Euclidean, x.row(i), x.row(j as usize));
                assert!((dist - exact).abs() <= 1e-3 * (1.0 + exact), "row {i}");
            }
        }
        assert_eq!(g, run(3));
    }

    #[test]
    fn skipping_pairs_that_shared_a_leaf_gives_the_same_graph() {
        // Short rows (searched as they are) and long rows (principal-axis trees).
        let ctx = RunContext::silent();
        for (n, d, k) in [(3000, 20, 10), (2000, 160, 15)] {
            let data = blobs(n, d, 12, 17);
            let x = MatrixView::new(&data, n, d).expect("shape");
            let mut config = nndescent::NnDescentConfig::for_problem(n, d, k);
            let skipping = nndescent::nn_descent(x, k, 5, &config, &ctx).expect("skipping");
            config.skip_leaf_pairs = false;
            let all = nndescent::nn_descent(x, k, 5, &config, &ctx).expect("all pairs");
            assert!(skipping == all, "{n} × {d}: skipping changed the graph");
        }
    }

    #[test]
    fn half_precision_search_rows_give_the_same_graph() {
        // 8-bit values over 256 (as MNIST's pixels): half precision holds them exactly, so the
        // long-row search runs on half-precision rows, and must return the f32 search's graph
        // bit for bit.
        let (n, d, k) = (2000, 160, 10);
        let low = blobs(n, 8, 10, 31);
        let mut rng = crate::rng::Rng::new(6);
        let map: Vec<f32> = (0..8 * d).map(|_| rng.normal() as f32).collect();
        let data: Vec<f32> = low
            .chunks(8)
            .flat_map(|z| {
                let map = &map;
                (0..d).map(move |c| {
                    let v: f32 = (0..8).map(|t| z[t] * map[t * d + c]).sum();
                    (v * 4.0 + 128.0).round().clamp(0.0, 255.0) / 256.0
                })
            })
            .collect();
        assert!(data.iter().any(|&v| v > 0.0 && v < 1.0));
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("f16c") && is_x86_feature_detected!("avx2") {
            assert!(
                kernels::to_half_exact(&data).is_some(),
                "the half path must run"
            );
        }
        let x = MatrixView::new(&data, n, d).expect("shape");
        let mut config = nndescent::NnDescentConfig::for_problem(n, d, k);
        let ctx = RunContext::silent();
        let half = nndescent::nn_descent(x, k, 3, &config, &ctx).expect("half");
        config.half_precision = false;
        let single = nndescent::nn_descent(x, k, 3, &config, &ctx).expect("f32");
        assert!(
            half == single,
            "the half-precision search changed the graph"
        );
        let truth = brute_force_knn(x, k, Metric::Euclidean);
        let g =
            knn_graph(x, &params(k, Metric::Euclidean, KnnMethod::NnDescent), &ctx).expect("graph");
        let recall = crate::metrics::graph_recall(&truth, &g).expect("recall");
        assert!(recall >= 0.95, "recall {recall}");
    }

    #[test]
    fn deterministic_across_thread_counts() {
        let (n, d) = (3000, 16);
        let data = blobs(n, d, 8, 5);
        let x = MatrixView::new(&data, n, d).expect("shape");
        for method in [KnnMethod::Exact, KnnMethod::NnDescent] {
            let p = params(12, Metric::Euclidean, method);
            let run =
                |threads: usize| on_threads(threads, || knn_graph(x, &p, &RunContext::silent()));
            assert_eq!(run(1), run(3), "{method:?}");
        }
    }

    #[test]
    fn duplicates_zero_rows_and_k_over_n_are_defined() {
        // Ten identical rows, two zero rows, a few distinct ones.
        let mut data = [1.0f32, 2.0, 3.0].repeat(10);
        data.extend([0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        data.extend([1.0, 0.0, 0.0, -1.0, 0.5, 2.0, 3.0, 3.0, 3.0]);
        let n = data.len() / 3;
        let x = MatrixView::new(&data, n, 3).expect("shape");
        for method in [KnnMethod::Exact, KnnMethod::NnDescent] {
            for metric in [Metric::Euclidean, Metric::Cosine] {
                let g =
                    knn_graph(x, &params(40, metric, method), &RunContext::silent()).expect("knn");
                assert_eq!(g.k, n - 1);
                for i in 0..n {
                    let mut nb = g.neighbors(i).to_vec();
                    nb.sort_unstable();
                    nb.dedup();
                    assert_eq!(nb.len(), n - 1, "row {i} lists every other row once");
                }
                // A duplicate's nearest neighbours are its copies, at distance 0.
                assert!(g.neighbor_distances(0)[..9].iter().all(|&v| v.abs() < 1e-6));
                if metric == Metric::Cosine {
                    assert!(g.neighbor_distances(10).iter().all(|&v| v == 1.0));
                }
            }
        }
        let cancel = crate::CancelToken::new();
        cancel.cancel();
        let ctx = RunContext::new(&crate::NoProgress, &cancel);
        let big = blobs(500, 4, 2, 1);
        let xb = MatrixView::new(&big, 500, 4).expect("shape");
        assert_eq!(
            knn_graph(xb, &params(5, Metric::Euclidean, KnnMethod::Exact), &ctx),
            Err(ComputeError::Cancelled)
        );
    }
}
