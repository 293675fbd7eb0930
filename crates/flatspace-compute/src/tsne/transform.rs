//! Adding new rows to a fitted layout (as openTSNE's `transform`): each new row gets conditional
//! affinities to its nearest training rows, starts at the affinity-weighted mean of their
//! positions, and is optimised against the fixed training layout. Each new point minimises its
//! own KL(P_i ‖ Q_i), Q_i normalised over the training points, so new points do not interact.

// Coordinates of 2 or 3 dimensions are indexed together across several arrays.
#![allow(clippy::needless_range_loop)]

use rayon::prelude::*;

use super::TsneModel;
use super::affinities::conditional_probabilities;
use super::barnes_hut::SpaceTree;
use super::kernel::Kernel;
use crate::context::Progress;
use crate::knn::distance;
use crate::{ComputeError, MatrixView, Metric, Result, RunContext};

/// Parameters of [`TsneModel::transform_with`]; defaults follow openTSNE's `transform`.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformParams {
    /// Perplexity of the new rows' affinities (small: a new point should follow its closest
    /// neighbours).
    pub perplexity: f64,
    /// Training neighbours per new row.
    pub n_neighbors: usize,
    pub n_iter: usize,
    pub learning_rate: f64,
    pub exaggeration: f64,
    pub momentum: f64,
    /// Per-row cap on the gradient's length.
    pub max_grad_norm: f64,
    /// Barnes-Hut opening angle of the repulsion from the training layout.
    pub theta: f64,
}

impl Default for TransformParams {
    fn default() -> Self {
        Self {
            perplexity: 5.0,
            n_neighbors: 25,
            n_iter: 250,
            learning_rate: 0.1,
            exaggeration: 1.5,
            momentum: 0.8,
            max_grad_norm: 0.25,
            theta: 0.5,
        }
    }
}

pub(crate) fn transform(
    model: &TsneModel,
    train: MatrixView<'_>,
    new: MatrixView<'_>,
    params: &TransformParams,
    ctx: &RunContext<'_>,
) -> Result<Vec<f32>> {
    if train.n_rows() != model.n_rows {
        return Err(ComputeError::InvalidInput(format!(
            "t-SNE transform: the model was fitted on {} rows but the training matrix has {}",
            model.n_rows,
            train.n_rows()
        )));
    }
    if train.dim() != new.dim() {
        return Err(ComputeError::InvalidInput(format!(
            "t-SNE transform: new rows have {} dimensions, the training rows {}",
            new.dim(),
            train.dim()
        )));
    }
    if !(params.perplexity.is_finite() && params.perplexity > 0.0) || params.n_neighbors == 0 {
        return Err(ComputeError::InvalidInput(format!(
            "t-SNE transform needs a positive perplexity and n_neighbors, got {} and {}",
            params.perplexity, params.n_neighbors
        )));
    }
    new.check_finite()?;
    let c = model.n_components;
    let n_train = model.n_rows;
    let m = new.n_rows();
    if m == 0 {
        return Ok(Vec::new());
    }
    if n_train == 0 {
        return Err(ComputeError::InvalidInput(
            "t-SNE transform: the model has no training rows to place new rows against".into(),
        ));
    }
    let k = params.n_neighbors.min(n_train);
    let (neighbors, distances) = query_knn(train, new, k, model.params.metric, ctx)?;
    let perplexity = params.perplexity.min(k as f64 / 3.0).max(f64::MIN_POSITIVE);
    let p = conditional_probabilities(&distances, k, perplexity);
    let reference: Vec<f64> = model.embedding.iter().map(|&v| f64::from(v)).collect();
    let mut y = vec![0f64; m * c];
    for (i, yi) in y.chunks_mut(c).enumerate() {
        for slot in 0..k {
            let j = neighbors[i * k + slot] as usize;
            let w = f64::from(p[i * k + slot]);
            for d in 0..c {
                yi[d] += w * reference[j * c + d];
            }
        }
    }
    let kernel = Kernel::new(model.params.dof);
    let setup = Setup {
        reference: &reference,
        neighbors: &neighbors,
        p: &p,
        k,
        kernel,
        params,
    };
    if c == 3 {
        optimize::<3>(&setup, &mut y, ctx)?;
    } else {
        optimize::<2>(&setup, &mut y, ctx)?;
    }
    Ok(y.iter().map(|&v| v as f32).collect())
}

