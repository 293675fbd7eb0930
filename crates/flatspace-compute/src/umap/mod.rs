//! UMAP (McInnes, Healy & Melville 2018), following umap-learn's algorithm and defaults:
//!
//! 1. kNN graph (`n_neighbors` counts the point itself, as umap-learn does, so the graph has
//!    `n_neighbors − 1` neighbours per row);
//! 2. fuzzy simplicial set: per-row `rho`/`sigma` by binary search, fuzzy union
//!    ([`fuzzy`]);
//! 3. `a`, `b` fitted from `min_dist` and `spread` ([`ab`]);
//! 4. initialisation: spectral ([`spectral`]), PCA or random, scaled into `[0, 10]`;
//! 5. SGD with negative sampling on the reference's epoch schedule ([`optimize`]).
//!
//! [`UmapModel::transform`] places new rows into a fitted layout.

pub mod ab;
pub mod fuzzy;
pub mod optimize;
pub mod sparse;
pub mod spectral;

use rayon::prelude::*;

pub use optimize::OptimizeMode;
pub use sparse::CsrGraph;

use crate::knn::{self, KnnGraph, KnnMethod, KnnParams, Metric};
use crate::rng::Rng;
use crate::{ComputeError, MatrixView, Result, RunContext};
use optimize::{EdgeSchedule, SgdParams};

/// How the layout starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Init {
    /// Eigenvectors of the normalised graph Laplacian (umap-learn's default).
    #[default]
    Spectral,
    /// The first principal components of the input.
    Pca,
    /// Uniform in a box, seeded.
    Random,
}

impl std::str::FromStr for Init {
    type Err = ComputeError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "spectral" => Ok(Self::Spectral),
            "pca" => Ok(Self::Pca),
            "random" => Ok(Self::Random),
            other => Err(ComputeError::InvalidInput(format!(
                "unknown UMAP init {other:?}; expected spectral, pca or random"
            ))),
        }
    }
}

/// UMAP parameters; `Default` gives umap-learn's defaults (with seed 42).
#[derive(Debug, Clone, PartialEq)]
pub struct UmapParams {
    /// Size of the local neighbourhood, the point itself included (umap-learn's meaning).
    pub n_neighbors: usize,
    /// Output dimensions (1 to 8; the product uses 2 and 3).
    pub n_components: usize,
    pub metric: Metric,
    /// How [`fit`] builds the kNN graph (exact or NN-descent; `Auto` picks by size).
    pub knn_method: KnnMethod,
    /// Optimisation epochs; `None` = 500 for up to 10,000 rows, else 200.
    pub n_epochs: Option<usize>,
    pub learning_rate: f32,
    pub init: Init,
    /// Smallest distance between points in the layout (with `spread`, sets `a` and `b`).
    pub min_dist: f32,
    pub spread: f32,
    /// 1 = fuzzy union of the directed graph with its transpose, 0 = intersection.
    pub set_op_mix_ratio: f32,
    /// How many nearest neighbours every point is assumed connected to.
    pub local_connectivity: f32,
    /// Weight of the repulsive (negative-sample) term.
    pub repulsion_strength: f32,
    /// Negative samples per positive sample.
    pub negative_sample_rate: usize,
    /// Explicit curve parameters; when `None` they are fitted from `min_dist` and `spread`.
    pub a: Option<f32>,
    pub b: Option<f32>,
    pub seed: u64,
    pub mode: OptimizeMode,
}

impl Default for UmapParams {
    fn default() -> Self {
        Self {
            n_neighbors: 15,
            n_components: 2,
            metric: Metric::Euclidean,
            knn_method: KnnMethod::Auto,
            n_epochs: None,
            learning_rate: 1.0,
            init: Init::Spectral,
            min_dist: 0.1,
            spread: 1.0,
            set_op_mix_ratio: 1.0,
            local_connectivity: 1.0,
            repulsion_strength: 1.0,
            negative_sample_rate: 5,
            a: None,
            b: None,
            seed: 42,
            mode: OptimizeMode::Deterministic,
        }
    }
}

