//! The layout optimisation: stochastic gradient descent on the fuzzy cross-entropy with
//! negative sampling, on umap-learn's schedule (each edge sampled every `epochs_per_sample`
//! epochs, `negative_sample_rate` negative samples per positive one, learning rate decaying
//! linearly to zero, gradients clipped to ±4).
//!
//! Parallel by blocks of head vertices: a block only writes its own vertices, walking their
//! edges in order. Each block draws negative samples from its own RNG seeded by
//! `(seed, epoch, block)`, so the random stream does not depend on the thread count.
//! - `Deterministic` reads every other vertex from a snapshot taken at the start of the epoch:
//!   bit-identical layouts for a seed on any number of threads.
//! - `Hogwild` reads other vertices live (as umap-learn's parallel mode does): fresher
//!   information, but the result depends on thread timing.
//!
//! umap-learn moves both ends of a sampled edge; here only the head moves, and since the graph
//! holds both directions of every edge, each end takes the attractive step twice per sampled
//! edge (`attraction_steps = 2`) so the balance of attraction and repulsion matches.

use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;

use super::sparse::CsrGraph;
use crate::rng::Rng;
use crate::{ComputeError, Progress, Result, RunContext};

/// How the parallel optimisation reads positions other threads are updating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OptimizeMode {
    /// Snapshot per epoch: the same seed gives the same layout on any number of threads.
    #[default]
    Deterministic,
    /// Lock-free live reads: the layout varies slightly from run to run.
    Hogwild,
}

impl std::str::FromStr for OptimizeMode {
    type Err = ComputeError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "deterministic" => Ok(Self::Deterministic),
            "hogwild" => Ok(Self::Hogwild),
            other => Err(ComputeError::InvalidInput(format!(
                "unknown optimize mode {other:?}; expected deterministic or hogwild"
            ))),
        }
    }
}

const BLOCK: usize = 256;
const CLIP: f32 = 4.0;

/// Edges to sample: a CSR over head vertices with each edge's sampling period in epochs.
pub(crate) struct EdgeSchedule {
    pub row_ptr: Vec<usize>,
    pub cols: Vec<u32>,
    pub epochs_per_sample: Vec<f32>,
}

impl EdgeSchedule {
    /// Period `max_w / w` for each weight, as the reference's `make_epochs_per_sample`.
    pub fn from_graph(graph: &CsrGraph) -> Self {
        let max_w = graph.max_value();
        Self {
            row_ptr: graph.row_ptr.clone(),
            cols: graph.cols.clone(),
            epochs_per_sample: graph
                .vals
                .iter()
                .map(|&w| if w > 0.0 { max_w / w } else { f32::INFINITY })
                .collect(),
        }
    }
}

pub(crate) struct SgdParams {
    pub a: f32,
    pub b: f32,
    pub gamma: f32,
    pub initial_alpha: f32,
    pub negative_sample_rate: f32,
    pub n_epochs: usize,
    pub attraction_steps: usize,
    pub seed: u64,
    pub mode: OptimizeMode,
}

#[derive(Clone, Copy)]
struct EdgeState {
    next_sample: f32,
    next_negative: f32,
}

/// `x^p` for `x > 0` via `2^(p·log2 x)` with short polynomials: relative error below 1e-6,
/// several times cheaper than `powf`, which dominates the inner loop otherwise.
#[inline(always)]
pub(crate) fn fast_pow(x: f32, p: f32) -> f32 {
    if x.is_nan() || x < f32::MIN_POSITIVE || x.is_infinite() {
        return x.powf(p);
    }
    let bits = x.to_bits();
    let mut exponent = ((bits >> 23) & 0xff) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    if m > std::f32::consts::SQRT_2 {
        m *= 0.5;
        exponent += 1;
    }
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let ln_m = 2.0 * t * (1.0 + t2 * (1.0 / 3.0 + t2 * (1.0 / 5.0 + t2 * (1.0 / 7.0))));
    let y = (p * (exponent as f32 + ln_m * std::f32::consts::LOG2_E)).clamp(-126.0, 126.0);
    // Round to nearest with the 1.5·2^23 trick (no SSE4.1 round instruction needed).
    let i = (y + 12_582_912.0) - 12_582_912.0;
    let z = (y - i) * std::f32::consts::LN_2;
    let poly = 1.0
        + z * (1.0
            + z * (0.5 + z * (1.0 / 6.0 + z * (1.0 / 24.0 + z * (1.0 / 120.0 + z / 720.0)))));
    f32::from_bits(((i as i32 + 127) as u32) << 23) * poly
}

