//! t-SNE: affinities from a kNN graph (k = 3 × perplexity, per-row binary search on the
//! precision, symmetrised sparse P), early exaggeration then the normal phase with momentum and
//! per-coordinate gains, and three ways to compute the repulsive forces: exact (tiny n),
//! Barnes-Hut (2D quadtree, 3D octree) and FFT-accelerated interpolation on a grid (2D, large n).
//!
//! Defaults follow openTSNE 1.x: perplexity 30, 250 iterations at exaggeration 12 then 500 at 1,
//! learning rate max(n / exaggeration, 50), momentum 0.8, PCA initialisation scaled so the first
//! coordinate has standard deviation 1e-4, gradients without the constant factor 4.
//!
//! Every sum that feeds the layout runs in a fixed order, so a seed gives the same layout whatever
//! the number of threads.

mod affinities;
mod attraction;
mod barnes_hut;
mod exact;
mod fft_interp;
mod kernel;
mod optimizer;
mod transform;

#[cfg(test)]
mod tests;

use std::str::FromStr;

use crate::knn::{KnnMethod, KnnParams, knn_graph};
use crate::pca::{PcaParams, pca};
use crate::rng::Rng;
use crate::{ComputeError, KnnGraph, MatrixView, Metric, Result, RunContext};

pub use affinities::SparseAffinities;
pub use transform::TransformParams;

use kernel::Kernel;
use optimizer::{Phase, RepulsionEngine};

/// How the repulsive (negative) forces are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NegativeGradientMethod {
    /// Exact below 1,000 rows, Barnes-Hut below 10,000 rows or in 3D, FFT otherwise.
    #[default]
    Auto,
    /// Interpolation on a regular grid with FFT convolution (2D only; 3D falls back to Barnes-Hut).
    Fft,
    /// Space-partitioning tree with opening angle `theta`.
    BarnesHut,
    /// All pairs; O(n²) per iteration.
    Exact,
}

impl FromStr for NegativeGradientMethod {
    type Err = ComputeError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "fft" | "interpolation" => Ok(Self::Fft),
            "bh" | "barnes-hut" | "barnes_hut" | "barneshut" => Ok(Self::BarnesHut),
            "exact" => Ok(Self::Exact),
            other => Err(ComputeError::InvalidInput(format!(
                "unknown t-SNE negative gradient method {other:?}; expected auto, fft, bh or exact"
            ))),
        }
    }
}

/// How the layout starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Initialization {
    /// First principal components, scaled so the first has standard deviation 1e-4.
    #[default]
    Pca,
    /// Gaussian noise with standard deviation 1e-4.
    Random,
}

impl FromStr for Initialization {
    type Err = ComputeError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "pca" => Ok(Self::Pca),
            "random" => Ok(Self::Random),
            other => Err(ComputeError::InvalidInput(format!(
                "unknown t-SNE initialization {other:?}; expected pca or random"
            ))),
        }
    }
}

/// Step size of gradient descent.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum LearningRate {
    /// max(n / exaggeration, 50) in each phase (Belkina et al. 2019, as openTSNE).
    #[default]
    Auto,
    Fixed(f64),
}

impl LearningRate {
    fn resolve(self, n: usize, exaggeration: f64) -> f64 {
        match self {
            LearningRate::Auto => (n as f64 / exaggeration.max(f64::MIN_POSITIVE)).max(50.0),
            LearningRate::Fixed(rate) => rate,
        }
    }
}

