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
//! holds both directions of every edge, each end takes a double attractive step per sampled
//! edge (`attraction_scale = 2`) so the balance of attraction and repulsion matches.
//!
//! A sampled edge's negative samples are evaluated as one batch at the position after the
//! attractive step (umap-learn updates the position between them): the terms are independent,
//! so they vectorise, and the difference is far below the SGD noise.

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
/// Negative samples evaluated together (umap-learn's default rate draws 5 per edge).
const NEGATIVE_BATCH: usize = 8;

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
    /// Attractive steps per sampled edge (2 in a fit: both directions of the edge move this
    /// end in the reference; 1 in transform).
    pub attraction_scale: f32,
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
    // Round to nearest with the 1.5·2^23 trick: the integer lands in the low mantissa bits,
    // so neither a round instruction nor a (non-vectorising) float-to-int cast is needed.
    let shifted = y + 12_582_912.0;
    let i = shifted - 12_582_912.0;
    let i_int = (shifted.to_bits() as i32).wrapping_sub(0x4B40_0000);
    let z = (y - i) * std::f32::consts::LN_2;
    let poly = 1.0
        + z * (1.0
            + z * (0.5 + z * (1.0 / 6.0 + z * (1.0 / 24.0 + z * (1.0 / 120.0 + z / 720.0)))));
    f32::from_bits(((i_int + 127) as u32) << 23) * poly
}