impl UmapParams {
    /// Errors naming the first parameter outside its accepted range.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(ComputeError::InvalidInput(msg));
        if self.n_neighbors < 2 {
            return bad(format!(
                "n_neighbors must be at least 2, got {}",
                self.n_neighbors
            ));
        }
        if !(1..=8).contains(&self.n_components) {
            return bad(format!(
                "n_components must be between 1 and 8, got {}",
                self.n_components
            ));
        }
        if !(self.spread.is_finite() && self.spread > 0.0) {
            return bad(format!("spread must be positive, got {}", self.spread));
        }
        if !(self.min_dist.is_finite() && self.min_dist >= 0.0) {
            return bad(format!(
                "min_dist must be at least 0, got {}",
                self.min_dist
            ));
        }
        if self.min_dist > self.spread {
            return bad(format!(
                "min_dist ({}) must be less than or equal to spread ({})",
                self.min_dist, self.spread
            ));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(format!(
                "learning_rate must be positive, got {}",
                self.learning_rate
            ));
        }
        if !(self.repulsion_strength.is_finite() && self.repulsion_strength >= 0.0) {
            return bad(format!(
                "repulsion_strength must be at least 0, got {}",
                self.repulsion_strength
            ));
        }
        if !(0.0..=1.0).contains(&self.set_op_mix_ratio) {
            return bad(format!(
                "set_op_mix_ratio must be between 0 and 1, got {}",
                self.set_op_mix_ratio
            ));
        }
        if !(self.local_connectivity.is_finite() && self.local_connectivity >= 0.0) {
            return bad(format!(
                "local_connectivity must be at least 0, got {}",
                self.local_connectivity
            ));
        }
        if let Some(e) = self.n_epochs
            && e > 1_000_000
        {
            return bad(format!("n_epochs must be at most 1,000,000, got {e}"));
        }
        for (name, v) in [("a", self.a), ("b", self.b)] {
            if let Some(v) = v
                && !(v.is_finite() && v > 0.0)
            {
                return bad(format!("{name} must be positive, got {v}"));
            }
        }
        Ok(())
    }

    /// Epochs for a graph of `n_rows` rows (umap-learn: 500 up to 10,000 rows, else 200).
    pub fn resolved_n_epochs(&self, n_rows: usize) -> usize {
        self.n_epochs.unwrap_or(default_epochs(n_rows))
    }

    /// The curve parameters `(a, b)`: explicit ones, or fitted from `min_dist` and `spread`.
    pub fn curve_params(&self) -> Result<(f32, f32)> {
        let fitted = ab::find_ab_params(f64::from(self.spread), f64::from(self.min_dist));
        match (self.a, self.b, fitted) {
            (Some(a), Some(b), _) => Ok((a, b)),
            (a, b, Some((fa, fb))) => Ok((a.unwrap_or(fa as f32), b.unwrap_or(fb as f32))),
            _ => Err(ComputeError::InvalidInput(format!(
                "could not fit the curve for min_dist {} and spread {}; pass a and b",
                self.min_dist, self.spread
            ))),
        }
    }
}

fn default_epochs(n_rows: usize) -> usize {
    if n_rows <= 10_000 { 500 } else { 200 }
}

/// A fitted layout.
#[derive(Debug, Clone, PartialEq)]
pub struct UmapModel {
    /// Row-major `n_rows × n_components` coordinates.
    pub embedding: Vec<f32>,
    pub n_rows: usize,
    pub n_components: usize,
    /// Input dimension the model was fitted on (transform checks new rows against it).
    pub dim: usize,
    pub a: f32,
    pub b: f32,
    /// Epochs the fit ran.
    pub n_epochs: usize,
    pub params: UmapParams,
}