#[inline(always)]
fn clip(v: f32) -> f32 {
    v.clamp(-CLIP, CLIP)
}

/// Read access to the positions a block does not own.
trait Positions<const D: usize>: Sync {
    fn get(&self, i: usize) -> [f32; D];
}

struct Plain<'a>(&'a [f32]);
impl<const D: usize> Positions<D> for Plain<'_> {
    #[inline(always)]
    fn get(&self, i: usize) -> [f32; D] {
        let mut p = [0.0; D];
        p.copy_from_slice(&self.0[i * D..(i + 1) * D]);
        p
    }
}

struct Live<'a>(&'a [AtomicU32]);
impl<const D: usize> Positions<D> for Live<'_> {
    #[inline(always)]
    fn get(&self, i: usize) -> [f32; D] {
        std::array::from_fn(|d| f32::from_bits(self.0[i * D + d].load(Ordering::Relaxed)))
    }
}

struct EpochConsts {
    a: f32,
    b: f32,
    gamma: f32,
    alpha: f32,
    epoch: f32,
    attraction_steps: usize,
    n_tail: usize,
    /// Head and tail are the same vertex set (fit): never repel a vertex from itself.
    same_set: bool,
}

/// One epoch over the head vertices `first..first + own.len() / D`.
#[allow(clippy::too_many_arguments)]
fn block_epoch<const D: usize, P: Positions<D>>(
    first: usize,
    own: &mut [f32],
    others: &P,
    schedule: &EdgeSchedule,
    epochs_per_negative: &[f32],
    state: &mut [EdgeState],
    c: &EpochConsts,
    rng: &mut Rng,
) {
    let edge_base = schedule.row_ptr[first];
    let two_ab = 2.0 * c.a * c.b;
    let two_gamma_b = 2.0 * c.gamma * c.b;
    for (local, cur_slice) in own.chunks_exact_mut(D).enumerate() {
        let j = first + local;
        let mut cur = [0.0f32; D];
        cur.copy_from_slice(cur_slice);
        for e in schedule.row_ptr[j]..schedule.row_ptr[j + 1] {
            let st = &mut state[e - edge_base];
            if st.next_sample > c.epoch {
                continue;
            }
            let other = others.get(schedule.cols[e] as usize);
            for _ in 0..c.attraction_steps {
                let mut d2 = 0.0f32;
                for d in 0..D {
                    let diff = cur[d] - other[d];
                    d2 += diff * diff;
                }
                if d2 > 0.0 {
                    let pw = fast_pow(d2, c.b);
                    let coeff = -two_ab * (pw / d2) / (c.a * pw + 1.0);
                    for d in 0..D {
                        cur[d] += clip(coeff * (cur[d] - other[d])) * c.alpha;
                    }
                }
            }
            st.next_sample += schedule.epochs_per_sample[e];
            let n_negative =
                ((c.epoch - st.next_negative) / epochs_per_negative[e]).max(0.0) as usize;
            for _ in 0..n_negative {
                let k = rng.below(c.n_tail);
                if c.same_set && k == j {
                    continue;
                }
                let other = others.get(k);
                let mut d2 = 0.0f32;
                for d in 0..D {
                    let diff = cur[d] - other[d];
                    d2 += diff * diff;
                }
                if d2 > 0.0 {
                    let pw = fast_pow(d2, c.b);
                    let coeff = two_gamma_b / ((0.001 + d2) * (c.a * pw + 1.0));
                    for d in 0..D {
                        cur[d] += clip(coeff * (cur[d] - other[d])) * c.alpha;
                    }
                }
            }
            st.next_negative += n_negative as f32 * epochs_per_negative[e];
        }
        cur_slice.copy_from_slice(&cur);
    }
}