/// Repulsive gradient coefficients `2γb / ((0.001 + d²)(a·d^(2b) + 1))` for a batch of squared
/// distances; 0 where the distance is 0 (coincident points push nothing, as in the reference).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn repulsion_coefficients(
    d2s: &[f32; NEGATIVE_BATCH],
    a: f32,
    b: f32,
    two_gamma_b: f32,
) -> [f32; NEGATIVE_BATCH] {
    repulsion_coefficients_scalar(d2s, a, b, two_gamma_b)
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn repulsion_coefficients_scalar(
    d2s: &[f32; NEGATIVE_BATCH],
    a: f32,
    b: f32,
    two_gamma_b: f32,
) -> [f32; NEGATIVE_BATCH] {
    let mut out = [0.0f32; NEGATIVE_BATCH];
    for (o, &d2) in out.iter_mut().zip(d2s) {
        let pw = fast_pow_lane(d2, b);
        let coeff = two_gamma_b / ((0.001 + d2) * (a * pw + 1.0));
        *o = if d2 > 0.0 { coeff } else { 0.0 };
    }
    out
}

/// SSE2 version of the batch (LLVM does not vectorise the scalar lanes by itself); the same
/// operations as [`fast_pow_lane`], four lanes at a time. SSE2 is part of the x86-64 baseline.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn repulsion_coefficients(
    d2s: &[f32; NEGATIVE_BATCH],
    a: f32,
    b: f32,
    two_gamma_b: f32,
) -> [f32; NEGATIVE_BATCH] {
    use std::arch::x86_64::*;
    let mut out = [0.0f32; NEGATIVE_BATCH];
    for half in 0..NEGATIVE_BATCH / 4 {
        // SAFETY: SSE2 is always available on x86-64; the unaligned loads and stores read and
        // write four lanes inside the `NEGATIVE_BATCH`-element arrays.
        unsafe {
            let x = _mm_loadu_ps(d2s.as_ptr().add(half * 4));
            let one = _mm_set1_ps(1.0);
            let select = |mask: __m128, yes: __m128, no: __m128| {
                _mm_or_ps(_mm_and_ps(mask, yes), _mm_andnot_ps(mask, no))
            };
            let valid = _mm_and_ps(
                _mm_cmpge_ps(x, _mm_set1_ps(f32::MIN_POSITIVE)),
                _mm_cmple_ps(x, _mm_set1_ps(f32::MAX)),
            );
            let xs = select(valid, x, one);
            let bits = _mm_castps_si128(xs);
            let raw_exponent = _mm_sub_epi32(
                _mm_and_si128(_mm_srli_epi32(bits, 23), _mm_set1_epi32(0xff)),
                _mm_set1_epi32(127),
            );
            let m_raw = _mm_castsi128_ps(_mm_or_si128(
                _mm_and_si128(bits, _mm_set1_epi32(0x007f_ffff)),
                _mm_set1_epi32(0x3f80_0000),
            ));
            let big = _mm_cmpgt_ps(m_raw, _mm_set1_ps(std::f32::consts::SQRT_2));
            let m = select(big, _mm_mul_ps(m_raw, _mm_set1_ps(0.5)), m_raw);
            // `big` lanes are all ones (−1 as integers): subtracting adds one to the exponent.
            let exponent = _mm_sub_epi32(raw_exponent, _mm_castps_si128(big));
            let t = _mm_div_ps(_mm_sub_ps(m, one), _mm_add_ps(m, one));
            let t2 = _mm_mul_ps(t, t);
            let mut series = _mm_add_ps(
                _mm_set1_ps(1.0 / 5.0),
                _mm_mul_ps(t2, _mm_set1_ps(1.0 / 7.0)),
            );
            series = _mm_add_ps(_mm_set1_ps(1.0 / 3.0), _mm_mul_ps(t2, series));
            series = _mm_add_ps(one, _mm_mul_ps(t2, series));
            let ln_m = _mm_mul_ps(_mm_mul_ps(_mm_set1_ps(2.0), t), series);
            let log2_x = _mm_add_ps(
                _mm_cvtepi32_ps(exponent),
                _mm_mul_ps(ln_m, _mm_set1_ps(std::f32::consts::LOG2_E)),
            );
            let y = _mm_min_ps(
                _mm_max_ps(_mm_mul_ps(_mm_set1_ps(b), log2_x), _mm_set1_ps(-126.0)),
                _mm_set1_ps(126.0),
            );
            let magic = _mm_set1_ps(12_582_912.0);
            let shifted = _mm_add_ps(y, magic);
            let i = _mm_sub_ps(shifted, magic);
            let i_int = _mm_sub_epi32(_mm_castps_si128(shifted), _mm_set1_epi32(0x4B40_0000));
            let z = _mm_mul_ps(_mm_sub_ps(y, i), _mm_set1_ps(std::f32::consts::LN_2));
            let mut poly = _mm_add_ps(
                _mm_set1_ps(1.0 / 120.0),
                _mm_mul_ps(z, _mm_set1_ps(1.0 / 720.0)),
            );
            for c in [1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
                poly = _mm_add_ps(_mm_set1_ps(c), _mm_mul_ps(z, poly));
            }
            let scale = _mm_castsi128_ps(_mm_slli_epi32(
                _mm_add_epi32(i_int, _mm_set1_epi32(127)),
                23,
            ));
            let pw = _mm_and_ps(_mm_mul_ps(scale, poly), valid);
            let denom = _mm_mul_ps(
                _mm_add_ps(_mm_set1_ps(0.001), x),
                _mm_add_ps(_mm_mul_ps(_mm_set1_ps(a), pw), one),
            );
            let coeff = _mm_div_ps(_mm_set1_ps(two_gamma_b), denom);
            let positive = _mm_cmpgt_ps(x, _mm_setzero_ps());
            _mm_storeu_ps(out.as_mut_ptr().add(half * 4), _mm_and_ps(coeff, positive));
        }
    }
    out
}