/// The symmetric fuzzy simplicial set of a kNN graph (`graph.k` neighbours per row, self
/// excluded; the first `n_neighbors − 1` are used). Not pruned.
pub fn fuzzy_graph(graph: &KnnGraph, params: &UmapParams) -> Result<CsrGraph> {
    let n = graph.n_rows;
    let k = usable_k(graph, params.n_neighbors)?;
    let (indices, distances) = leading_columns(graph, k);
    if k == 0 {
        return Ok(CsrGraph::empty(n));
    }
    let smooth = fuzzy::smooth_knn_dist(
        &distances,
        k,
        (k + 1) as f64,
        f64::from(params.local_connectivity),
        true,
    );
    Ok(fuzzy::fuzzy_union(
        n,
        k,
        &indices,
        &distances,
        &smooth,
        params.set_op_mix_ratio,
    ))
}

fn usable_k(graph: &KnnGraph, n_neighbors: usize) -> Result<usize> {
    let want = (n_neighbors - 1).min(graph.n_rows.saturating_sub(1));
    if graph.k < want {
        return Err(ComputeError::InvalidInput(format!(
            "the kNN graph has {} neighbours per row but n_neighbors = {} needs {} (the point itself counts as one)",
            graph.k, n_neighbors, want
        )));
    }
    if graph.indices.len() != graph.n_rows * graph.k
        || graph.distances.len() != graph.n_rows * graph.k
    {
        return Err(ComputeError::InvalidInput(format!(
            "the kNN graph's arrays do not match {} rows × {} neighbours",
            graph.n_rows, graph.k
        )));
    }
    Ok(want)
}

fn leading_columns(graph: &KnnGraph, k: usize) -> (Vec<u32>, Vec<f32>) {
    if k == graph.k {
        return (graph.indices.clone(), graph.distances.clone());
    }
    let mut idx = Vec::with_capacity(graph.n_rows * k);
    let mut dist = Vec::with_capacity(graph.n_rows * k);
    for r in 0..graph.n_rows {
        idx.extend_from_slice(&graph.neighbors(r)[..k]);
        dist.extend_from_slice(&graph.neighbor_distances(r)[..k]);
    }
    (idx, dist)
}

/// Fits UMAP on the rows of `x`: computes the kNN graph, then [`fit_with_graph`].
pub fn fit(x: MatrixView<'_>, params: &UmapParams, ctx: &RunContext<'_>) -> Result<UmapModel> {
    params.validate()?;
    x.check_finite()?;
    let graph = knn::knn_graph(
        x,
        &KnnParams {
            k: params.n_neighbors - 1,
            metric: params.metric,
            method: params.knn_method,
            seed: params.seed,
        },
        ctx,
    )?;
    fit_with_graph(x, &graph, params, ctx)
}

/// Fits UMAP from a precomputed kNN graph of the rows of `x` (e.g. one cached in the store).
/// `x` is still needed for PCA initialisation and to place disconnected components.
pub fn fit_with_graph(
    x: MatrixView<'_>,
    graph: &KnnGraph,
    params: &UmapParams,
    ctx: &RunContext<'_>,
) -> Result<UmapModel> {
    params.validate()?;
    let n = x.n_rows();
    if graph.n_rows != n {
        return Err(ComputeError::InvalidInput(format!(
            "the kNN graph has {} rows but the matrix has {n}",
            graph.n_rows
        )));
    }
    let dim = params.n_components;
    let (a, b) = params.curve_params()?;
    let n_epochs = params.resolved_n_epochs(n);
    let model = |embedding: Vec<f32>| UmapModel {
        embedding,
        n_rows: n,
        n_components: dim,
        dim: x.dim(),
        a,
        b,
        n_epochs,
        params: params.clone(),
    };
    if n <= 1 {
        return Ok(model(vec![0.0; n * dim]));
    }
    ctx.check_cancelled()?;
    ctx.report("umap:graph", 0, 1);
    let full = fuzzy_graph(graph, params)?;
    // Edges below max / n_epochs would never be sampled; the reference drops them before the
    // initialisation too.
    let prune_epochs = if n_epochs > 10 {
        n_epochs
    } else {
        default_epochs(n)
    };
    let fuzzy = full.prune_below(full.max_value() / prune_epochs as f32);
    ctx.report("umap:graph", 1, 1);
    ctx.check_cancelled()?;

    ctx.report("umap:init", 0, 1);
    let mut embedding = initial_layout(x, &fuzzy, params, ctx)?;
    ctx.report("umap:init", 1, 1);

    let schedule = EdgeSchedule::from_graph(&fuzzy);
    let sgd = SgdParams {
        a,
        b,
        gamma: params.repulsion_strength,
        initial_alpha: params.learning_rate,
        negative_sample_rate: params.negative_sample_rate as f32,
        n_epochs,
        attraction_scale: 2.0,
        seed: params.seed,
        mode: params.mode,
    };
    optimize::optimize_layout(
        &mut embedding,
        None,
        dim,
        &schedule,
        &sgd,
        "umap:optimize",
        ctx,
    )?;
    Ok(model(embedding))
}