struct Setup<'a> {
    reference: &'a [f64],
    neighbors: &'a [u32],
    p: &'a [f32],
    k: usize,
    kernel: Kernel,
    params: &'a TransformParams,
}

fn optimize<const D: usize>(s: &Setup<'_>, y: &mut [f64], ctx: &RunContext<'_>) -> Result<()> {
    let tree = SpaceTree::<D>::build(s.reference);
    let mut update = vec![0f64; y.len()];
    let mut gains = vec![1f64; y.len()];
    let params = s.params;
    let stage = "tsne:transform";
    for iter in 0..params.n_iter {
        ctx.check_cancelled()?;
        y.par_chunks_mut(D)
            .zip(update.par_chunks_mut(D))
            .zip(gains.par_chunks_mut(D))
            .enumerate()
            .for_each(|(i, ((yi, ui), gi))| {
                let mut grad = [0f64; D];
                for slot in 0..s.k {
                    let j = s.neighbors[i * s.k + slot] as usize;
                    let yj = &s.reference[j * D..(j + 1) * D];
                    let mut d2 = 0.0;
                    for c in 0..D {
                        d2 += (yi[c] - yj[c]) * (yi[c] - yj[c]);
                    }
                    let a = f64::from(s.p[i * s.k + slot]) * s.kernel.attraction(d2);
                    for c in 0..D {
                        grad[c] += params.exaggeration * a * (yi[c] - yj[c]);
                    }
                }
                let mut repel = [0f64; D];
                let z = tree.query(yi, usize::MAX, s.kernel, params.theta, &mut repel);
                let inv_z = if z > 0.0 { 1.0 / z } else { 0.0 };
                let mut norm2 = 0.0;
                for c in 0..D {
                    grad[c] -= repel[c] * inv_z;
                    norm2 += grad[c] * grad[c];
                }
                if norm2 > params.max_grad_norm * params.max_grad_norm {
                    let scale = params.max_grad_norm / norm2.sqrt();
                    grad.iter_mut().for_each(|g| *g *= scale);
                }
                for c in 0..D {
                    if (grad[c] > 0.0) != (ui[c] > 0.0) {
                        gi[c] += 0.2;
                    } else {
                        gi[c] *= 0.8;
                    }
                    gi[c] = gi[c].max(0.01);
                    ui[c] = params.momentum * ui[c] - params.learning_rate * gi[c] * grad[c];
                    yi[c] += ui[c];
                }
            });
        ctx.progress.report(&Progress {
            stage,
            done: iter as u64 + 1,
            total: params.n_iter as u64,
            loss: None,
            positions: None,
        });
    }
    Ok(())
}

/// The `k` nearest training rows of every new row (brute force; new rows are usually few).
fn query_knn(
    train: MatrixView<'_>,
    new: MatrixView<'_>,
    k: usize,
    metric: Metric,
    ctx: &RunContext<'_>,
) -> Result<(Vec<u32>, Vec<f32>)> {
    let m = new.n_rows();
    let mut indices = vec![0u32; m * k];
    let mut distances = vec![0f32; m * k];
    indices
        .par_chunks_mut(k)
        .zip(distances.par_chunks_mut(k))
        .enumerate()
        .try_for_each(|(i, (idx, dist))| -> Result<()> {
            if i % 256 == 0 {
                ctx.check_cancelled()?;
            }
            let q = new.row(i);
            let mut candidates: Vec<(f32, u32)> = (0..train.n_rows())
                .map(|j| (distance(metric, q, train.row(j)), j as u32))
                .collect();
            let by_distance =
                |a: &(f32, u32), b: &(f32, u32)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
            if candidates.len() > k {
                candidates.select_nth_unstable_by(k, by_distance);
                candidates.truncate(k);
            }
            candidates.sort_unstable_by(by_distance);
            for (slot, (d, j)) in candidates.into_iter().enumerate() {
                idx[slot] = j;
                dist[slot] = d;
            }
            Ok(())
        })?;
    Ok((indices, distances))
}