/// Parameters of [`fit`]. `Default` equals openTSNE's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct TsneParams {
    /// 2 or 3.
    pub n_components: usize,
    /// Effective number of neighbours; clamped to (n − 1) / 3 on small inputs.
    pub perplexity: f64,
    pub learning_rate: LearningRate,
    /// Iterations of the normal phase (after early exaggeration).
    pub n_iter: usize,
    pub early_exaggeration: f64,
    pub early_exaggeration_iter: usize,
    /// Exaggeration of the normal phase (1 = plain t-SNE).
    pub exaggeration: f64,
    /// Degrees of freedom of the Student-t kernel (1 = Cauchy; below 1 = heavier tails).
    pub dof: f64,
    pub initial_momentum: f64,
    pub final_momentum: f64,
    /// Per-row cap on the length of one update step (openTSNE's `max_step_norm`); `None` = no cap.
    pub max_step_norm: Option<f64>,
    pub metric: Metric,
    /// How `fit` computes the kNN graph (exact or NN-descent).
    pub knn_method: KnnMethod,
    pub init: Initialization,
    pub negative_gradient_method: NegativeGradientMethod,
    /// Barnes-Hut opening angle.
    pub theta: f64,
    /// Interpolation nodes per grid box and dimension (FFT method).
    pub n_interpolation_points: usize,
    /// Fewest grid boxes per dimension (FFT method).
    pub min_num_intervals: usize,
    /// Layout units per grid box once the layout is wider than `min_num_intervals` (FFT method).
    pub ints_in_interval: f64,
    /// Most grid boxes per dimension, so the grid cannot blow up as the layout expands.
    pub max_num_intervals: usize,
    pub seed: u64,
    /// Report a KL divergence estimate every this many iterations (and at the end).
    pub loss_every: usize,
}

impl Default for TsneParams {
    fn default() -> Self {
        Self {
            n_components: 2,
            perplexity: 30.0,
            learning_rate: LearningRate::Auto,
            n_iter: 500,
            early_exaggeration: 12.0,
            early_exaggeration_iter: 250,
            exaggeration: 1.0,
            dof: 1.0,
            initial_momentum: 0.8,
            final_momentum: 0.8,
            max_step_norm: Some(5.0),
            metric: Metric::Euclidean,
            knn_method: KnnMethod::Auto,
            init: Initialization::Pca,
            negative_gradient_method: NegativeGradientMethod::Auto,
            theta: 0.5,
            n_interpolation_points: 3,
            min_num_intervals: 50,
            ints_in_interval: 1.0,
            max_num_intervals: 200,
            seed: 42,
            loss_every: 50,
        }
    }
}

impl TsneParams {
    fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(ComputeError::InvalidInput(what));
        if !(2..=3).contains(&self.n_components) {
            return bad(format!(
                "t-SNE n_components must be 2 or 3, got {}",
                self.n_components
            ));
        }
        if self.metric == Metric::InnerProduct {
            return bad("t-SNE metric must be euclidean or cosine, got inner_product".into());
        }
        if !(self.perplexity.is_finite() && self.perplexity > 0.0) {
            return bad(format!(
                "t-SNE perplexity must be a positive number, got {}",
                self.perplexity
            ));
        }
        if let LearningRate::Fixed(rate) = self.learning_rate
            && !(rate.is_finite() && rate > 0.0)
        {
            return bad(format!("t-SNE learning_rate must be positive, got {rate}"));
        }
        for (name, value) in [
            ("early_exaggeration", self.early_exaggeration),
            ("exaggeration", self.exaggeration),
            ("dof", self.dof),
            ("ints_in_interval", self.ints_in_interval),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return bad(format!("t-SNE {name} must be positive, got {value}"));
            }
        }
        for (name, value) in [
            ("initial_momentum", self.initial_momentum),
            ("final_momentum", self.final_momentum),
        ] {
            if !(0.0..1.0).contains(&value) {
                return bad(format!("t-SNE {name} must be in [0, 1), got {value}"));
            }
        }
        if !(self.theta.is_finite() && self.theta >= 0.0) {
            return bad(format!("t-SNE theta must be ≥ 0, got {}", self.theta));
        }
        if !(1..=8).contains(&self.n_interpolation_points) {
            return bad(format!(
                "t-SNE n_interpolation_points must be in 1..=8, got {}",
                self.n_interpolation_points
            ));
        }
        if self.min_num_intervals == 0 || self.max_num_intervals < self.min_num_intervals {
            return bad(format!(
                "t-SNE needs 1 ≤ min_num_intervals ≤ max_num_intervals, got {} and {}",
                self.min_num_intervals, self.max_num_intervals
            ));
        }
        if let Some(cap) = self.max_step_norm
            && !(cap.is_finite() && cap > 0.0)
        {
            return bad(format!("t-SNE max_step_norm must be positive, got {cap}"));
        }
        Ok(())
    }

    /// The perplexity actually used for `n_rows` rows: at most (n − 1) / 3 so that 3 × perplexity
    /// neighbours exist.
    pub fn effective_perplexity(&self, n_rows: usize) -> f64 {
        let limit = n_rows.saturating_sub(1) as f64 / 3.0;
        self.perplexity.min(limit)
    }

    /// Neighbours per row the affinities use: 3 × perplexity, at least 1, at most n − 1.
    pub fn n_neighbors(&self, n_rows: usize) -> usize {
        let k = (3.0 * self.effective_perplexity(n_rows)).floor() as usize;
        k.clamp(1, n_rows.saturating_sub(1).max(1))
    }

    fn method_for(&self, n_rows: usize) -> NegativeGradientMethod {
        match self.negative_gradient_method {
            NegativeGradientMethod::Auto if n_rows < 1_000 => NegativeGradientMethod::Exact,
            NegativeGradientMethod::Auto if n_rows < 10_000 || self.n_components != 2 => {
                NegativeGradientMethod::BarnesHut
            }
            NegativeGradientMethod::Auto => NegativeGradientMethod::Fft,
            NegativeGradientMethod::Fft if self.n_components != 2 => {
                NegativeGradientMethod::BarnesHut
            }
            other => other,
        }
    }
}