/// Initial layout, each column scaled into `[0, 10]` as the reference does.
fn initial_layout(
    x: MatrixView<'_>,
    graph: &CsrGraph,
    params: &UmapParams,
    ctx: &RunContext<'_>,
) -> Result<Vec<f32>> {
    let n = x.n_rows();
    let dim = params.n_components;
    let mut rng = Rng::derive(params.seed, 0x1417);
    let random = |rng: &mut Rng| -> Vec<f64> {
        (0..n * dim).map(|_| rng.next_f64() * 20.0 - 10.0).collect()
    };
    let coords: Vec<f64> = match params.init {
        Init::Random => random(&mut rng),
        Init::Spectral => {
            let centroids = |labels: &[u32], n_comp: usize| {
                component_centroid_layout(x, labels, n_comp, dim, params.seed)
            };
            match spectral::spectral_layout(graph, dim, params.seed, Some(&centroids)) {
                Some(c) => noisy_scale(c, &mut rng),
                None => random(&mut rng),
            }
        }
        Init::Pca => noisy_scale(pca_coords(x, dim, params.seed, ctx)?, &mut rng),
    };
    Ok(scale_to_box(&coords, n, dim))
}

/// Scales so the largest absolute coordinate is 10, plus N(0, 1e-4) noise (ties broken).
fn noisy_scale(mut coords: Vec<f64>, rng: &mut Rng) -> Vec<f64> {
    let max_abs = coords.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let expansion = if max_abs > 0.0 { 10.0 / max_abs } else { 1.0 };
    for v in &mut coords {
        *v = *v * expansion + 1e-4 * rng.normal();
    }
    coords
}

fn scale_to_box(coords: &[f64], n: usize, dim: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; n * dim];
    for d in 0..dim {
        let (lo, hi) = (0..n).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| {
            let v = coords[r * dim + d];
            (lo.min(v), hi.max(v))
        });
        let range = hi - lo;
        for r in 0..n {
            out[r * dim + d] = if range > 0.0 {
                (10.0 * (coords[r * dim + d] - lo) / range) as f32
            } else {
                5.0
            };
        }
    }
    out
}

/// PCA coordinates of the rows (`n × dim`, f64), as the reference's `init="pca"`; when the
/// rows have fewer than `dim` columns the extra coordinates are 0.
fn pca_coords(x: MatrixView<'_>, dim: usize, seed: u64, ctx: &RunContext<'_>) -> Result<Vec<f64>> {
    let (n, d) = (x.n_rows(), x.dim());
    let k = dim.min(d);
    let mut out = vec![0.0f64; n * dim];
    if n == 0 || k == 0 {
        return Ok(out);
    }
    let params = crate::pca::PcaParams {
        n_components: k,
        seed,
        ..Default::default()
    };
    let result = crate::pca::pca(x, &params, ctx)?;
    for i in 0..n {
        for (o, &c) in out[i * dim..i * dim + k].iter_mut().zip(result.row(i)) {
            *o = f64::from(c);
        }
    }
    Ok(out)
}