/// Optimises `head` (`n_head × dim`, row-major) in place. `tail` is the fixed layout the
/// edges point into (transform); `None` means the edges point into `head` itself (fit).
pub(crate) fn optimize_layout(
    head: &mut [f32],
    tail: Option<&[f32]>,
    dim: usize,
    schedule: &EdgeSchedule,
    p: &SgdParams,
    stage: &'static str,
    ctx: &RunContext<'_>,
) -> Result<()> {
    match dim {
        1 => optimize_dim::<1>(head, tail, schedule, p, stage, ctx),
        2 => optimize_dim::<2>(head, tail, schedule, p, stage, ctx),
        3 => optimize_dim::<3>(head, tail, schedule, p, stage, ctx),
        4 => optimize_dim::<4>(head, tail, schedule, p, stage, ctx),
        5 => optimize_dim::<5>(head, tail, schedule, p, stage, ctx),
        6 => optimize_dim::<6>(head, tail, schedule, p, stage, ctx),
        7 => optimize_dim::<7>(head, tail, schedule, p, stage, ctx),
        8 => optimize_dim::<8>(head, tail, schedule, p, stage, ctx),
        other => Err(ComputeError::InvalidInput(format!(
            "n_components must be between 1 and 8, got {other}"
        ))),
    }
}

fn report_epoch(
    ctx: &RunContext<'_>,
    stage: &'static str,
    done: u64,
    total: u64,
    positions: &dyn Fn() -> Vec<f32>,
) {
    if ctx.progress.wants_positions(stage, done) {
        let snapshot = positions();
        ctx.progress.report(&Progress {
            stage,
            done,
            total,
            loss: None,
            positions: Some(&snapshot),
        });
    } else {
        ctx.report(stage, done, total);
    }
}