/// A fitted layout.
#[derive(Debug, Clone, PartialEq)]
pub struct TsneModel {
    /// Row-major n_rows × n_components.
    pub embedding: Vec<f32>,
    pub n_rows: usize,
    pub n_components: usize,
    /// KL(P ‖ Q) of the final layout.
    pub kl_divergence: f64,
    /// The perplexity used after clamping to the number of rows.
    pub perplexity: f64,
    /// The repulsion method used after resolving `Auto`.
    pub method: NegativeGradientMethod,
    pub params: TsneParams,
}

impl TsneModel {
    /// Row `i` of the layout.
    pub fn point(&self, i: usize) -> &[f32] {
        &self.embedding[i * self.n_components..(i + 1) * self.n_components]
    }

    /// Places the rows of `new` into this layout without moving the training points (as
    /// openTSNE's `transform`): affinities to the training rows, start at the affinity-weighted
    /// mean of the neighbours' positions, optimise the new points only. `train` must be the
    /// matrix this model was fitted on.
    pub fn transform(
        &self,
        train: MatrixView<'_>,
        new: MatrixView<'_>,
        ctx: &RunContext<'_>,
    ) -> Result<Vec<f32>> {
        self.transform_with(train, new, &TransformParams::default(), ctx)
    }

    /// [`transform`](Self::transform) with explicit parameters.
    pub fn transform_with(
        &self,
        train: MatrixView<'_>,
        new: MatrixView<'_>,
        params: &TransformParams,
        ctx: &RunContext<'_>,
    ) -> Result<Vec<f32>> {
        transform::transform(self, train, new, params, ctx)
    }
}

/// t-SNE of every row of `x`: kNN graph (k = 3 × perplexity), initial layout, optimisation.
pub fn fit(x: MatrixView<'_>, params: &TsneParams, ctx: &RunContext<'_>) -> Result<TsneModel> {
    params.validate()?;
    x.check_finite()?;
    let n = x.n_rows();
    let graph = if n < 2 {
        KnnGraph {
            n_rows: n,
            k: 0,
            indices: Vec::new(),
            distances: Vec::new(),
        }
    } else {
        knn_graph(
            x,
            &KnnParams {
                k: params.n_neighbors(n),
                metric: params.metric,
                method: params.knn_method,
                seed: params.seed,
            },
            ctx,
        )?
    };
    ctx.check_cancelled()?;
    let init = initial_layout(x, params, ctx)?;
    fit_with_graph(&graph, &init, params, ctx)
}