/// Anchors for the components of a disconnected graph: PCA of the component centroids in
/// the input space, so nearby components start near each other (the reference embeds the
/// centroids spectrally).
fn component_centroid_layout(
    x: MatrixView<'_>,
    labels: &[u32],
    n_comp: usize,
    dim: usize,
    seed: u64,
) -> Option<Vec<f64>> {
    let d = x.dim();
    if d == 0 {
        return None;
    }
    let mut sums = vec![0.0f64; n_comp * d];
    let mut counts = vec![0usize; n_comp];
    for (r, &l) in labels.iter().enumerate() {
        counts[l as usize] += 1;
        for (s, &v) in sums[l as usize * d..(l as usize + 1) * d]
            .iter_mut()
            .zip(x.row(r))
        {
            *s += f64::from(v);
        }
    }
    for (c, &count) in counts.iter().enumerate() {
        for s in &mut sums[c * d..(c + 1) * d] {
            *s /= count.max(1) as f64;
        }
    }
    let centroids: Vec<f32> = sums.iter().map(|&v| v as f32).collect();
    let view = MatrixView::new(&centroids, n_comp, d).ok()?;
    pca_coords(view, dim, seed, &RunContext::silent()).ok()
}

impl UmapModel {
    /// Places new rows into the fitted layout: their neighbours among the training rows
    /// (`train` must be the matrix the model was fitted on), memberships as in the fit, start at
    /// the weighted mean of the neighbours' positions, then a short optimisation that moves
    /// only the new points (umap-learn's `transform`). Returns `new.n_rows() × n_components`.
    pub fn transform(
        &self,
        train: MatrixView<'_>,
        new: MatrixView<'_>,
        ctx: &RunContext<'_>,
    ) -> Result<Vec<f32>> {
        if train.n_rows() != self.n_rows {
            return Err(ComputeError::InvalidInput(format!(
                "transform needs the {} training rows the model was fitted on, got {}",
                self.n_rows,
                train.n_rows()
            )));
        }
        if new.dim() != train.dim() || train.dim() != self.dim {
            return Err(ComputeError::InvalidInput(format!(
                "new rows have {} dimensions, the model was fitted on {}",
                new.dim(),
                self.dim
            )));
        }
        new.check_finite()?;
        let k = self.params.n_neighbors.min(self.n_rows);
        let (indices, distances) = query_knn(train, new, k, self.params.metric, ctx)?;
        self.transform_with_neighbors(k, &indices, &distances, ctx)
    }