fn optimize_dim<const D: usize>(
    head: &mut [f32],
    tail: Option<&[f32]>,
    schedule: &EdgeSchedule,
    p: &SgdParams,
    stage: &'static str,
    ctx: &RunContext<'_>,
) -> Result<()> {
    let n_head = head.len() / D;
    let n_tail = tail.map_or(n_head, |t| t.len() / D);
    let n_epochs = p.n_epochs;
    if n_head == 0 || n_tail == 0 || n_epochs == 0 {
        return Ok(());
    }
    let epochs_per_negative: Vec<f32> = schedule
        .epochs_per_sample
        .iter()
        .map(|&e| e / p.negative_sample_rate.max(f32::MIN_POSITIVE))
        .collect();
    let mut state: Vec<EdgeState> = schedule
        .epochs_per_sample
        .iter()
        .zip(&epochs_per_negative)
        .map(|(&s, &n)| EdgeState {
            next_sample: s,
            next_negative: n,
        })
        .collect();
    let n_blocks = n_head.div_ceil(BLOCK);
    let block_edges: Vec<usize> = (0..n_blocks)
        .map(|b| schedule.row_ptr[((b + 1) * BLOCK).min(n_head)] - schedule.row_ptr[b * BLOCK])
        .collect();
    fn split_state<'s>(
        state: &'s mut [EdgeState],
        block_edges: &[usize],
    ) -> Vec<&'s mut [EdgeState]> {
        let mut rest = state;
        let n_blocks = block_edges.len();
        let mut parts = Vec::with_capacity(n_blocks);
        for &len in block_edges {
            let (part, tail) = rest.split_at_mut(len);
            parts.push(part);
            rest = tail;
        }
        parts
    }
    let consts = |epoch: usize| EpochConsts {
        a: p.a,
        b: p.b,
        gamma: p.gamma,
        alpha: p.initial_alpha * (1.0 - epoch as f32 / n_epochs as f32),
        epoch: epoch as f32,
        attraction_steps: p.attraction_steps,
        n_tail,
        same_set: tail.is_none(),
    };
    let block_rng =
        |epoch: usize, block: usize| Rng::derive(p.seed, ((epoch as u64) << 32) | block as u64);
    report_epoch(ctx, stage, 0, n_epochs as u64, &|| head.to_vec());

    match (tail, p.mode) {
        (Some(fixed), _) => {
            let others = Plain(fixed);
            for epoch in 0..n_epochs {
                ctx.check_cancelled()?;
                let c = consts(epoch);
                head.par_chunks_mut(BLOCK * D)
                    .zip(split_state(&mut state, &block_edges))
                    .enumerate()
                    .for_each(|(b, (own, st))| {
                        let mut rng = block_rng(epoch, b);
                        block_epoch::<D, _>(
                            b * BLOCK,
                            own,
                            &others,
                            schedule,
                            &epochs_per_negative,
                            st,
                            &c,
                            &mut rng,
                        );
                    });
                report_epoch(ctx, stage, epoch as u64 + 1, n_epochs as u64, &|| {
                    head.to_vec()
                });
            }
        }
        (None, OptimizeMode::Deterministic) => {
            let mut snapshot = head.to_vec();
            for epoch in 0..n_epochs {
                ctx.check_cancelled()?;
                let c = consts(epoch);
                snapshot.copy_from_slice(head);
                let others = Plain(&snapshot);
                head.par_chunks_mut(BLOCK * D)
                    .zip(split_state(&mut state, &block_edges))
                    .enumerate()
                    .for_each(|(b, (own, st))| {
                        let mut rng = block_rng(epoch, b);
                        block_epoch::<D, _>(
                            b * BLOCK,
                            own,
                            &others,
                            schedule,
                            &epochs_per_negative,
                            st,
                            &c,
                            &mut rng,
                        );
                    });
                report_epoch(ctx, stage, epoch as u64 + 1, n_epochs as u64, &|| {
                    head.to_vec()
                });
            }
        }
        (None, OptimizeMode::Hogwild) => {
            let live: Vec<AtomicU32> = head.iter().map(|v| AtomicU32::new(v.to_bits())).collect();
            let to_vec = || {
                live.iter()
                    .map(|a| f32::from_bits(a.load(Ordering::Relaxed)))
                    .collect::<Vec<f32>>()
            };
            for epoch in 0..n_epochs {
                ctx.check_cancelled()?;
                let c = consts(epoch);
                let others = Live(&live);
                live.par_chunks(BLOCK * D)
                    .zip(split_state(&mut state, &block_edges))
                    .enumerate()
                    .for_each(|(b, (own_live, st))| {
                        let mut rng = block_rng(epoch, b);
                        let mut own: Vec<f32> = own_live
                            .iter()
                            .map(|a| f32::from_bits(a.load(Ordering::Relaxed)))
                            .collect();
                        block_epoch::<D, _>(
                            b * BLOCK,
                            &mut own,
                            &others,
                            schedule,
                            &epochs_per_negative,
                            st,
                            &c,
                            &mut rng,
                        );
                        for (a, v) in own_live.iter().zip(&own) {
                            a.store(v.to_bits(), Ordering::Relaxed);
                        }
                    });
                report_epoch(ctx, stage, epoch as u64 + 1, n_epochs as u64, &to_vec);
            }
            head.copy_from_slice(&to_vec());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_pow_is_accurate() {
        for &p in &[0.5f32, 0.79, 0.895, 1.0, 1.5, 1.93] {
            let mut x = 1e-6f32;
            while x < 1e6 {
                let exact = f64::from(x).powf(f64::from(p));
                let got = f64::from(fast_pow(x, p));
                assert!(
                    ((got - exact) / exact).abs() < 2e-6,
                    "{x}^{p}: {got} vs {exact}"
                );
                x *= 1.37;
            }
        }
        assert_eq!(fast_pow(0.0, 0.9), 0.0);
    }
}