/// The starting layout `fit` uses: scaled PCA or small Gaussian noise (row-major n × c).
pub fn initial_layout(
    x: MatrixView<'_>,
    params: &TsneParams,
    ctx: &RunContext<'_>,
) -> Result<Vec<f32>> {
    params.validate()?;
    let n = x.n_rows();
    let c = params.n_components;
    if params.init == Initialization::Random || n < 2 || x.dim() < c {
        return Ok(random_layout(n, c, params.seed));
    }
    let result = match pca(
        x,
        &PcaParams {
            n_components: c,
            seed: params.seed,
            ..Default::default()
        },
        ctx,
    ) {
        Ok(result) => result,
        Err(ComputeError::Cancelled) => return Err(ComputeError::Cancelled),
        // Too few rows or dimensions for the components asked: start from noise instead.
        Err(ComputeError::InvalidInput(_)) => return Ok(random_layout(n, c, params.seed)),
    };
    let mut coords = result.coords;
    let first: Vec<f64> = coords.iter().step_by(c).map(|&v| f64::from(v)).collect();
    let mean = first.iter().sum::<f64>() / n as f64;
    let std = (first.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    if !(std.is_finite() && std > 1e-12) {
        // Every row identical (or numerically so): PCA has no direction to offer.
        return Ok(random_layout(n, c, params.seed));
    }
    let scale = 1e-4 / std;
    // A jitter far below the PCA scale separates duplicate rows without changing the picture.
    let mut rng = Rng::new(params.seed ^ 0x7453_4e45);
    for v in coords.iter_mut() {
        *v = (f64::from(*v) * scale + rng.normal() * 1e-4 * 1e-3) as f32;
    }
    Ok(coords)
}

/// Gaussian noise with standard deviation 1e-4 (openTSNE's random initialisation).
pub fn random_layout(n_rows: usize, n_components: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n_rows * n_components)
        .map(|_| (rng.normal() * 1e-4) as f32)
        .collect()
}

/// t-SNE over a precomputed kNN graph (its neighbours define P) from the layout `init`
/// (row-major n × n_components, e.g. from [`initial_layout`]).
pub fn fit_with_graph(
    graph: &KnnGraph,
    init: &[f32],
    params: &TsneParams,
    ctx: &RunContext<'_>,
) -> Result<TsneModel> {
    params.validate()?;
    let n = graph.n_rows;
    let c = params.n_components;
    if init.len() != n * c {
        return Err(ComputeError::InvalidInput(format!(
            "t-SNE initial layout has {} values; expected {n} rows × {c} components",
            init.len()
        )));
    }
    if let Some(pos) = init.iter().position(|v| !v.is_finite()) {
        return Err(ComputeError::InvalidInput(format!(
            "t-SNE initial layout holds a non-finite value at row {}, component {}",
            pos / c,
            pos % c
        )));
    }
    if graph.indices.len() != n * graph.k || graph.distances.len() != n * graph.k {
        return Err(ComputeError::InvalidInput(format!(
            "kNN graph of {n} rows × {} neighbours has {} indices and {} distances",
            graph.k,
            graph.indices.len(),
            graph.distances.len()
        )));
    }
    if let Some(&bad) = graph.indices.iter().find(|&&j| j as usize >= n) {
        return Err(ComputeError::InvalidInput(format!(
            "kNN graph refers to row {bad}, but has only {n} rows"
        )));
    }
    let perplexity = params.effective_perplexity(n);
    let method = params.method_for(n);
    let mut model = TsneModel {
        embedding: init.to_vec(),
        n_rows: n,
        n_components: c,
        kl_divergence: 0.0,
        perplexity,
        method,
        params: params.clone(),
    };
    if n < 2 || graph.k == 0 {
        // One row (or no neighbours): nothing attracts or repels; the layout is the origin.
        model.embedding.iter_mut().for_each(|v| *v = 0.0);
        return Ok(model);
    }
    let p = SparseAffinities::from_knn(graph, perplexity.max(f64::MIN_POSITIVE), ctx)?;
    let mut y: Vec<f64> = init.iter().map(|&v| f64::from(v)).collect();
    let kernel = Kernel::new(params.dof);
    let mut engine = RepulsionEngine::new(method, c, kernel, params);
    let phases = [
        Phase {
            stage: "tsne:exaggeration",
            n_iter: params.early_exaggeration_iter,
            exaggeration: params.early_exaggeration,
            momentum: params.initial_momentum,
            learning_rate: params.learning_rate.resolve(n, params.early_exaggeration),
        },
        Phase {
            stage: "tsne:optimize",
            n_iter: params.n_iter,
            exaggeration: params.exaggeration,
            momentum: params.final_momentum,
            learning_rate: params.learning_rate.resolve(n, params.exaggeration),
        },
    ];
    let kl = optimizer::optimize(&mut y, c, &p, &mut engine, kernel, &phases, params, ctx)?;
    model.embedding = y.iter().map(|&v| v as f32).collect();
    model.kl_divergence = kl;
    Ok(model)
}