    /// [`Self::transform`] from precomputed neighbours of the new rows among the training rows:
    /// `k` per row, row-major, ascending distance.
    pub fn transform_with_neighbors(
        &self,
        k: usize,
        indices: &[u32],
        distances: &[f32],
        ctx: &RunContext<'_>,
    ) -> Result<Vec<f32>> {
        let dim = self.n_components;
        if k == 0 || self.n_rows == 0 {
            return Ok(vec![0.0; indices.len().checked_div(k).unwrap_or(0) * dim]);
        }
        if indices.len() != distances.len() || !indices.len().is_multiple_of(k) {
            return Err(ComputeError::InvalidInput(format!(
                "neighbour arrays of {} indices and {} distances do not form rows of {k}",
                indices.len(),
                distances.len()
            )));
        }
        if let Some(pos) = indices.iter().position(|&i| i as usize >= self.n_rows) {
            return Err(ComputeError::InvalidInput(format!(
                "neighbour index {} at row {}, column {} is not a training row (model has {})",
                indices[pos],
                pos / k,
                pos % k,
                self.n_rows
            )));
        }
        let n_new = indices.len() / k;
        let smooth = fuzzy::smooth_knn_dist(
            distances,
            k,
            k as f64,
            f64::from((self.params.local_connectivity - 1.0).max(0.0)),
            false,
        );
        let weights: Vec<f32> = distances
            .iter()
            .enumerate()
            .map(|(e, &d)| fuzzy::membership(d, smooth.sigmas[e / k], smooth.rhos[e / k]))
            .collect();
        // Start at the weighted mean of the neighbours' positions.
        let mut head = vec![0.0f32; n_new * dim];
        head.par_chunks_mut(dim).enumerate().for_each(|(r, out)| {
            let row_w = &weights[r * k..(r + 1) * k];
            let total: f32 = row_w.iter().sum();
            for (&j, &w) in indices[r * k..(r + 1) * k].iter().zip(row_w) {
                let w = if total > 0.0 {
                    w / total
                } else {
                    1.0 / k as f32
                };
                for (o, &p) in out
                    .iter_mut()
                    .zip(&self.embedding[j as usize * dim..(j as usize + 1) * dim])
                {
                    *o += w * p;
                }
            }
        });
        let n_epochs = match self.params.n_epochs {
            None if n_new <= 10_000 => 100,
            None => 30,
            Some(e) => e / 3,
        };
        if n_epochs == 0 {
            return Ok(head);
        }
        let max_w = weights.iter().copied().fold(0.0f32, f32::max);
        let threshold = max_w / n_epochs as f32;
        let mut row_ptr = Vec::with_capacity(n_new + 1);
        row_ptr.push(0);
        let mut cols = Vec::new();
        let mut vals = Vec::new();
        for r in 0..n_new {
            for e in r * k..(r + 1) * k {
                if weights[e] >= threshold && weights[e] > 0.0 {
                    cols.push(indices[e]);
                    vals.push(weights[e]);
                }
            }
            row_ptr.push(cols.len());
        }
        let graph = CsrGraph {
            n_rows: n_new,
            row_ptr,
            cols,
            vals,
        };
        let schedule = EdgeSchedule::from_graph(&graph);
        let sgd = SgdParams {
            a: self.a,
            b: self.b,
            gamma: self.params.repulsion_strength,
            initial_alpha: self.params.learning_rate / 4.0,
            negative_sample_rate: self.params.negative_sample_rate as f32,
            n_epochs,
            attraction_scale: 1.0,
            seed: self.params.seed ^ 0x7A45_F0E1,
            mode: OptimizeMode::Deterministic,
        };
        optimize::optimize_layout(
            &mut head,
            Some(&self.embedding),
            dim,
            &schedule,
            &sgd,
            "umap:transform",
            ctx,
        )?;
        Ok(head)
    }
}

/// The `k` nearest training rows of every new row (exact scan; fine for the modest batches
/// transform is used with).
fn query_knn(
    train: MatrixView<'_>,
    new: MatrixView<'_>,
    k: usize,
    metric: Metric,
    ctx: &RunContext<'_>,
) -> Result<(Vec<u32>, Vec<f32>)> {
    let n_new = new.n_rows();
    let mut indices = vec![0u32; n_new * k];
    let mut distances = vec![0f32; n_new * k];
    indices
        .par_chunks_mut(k * 64)
        .zip(distances.par_chunks_mut(k * 64))
        .enumerate()
        .try_for_each(|(chunk, (idx_out, dist_out))| -> Result<()> {
            ctx.check_cancelled()?;
            let mut cand: Vec<(f32, u32)> = Vec::with_capacity(train.n_rows());
            for (local, (ir, dr)) in idx_out
                .chunks_mut(k)
                .zip(dist_out.chunks_mut(k))
                .enumerate()
            {
                let q = new.row(chunk * 64 + local);
                cand.clear();
                cand.extend(
                    (0..train.n_rows()).map(|j| (knn::distance(metric, q, train.row(j)), j as u32)),
                );
                let by = |a: &(f32, u32), b: &(f32, u32)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
                if cand.len() > k {
                    cand.select_nth_unstable_by(k, by);
                    cand.truncate(k);
                }
                cand.sort_unstable_by(by);
                for (s, &(d, j)) in cand.iter().enumerate() {
                    ir[s] = j;
                    dr[s] = d;
                }
            }
            Ok(())
        })?;
    Ok((indices, distances))
}

#[cfg(test)]
mod tests;