/// Branch-free `x^p` for `x >= 0` (0 for `x` below the smallest normal), written so a loop
/// over lanes vectorises; same polynomials as [`fast_pow`].
#[inline(always)]
fn fast_pow_lane(x: f32, p: f32) -> f32 {
    let valid = (f32::MIN_POSITIVE..=f32::MAX).contains(&x);
    let xs = if valid { x } else { 1.0 };
    let bits = xs.to_bits();
    let raw_exponent = ((bits >> 23) & 0xff) as i32 - 127;
    let m_raw = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m_raw > std::f32::consts::SQRT_2;
    let m = if big { m_raw * 0.5 } else { m_raw };
    let exponent = raw_exponent + i32::from(big);
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let ln_m = 2.0 * t * (1.0 + t2 * (1.0 / 3.0 + t2 * (1.0 / 5.0 + t2 * (1.0 / 7.0))));
    let y = (p * (exponent as f32 + ln_m * std::f32::consts::LOG2_E)).clamp(-126.0, 126.0);
    let shifted = y + 12_582_912.0;
    let i = shifted - 12_582_912.0;
    let i_int = (shifted.to_bits() as i32).wrapping_sub(0x4B40_0000);
    let z = (y - i) * std::f32::consts::LN_2;
    let poly = 1.0
        + z * (1.0
            + z * (0.5 + z * (1.0 / 6.0 + z * (1.0 / 24.0 + z * (1.0 / 120.0 + z / 720.0)))));
    let r = f32::from_bits(((i_int + 127) as u32) << 23) * poly;
    if valid { r } else { 0.0 }
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
    /// `alpha · attraction_scale`.
    attraction_step: f32,
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
            let mut d2 = 0.0f32;
            for d in 0..D {
                let diff = cur[d] - other[d];
                d2 += diff * diff;
            }
            if d2 > 0.0 {
                let pw = fast_pow(d2, c.b);
                let coeff = -two_ab * (pw / d2) / (c.a * pw + 1.0);
                for d in 0..D {
                    cur[d] += clip(coeff * (cur[d] - other[d])) * c.attraction_step;
                }
            }
            st.next_sample += schedule.epochs_per_sample[e];
            let n_negative =
                ((c.epoch - st.next_negative) / epochs_per_negative[e]).max(0.0) as usize;
            // Negative samples in batches whose gradients are all taken at the position the
            // batch starts from: independent lanes the compiler vectorises, instead of one
            // long chain of dependent power evaluations.
            let mut remaining = n_negative;
            while remaining > 0 {
                let m = remaining.min(NEGATIVE_BATCH);
                remaining -= m;
                let mut lanes = [[0.0f32; D]; NEGATIVE_BATCH];
                let mut d2s = [0.0f32; NEGATIVE_BATCH];
                for (lane, diff) in lanes.iter_mut().enumerate().take(m) {
                    let k = rng.below(c.n_tail);
                    if c.same_set && k == j {
                        continue; // stays a zero difference: no force
                    }
                    let other = others.get(k);
                    for d in 0..D {
                        diff[d] = cur[d] - other[d];
                        d2s[lane] += diff[d] * diff[d];
                    }
                }
                let coeffs = repulsion_coefficients(&d2s, c.a, c.b, two_gamma_b);
                let mut step = [0.0f32; D];
                for (diff, &coeff) in lanes.iter().zip(&coeffs).take(m) {
                    for d in 0..D {
                        step[d] += clip(coeff * diff[d]);
                    }
                }
                for d in 0..D {
                    cur[d] += step[d] * c.alpha;
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
        attraction_step: p.initial_alpha
            * (1.0 - epoch as f32 / n_epochs as f32)
            * p.attraction_scale,
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
    fn batched_repulsion_matches_scalar_formula() {
        let d2s = [0.0f32, 1e-9, 0.01, 0.3, 1.0, 4.5, 80.0, 1e7];
        let (a, b, two_gamma_b) = (1.577f32, 0.895f32, 2.0 * 0.895);
        let got = repulsion_coefficients(&d2s, a, b, two_gamma_b);
        let scalar = repulsion_coefficients_scalar(&d2s, a, b, two_gamma_b);
        for ((&d2, &g), &s) in d2s.iter().zip(&got).zip(&scalar) {
            let exact = if d2 > 0.0 {
                f64::from(two_gamma_b)
                    / ((0.001 + f64::from(d2))
                        * (f64::from(a) * f64::from(d2).powf(f64::from(b)) + 1.0))
            } else {
                0.0
            };
            for v in [g, s] {
                let err = (f64::from(v) - exact).abs();
                assert!(err <= 1e-5 * exact.abs(), "d2 = {d2}: {v} vs {exact}");
            }
        }
    }

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
        for x in [0.0f32, 1e-40, 1e-12, 0.3, 7.0, 1e12] {
            let exact = f64::from(x).powf(0.9);
            let got = f64::from(fast_pow_lane(x, 0.9));
            if x < f32::MIN_POSITIVE {
                assert_eq!(got, 0.0);
            } else {
                assert!(
                    ((got - exact) / exact).abs() < 2e-6,
                    "{x}: {got} vs {exact}"
                );
            }
        }
    }
}
