//! The layout optimisation: stochastic gradient descent on the fuzzy cross-entropy with
//! negative sampling, on umap-learn's schedule (each edge sampled every `epochs_per_sample`
//! epochs, `negative_sample_rate` negative samples per positive one, learning rate decaying
//! linearly as umap-learn's loop lowers it (see `learning_rate`), gradients clipped to ±4).
//!
//! Parallel by blocks of head vertices: a block only writes its own vertices, walking their
//! edges in order. Each block draws from its own RNG seeded by `(seed, epoch, block)`, so the
//! random stream does not depend on the thread count.
//! - `Deterministic` reads every other vertex from a snapshot taken at the start of the epoch:
//!   bit-identical layouts for a seed on any number of threads.
//! - `Hogwild` reads other vertices live (as umap-learn's parallel mode does): fresher
//!   information, but the result depends on thread timing.
//!
//! umap-learn moves both ends of a sampled edge; here only the head moves, and since the graph
//! holds both directions of every edge, each end takes a double attractive step per sampled
//! edge (`attraction_scale = 2`) so the balance of attraction and repulsion matches.
//!
//! Where the time goes, and what this file does about it (70,000 rows: 93 M positive and
//! 466 M negative samples over 200 epochs):
//! - A block advances 16 heads at once (lanes): their updates are independent chains, and their
//!   power evaluations fill two vector registers. A step is a long chain of dependent
//!   operations (attraction, then the negative samples at the new position); two registers'
//!   worth of independent chains let the CPU overlap them.
//! - The tail of each lane's next due edge is prefetched a step ahead (a random vertex).
//! - A sampled edge's negative samples are evaluated together at the position after the
//!   attractive step (umap-learn updates the position between them): the terms are independent,
//!   so they vectorise, and the difference is far below the SGD noise.
//! - Negative samples come from a per-block, per-epoch pool of 1,024 uniformly drawn vertices
//!   held in L1: still uniform draws over all vertices, without a random read of the whole
//!   layout per sample. A step's samples go in rounds, one per lane, from 16 consecutive pool
//!   slots at a hashed offset, so in 2D the AVX2 path loads a round with plain loads instead
//!   of gathers (slow on AMD) and adds its forces to all lanes at once instead of scattering
//!   them sample by sample. The portable path does the same arithmetic in the same order, so layouts do not
//!   depend on the CPU.
//! - The power `d^(2b)` is written for latency (see `fast_pow_lane`): a sample's force is one
//!   long dependent chain, and its length, not the operation count, set the speed.
//! - Per-edge state is one 16-byte record and due edges are found by a branch-free bit mask.
//!
//! Measured on the 70,000 × 50 mixture (CPU s of the optimisation): 18–21 before the lanes and
//! the pool, 8.6–10.6 after (2 threads); then single-threaded, medians of 3: 10.5 with hashed
//! slots, 6.3 with rounds of consecutive slots, 5.3 with the latency-bound power.
//! Trustworthiness@10 0.986 throughout. MNIST (2 threads, medians of 4 interleaved runs): 8
//! lanes 5.43, 16 lanes 4.99, 16 lanes with the tail prefetch 4.78 CPU s; trustworthiness@10
//! 0.9551 (8) and 0.9549 (16), mean of seeds 1 and 42.
//!
//! Tried and dropped: filling the idle lanes of a step's rounds (lanes owe 4–6 samples, the
//! step runs the most) by paying samples ahead, up to one sampling period. It ran the rounds
//! 98% full instead of 80% (58.0 M rounds instead of 70.2 M on MNIST), but MNIST
//! trustworthiness@10 dropped by 0.002 (0.9533 vs 0.9551, mean of seeds 1 and 42).

use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;

use super::sparse::CsrGraph;
use crate::knn::prefetch;
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
    /// Attractive steps per sampled edge (2 in a fit: both directions of the edge move this
    /// end in the reference; 1 in transform).
    pub attraction_scale: f32,
    pub seed: u64,
    pub mode: OptimizeMode,
}

/// Everything an epoch reads and writes for one edge, in one 16-byte record: the epoch's scan
/// streams through these, and a due edge then touches no other per-edge array.
#[derive(Clone, Copy)]
struct EdgeState {
    next_sample: f32,
    next_negative: f32,
    epochs_per_sample: f32,
    tail: u32,
}

/// The learning rate of epoch `epoch` (from 0), as umap-learn's loop sets it: it lowers the
/// rate after each epoch to `initial · (1 − epoch / n_epochs)`, so epochs 0 and 1 both run at
/// `initial` and the last at `2 · initial / n_epochs`. (One epoch ahead of this, the last
/// epochs ran at half umap-learn's rate, and MNIST recall@10 was 0.107 against its 0.100,
/// mean of 4 seeds; with it 0.1035.)
fn learning_rate(initial: f32, epoch: usize, n_epochs: usize) -> f32 {
    initial * (1.0 - epoch.saturating_sub(1) as f32 / n_epochs.max(1) as f32)
}

/// Bit `i` set when edge `i` of `edges` (at most 64) is due this epoch. Branch-free: whether an
/// edge is due is close to random, so a branch per edge would mispredict often.
#[inline(always)]
fn due_mask(edges: &[EdgeState], epoch: f32) -> u64 {
    let mut mask = 0u64;
    for (i, e) in edges.iter().enumerate().take(64) {
        mask |= u64::from(e.next_sample <= epoch) << i;
    }
    mask
}

/// `log2(1 + f) / f` on `f ∈ [√½ − 1, √2 − 1]`, degree 8 (weighted least squares on Chebyshev
/// nodes, fitted for this file): `log2` of the mantissa to 6e-8.
const LOG2_POLY: [f32; 9] = [
    std::f32::consts::LOG2_E,
    -0.721_347_5,
    0.480_910_78,
    -0.360_692_1,
    0.287_901_76,
    -0.239_194_9,
    0.216_119_13,
    -0.205_705_6,
    0.122_805_28,
];

/// `2^r` on `r ∈ [−½, ½]`, degree 5, fitted the same way: relative error 2.2e-7.
const EXP2_POLY: [f32; 6] = [
    1.000_000_1,
    0.693_146_94,
    0.240_221_22,
    0.055_507_425,
    0.009_675_46,
    0.001_326_697,
];

/// `x^p` lane by lane for `x >= 0` (0 below the smallest normal, for infinities and NaN): the
/// power in every attractive and repulsive gradient. The same operations as the AVX2 version.
fn pow_lanes(x: &[f32; LANES], p: f32) -> [f32; LANES] {
    std::array::from_fn(|l| fast_pow_lane(x[l], p))
}

/// AVX2 version of [`pow_lanes`]: eight lanes per register, the same operations in the same
/// order (fused multiply-adds where the scalar version calls `mul_add`), so the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn pow_lanes_avx2(x: &[f32; LANES], p: f32) -> [f32; LANES] {
    use std::arch::x86_64::*;
    const { assert!(LANES.is_multiple_of(8)) };
    let mut out = [0.0f32; LANES];
    for (o, v) in out.chunks_exact_mut(8).zip(x.chunks_exact(8)) {
        // SAFETY: the unaligned load and store touch exactly eight lanes of the chunks.
        unsafe { _mm256_storeu_ps(o.as_mut_ptr(), pow8_m256(_mm256_loadu_ps(v.as_ptr()), p)) };
    }
    out
}

/// [`pow_lanes_avx2`] on one register.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn pow8_m256(x: std::arch::x86_64::__m256, p: f32) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    let splat = |v: f32| _mm256_set1_ps(v);
    let valid = _mm256_and_ps(
        _mm256_cmp_ps::<_CMP_GE_OQ>(x, splat(f32::MIN_POSITIVE)),
        _mm256_cmp_ps::<_CMP_LE_OQ>(x, splat(f32::MAX)),
    );
    let bits = _mm256_castps_si256(x);
    let raw_exponent = _mm256_sub_epi32(
        _mm256_and_si256(_mm256_srli_epi32::<23>(bits), _mm256_set1_epi32(0xff)),
        _mm256_set1_epi32(127),
    );
    let m_raw = _mm256_castsi256_ps(_mm256_or_si256(
        _mm256_and_si256(bits, _mm256_set1_epi32(0x007f_ffff)),
        _mm256_set1_epi32(0x3f80_0000),
    ));
    let big = _mm256_cmp_ps::<_CMP_GT_OQ>(m_raw, splat(std::f32::consts::SQRT_2));
    let m = _mm256_blendv_ps(m_raw, _mm256_mul_ps(m_raw, splat(0.5)), big);
    // `big` lanes are all ones (−1 as integers): subtracting adds one to the exponent.
    let exponent = _mm256_cvtepi32_ps(_mm256_sub_epi32(raw_exponent, _mm256_castps_si256(big)));
    let f = _mm256_sub_ps(m, splat(1.0));
    let c = LOG2_POLY.map(splat);
    let f2 = _mm256_mul_ps(f, f);
    let f4 = _mm256_mul_ps(f2, f2);
    let f8 = _mm256_mul_ps(f4, f4);
    let p01 = _mm256_fmadd_ps(c[1], f, c[0]);
    let p23 = _mm256_fmadd_ps(c[3], f, c[2]);
    let p45 = _mm256_fmadd_ps(c[5], f, c[4]);
    let p67 = _mm256_fmadd_ps(c[7], f, c[6]);
    let p03 = _mm256_fmadd_ps(p23, f2, p01);
    let p47 = _mm256_fmadd_ps(p67, f2, p45);
    let p07 = _mm256_fmadd_ps(p47, f4, p03);
    let poly = _mm256_fmadd_ps(c[8], f8, p07);
    let log2_x = _mm256_fmadd_ps(f, poly, exponent);
    let y = _mm256_min_ps(
        _mm256_max_ps(_mm256_mul_ps(splat(p), log2_x), splat(-126.0)),
        splat(126.0),
    );
    let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(y);
    let r = _mm256_sub_ps(y, n);
    let e = EXP2_POLY.map(splat);
    let r2 = _mm256_mul_ps(r, r);
    let q01 = _mm256_fmadd_ps(e[1], r, e[0]);
    let q23 = _mm256_fmadd_ps(e[3], r, e[2]);
    let q45 = _mm256_fmadd_ps(e[5], r, e[4]);
    let q = _mm256_fmadd_ps(_mm256_fmadd_ps(q45, r2, q23), r2, q01);
    let scale = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
        _mm256_cvtps_epi32(n),
        _mm256_set1_epi32(127),
    )));
    _mm256_and_ps(_mm256_mul_ps(scale, q), valid)
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    static AVX2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVX2.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
}

/// `x^p` for `x >= 0` (0 for `x` below the smallest normal) as `2^(p·log2 x)` with short
/// polynomials: relative error below 2e-6, several times cheaper than `powf`, which dominates
/// the inner loop otherwise. Branch-free, so the vector version computes the same lanes.
///
/// Written for latency, not operation count: a negative sample's force is one long chain of
/// dependent operations, and chains this long leave the out-of-order window short of work.
/// So: no division (a polynomial in `m − 1` instead of the `(m − 1)/(m + 1)` series), both
/// polynomials in Estrin's form (pairs by fused multiply-add, then powers of the argument),
/// and rounding by instruction. On x86-64 CPUs without FMA, `mul_add` is a (slow, exact)
/// library call; the layouts stay the same.
#[inline(always)]
fn fast_pow_lane(x: f32, p: f32) -> f32 {
    let valid = (f32::MIN_POSITIVE..=f32::MAX).contains(&x);
    let bits = x.to_bits();
    let raw_exponent = ((bits >> 23) & 0xff) as i32 - 127;
    let m_raw = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m_raw > std::f32::consts::SQRT_2;
    let m = if big { m_raw * 0.5 } else { m_raw };
    let exponent = (raw_exponent + i32::from(big)) as f32;
    let f = m - 1.0;
    let c = &LOG2_POLY;
    let f2 = f * f;
    let f4 = f2 * f2;
    let f8 = f4 * f4;
    let p01 = c[1].mul_add(f, c[0]);
    let p23 = c[3].mul_add(f, c[2]);
    let p45 = c[5].mul_add(f, c[4]);
    let p67 = c[7].mul_add(f, c[6]);
    let p03 = p23.mul_add(f2, p01);
    let p47 = p67.mul_add(f2, p45);
    let p07 = p47.mul_add(f4, p03);
    let poly = c[8].mul_add(f8, p07);
    let log2_x = f.mul_add(poly, exponent);
    let y = (p * log2_x).clamp(-126.0, 126.0);
    let n = y.round_ties_even();
    let r = y - n;
    let e = &EXP2_POLY;
    let r2 = r * r;
    let q01 = e[1].mul_add(r, e[0]);
    let q23 = e[3].mul_add(r, e[2]);
    let q45 = e[5].mul_add(r, e[4]);
    let q = q45.mul_add(r2, q23).mul_add(r2, q01);
    // `n` is an integer in [−126, 126] (NaN only for invalid lanes, where `as` gives 0).
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    let result = scale * q;
    if valid { result } else { 0.0 }
}

#[inline(always)]
fn clip(v: f32) -> f32 {
    v.clamp(-CLIP, CLIP)
}

/// Read access to the positions a block does not own.
trait Positions<const D: usize>: Sync {
    fn get(&self, i: usize) -> [f32; D];
    /// Starts loading vertex `i`'s position ahead of its use.
    fn prefetch(&self, i: usize);
}

struct Plain<'a>(&'a [f32]);
impl<const D: usize> Positions<D> for Plain<'_> {
    #[inline(always)]
    fn get(&self, i: usize) -> [f32; D] {
        let mut p = [0.0; D];
        p.copy_from_slice(&self.0[i * D..(i + 1) * D]);
        p
    }
    #[inline(always)]
    fn prefetch(&self, i: usize) {
        prefetch(&self.0[i * D..(i + 1) * D], 1);
    }
}

struct Live<'a>(&'a [AtomicU32]);
impl<const D: usize> Positions<D> for Live<'_> {
    #[inline(always)]
    fn get(&self, i: usize) -> [f32; D] {
        std::array::from_fn(|d| f32::from_bits(self.0[i * D + d].load(Ordering::Relaxed)))
    }
    #[inline(always)]
    fn prefetch(&self, i: usize) {
        prefetch(&self.0[i * D..(i + 1) * D], 1);
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
    /// `1 / negative_sample_rate`: an edge's negative-sample period per its sampling period.
    per_negative: f32,
}

/// The negative samples of one step of [`block_epoch_body`], drawn in rounds: round `r` holds
/// sample `r` of every lane that takes more than `r` samples, and lane `l`'s sample in round
/// `r` is pool slot `window(key, counter + r) + l`. The pool is a uniform draw, so each sample
/// is still a uniform draw over all vertices, and the lanes of a round get distinct ones.
/// Lane-aligned rounds of consecutive slots let the vector version load a round's samples with
/// three plain loads (no gathers) and add its forces to all lanes at once (no scatter); the
/// scalar and vector versions add in the same order, so they give the same bits.
struct NegativeStep<'a, const D: usize> {
    /// Negative samples per lane this step.
    counts: [u32; LANES],
    cur: &'a [[f32; D]; LANES],
    /// Per lane, the vertex it must not repel from (itself), or `u32::MAX`.
    exclude: [u32; LANES],
    pool_ids: &'a [u32; POOL_SLOTS],
    /// Pool positions by coordinate (`pool_pos[d][slot]`), so a round's are contiguous.
    pool_pos: &'a [[f32; POOL_SLOTS]; D],
    key: u32,
    counter: u32,
    a: f32,
    b: f32,
    two_gamma_b: f32,
}

impl<const D: usize> NegativeStep<'_, D> {
    /// Rounds this step takes (the largest per-lane count); the counter advances 1 per round.
    fn rounds(&self) -> u32 {
        self.counts.iter().copied().max().unwrap_or(0)
    }
}

/// The first of a round's `LANES` consecutive pool slots, from a counter: a 32-bit integer
/// hash (xor-shift-multiply rounds), top bits.
#[inline(always)]
fn pool_window(key: u32, counter: u32) -> usize {
    let mut h = key.wrapping_add(counter);
    h ^= h >> 16;
    h = h.wrapping_mul(0x7feb_352d);
    h ^= h >> 15;
    h = h.wrapping_mul(0x846c_a68b);
    h ^= h >> 16;
    (h >> (32 - POOL_BITS)) as usize
}

/// Repulsive steps of one [`NegativeStep`], added into `steps`, round by round.
#[inline(always)]
fn negative_steps_portable<const D: usize>(
    n: &NegativeStep<'_, D>,
    steps: &mut [[f32; D]; LANES],
    pow: impl Fn(&[f32; LANES], f32) -> [f32; LANES],
) {
    for round in 0..n.rounds() {
        let window = pool_window(n.key, n.counter.wrapping_add(round));
        let mut diffs = [[0.0f32; D]; LANES];
        let mut d2s = [0.0f32; LANES];
        for l in 0..LANES {
            let slot = window + l;
            if n.pool_ids[slot] != n.exclude[l] {
                let mut d2 = 0.0f32;
                for ((diff, &cur), coords) in diffs[l].iter_mut().zip(&n.cur[l]).zip(n.pool_pos) {
                    *diff = cur - coords[slot];
                    d2 += *diff * *diff;
                }
                d2s[l] = d2;
            }
        }
        let pws = pow(&d2s, n.b);
        for l in 0..LANES {
            if round < n.counts[l] && d2s[l] > 0.0 {
                let coeff = n.two_gamma_b / ((0.001 + d2s[l]) * (n.a * pws[l] + 1.0));
                for d in 0..D {
                    steps[l][d] += clip(coeff * diffs[l][d]);
                }
            }
        }
    }
}

/// [`negative_steps_portable`] for two dimensions in AVX2: eight lanes per register (loads
/// from the pool, power, coefficient, clip), added to the lanes under a mask. A lane without a
/// sample in the round adds +0.0, which leaves its sum's bits unchanged (the sum starts at
/// +0.0, and no sum of finite floats rounds to −0.0).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn negative_steps_avx2_2d(n: &NegativeStep<'_, 2>, steps: &mut [[f32; 2]; LANES]) {
    use std::arch::x86_64::*;
    const REGS: usize = LANES / 8;
    let mut cur_x = [0.0f32; LANES];
    let mut cur_y = [0.0f32; LANES];
    let mut counts = [0i32; LANES];
    for l in 0..LANES {
        cur_x[l] = n.cur[l][0];
        cur_y[l] = n.cur[l][1];
        counts[l] = n.counts[l].min(i32::MAX as u32) as i32;
    }
    // SAFETY: every load and store below touches 8 lanes of `LANES`-element arrays at an
    // offset below `LANES`, or 8 pool slots of a window plus an offset below `LANES`; a window
    // starts below POOL (the hash's top POOL_BITS bits) in arrays of POOL + LANES.
    unsafe {
        let load = |a: &[f32; LANES], r: usize| _mm256_loadu_ps(a.as_ptr().add(8 * r));
        let cx: [__m256; REGS] = std::array::from_fn(|r| load(&cur_x, r));
        let cy: [__m256; REGS] = std::array::from_fn(|r| load(&cur_y, r));
        let excl: [__m256i; REGS] =
            std::array::from_fn(|r| _mm256_loadu_si256(n.exclude.as_ptr().add(8 * r).cast()));
        let counts: [__m256i; REGS] =
            std::array::from_fn(|r| _mm256_loadu_si256(counts.as_ptr().add(8 * r).cast()));
        let clip_hi = _mm256_set1_ps(CLIP);
        let clip_lo = _mm256_set1_ps(-CLIP);
        let mut sum_x = [_mm256_setzero_ps(); REGS];
        let mut sum_y = [_mm256_setzero_ps(); REGS];
        for round in 0..n.rounds() {
            let window = pool_window(n.key, n.counter.wrapping_add(round));
            // The registers' chains are independent: the CPU overlaps their latencies.
            for r in 0..REGS {
                let slot = window + 8 * r;
                let ids = _mm256_loadu_si256(n.pool_ids.as_ptr().add(slot).cast());
                let px = _mm256_loadu_ps(n.pool_pos[0].as_ptr().add(slot));
                let py = _mm256_loadu_ps(n.pool_pos[1].as_ptr().add(slot));
                let dx = _mm256_sub_ps(cx[r], px);
                let dy = _mm256_sub_ps(cy[r], py);
                let own = _mm256_cmpeq_epi32(ids, excl[r]);
                let d2 = _mm256_andnot_ps(
                    _mm256_castsi256_ps(own),
                    _mm256_add_ps(_mm256_mul_ps(dx, dx), _mm256_mul_ps(dy, dy)),
                );
                let pw = pow8_m256(d2, n.b);
                let coeff = _mm256_div_ps(
                    _mm256_set1_ps(n.two_gamma_b),
                    _mm256_mul_ps(
                        _mm256_add_ps(_mm256_set1_ps(0.001), d2),
                        _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(n.a), pw), _mm256_set1_ps(1.0)),
                    ),
                );
                let gx = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(coeff, dx), clip_lo), clip_hi);
                let gy = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(coeff, dy), clip_lo), clip_hi);
                let active = _mm256_castsi256_ps(_mm256_cmpgt_epi32(
                    counts[r],
                    _mm256_set1_epi32(round as i32),
                ));
                let push =
                    _mm256_and_ps(active, _mm256_cmp_ps::<_CMP_GT_OQ>(d2, _mm256_setzero_ps()));
                sum_x[r] = _mm256_add_ps(sum_x[r], _mm256_and_ps(push, gx));
                sum_y[r] = _mm256_add_ps(sum_y[r], _mm256_and_ps(push, gy));
            }
        }
        let (mut out_x, mut out_y) = ([0.0f32; LANES], [0.0f32; LANES]);
        for r in 0..REGS {
            _mm256_storeu_ps(out_x.as_mut_ptr().add(8 * r), sum_x[r]);
            _mm256_storeu_ps(out_y.as_mut_ptr().add(8 * r), sum_y[r]);
        }
        for l in 0..LANES {
            steps[l][0] += out_x[l];
            steps[l][1] += out_y[l];
        }
    }
}

/// Head vertices a block advances together. Within an epoch a head's updates depend only on
/// its own previous step (other vertices are read from the snapshot or live), so several heads
/// in flight give the CPU independent chains to overlap, and their power evaluations fill
/// whole vector registers.
const LANES: usize = 16;

/// Vertices a block draws its negative samples from in one epoch. The pool is itself a uniform
/// draw (seeded by epoch and block), so every negative sample is still a uniform draw over all
/// vertices and the expected repulsion is unchanged; but the pool sits in L1 instead of one
/// random read of the whole layout per sample, which dominated the epoch (about 20 negative
/// samples are taken per pool entry at 70,000 rows).
const POOL_BITS: u32 = 10;
const POOL: usize = 1 << POOL_BITS;
/// Pool entries drawn: a window starts below `POOL` and spans `LANES` slots.
const POOL_SLOTS: usize = POOL + LANES;

/// One epoch over the head vertices `first..first + own.len() / D`, `LANES` heads at a time.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn block_epoch_body<const D: usize, P: Positions<D>>(
    first: usize,
    own: &mut [f32],
    others: &P,
    row_ptr: &[usize],
    state: &mut [EdgeState],
    c: &EpochConsts,
    rng: &mut Rng,
    pow: impl Fn(&[f32; LANES], f32) -> [f32; LANES],
    negatives: impl Fn(&NegativeStep<'_, D>, &mut [[f32; D]; LANES]),
) {
    const IDLE: usize = usize::MAX;
    let edge_base = row_ptr[first];
    let two_ab = 2.0 * c.a * c.b;
    let two_gamma_b = 2.0 * c.gamma * c.b;
    let n_own = own.len() / D;
    let mut head = [IDLE; LANES];
    // Per lane: the first edge of the head's current 64-edge window, the head's edge end, and
    // which edges of the window are still due.
    let mut window = [0usize; LANES];
    let mut end = [0usize; LANES];
    let mut due = [0u64; LANES];
    let mut cur = [[0.0f32; D]; LANES];
    let mut next_head = 0usize;
    let mut pool_ids = [0u32; POOL_SLOTS];
    let mut pool_pos = [[0.0f32; POOL_SLOTS]; D];
    // Draw first, then read: a tight loop of independent reads keeps many cache misses in flight.
    for id in pool_ids.iter_mut() {
        *id = rng.below(c.n_tail) as u32;
    }
    for (slot, &id) in pool_ids.iter().enumerate() {
        let pos = others.get(id as usize);
        for d in 0..D {
            pool_pos[d][slot] = pos[d];
        }
    }
    let key = rng.next_u64() as u32;
    let mut counter = 0u32;
    loop {
        // Each lane's next edge due this epoch, starting new heads as lanes run dry.
        let mut edge = [IDLE; LANES];
        let mut any = false;
        for l in 0..LANES {
            loop {
                if head[l] == IDLE {
                    if next_head >= n_own {
                        break;
                    }
                    head[l] = next_head;
                    cur[l].copy_from_slice(&own[next_head * D..(next_head + 1) * D]);
                    window[l] = row_ptr[first + next_head];
                    end[l] = row_ptr[first + next_head + 1];
                    due[l] = due_mask(&state[window[l] - edge_base..end[l] - edge_base], c.epoch);
                    next_head += 1;
                }
                if due[l] != 0 {
                    edge[l] = window[l] + due[l].trailing_zeros() as usize;
                    due[l] &= due[l] - 1;
                    any = true;
                    // The lane's next edge's tail is a random vertex: start loading it now,
                    // a step before it is read.
                    if due[l] != 0 {
                        let next = window[l] + due[l].trailing_zeros() as usize;
                        others.prefetch(state[next - edge_base].tail as usize);
                    }
                    break;
                }
                window[l] += 64;
                if window[l] < end[l] {
                    due[l] = due_mask(&state[window[l] - edge_base..end[l] - edge_base], c.epoch);
                    continue;
                }
                let h = head[l];
                own[h * D..(h + 1) * D].copy_from_slice(&cur[l]);
                head[l] = IDLE;
            }
        }
        if !any {
            break;
        }

        // Per lane: the edge's tail position and negative-sample schedule. An idle lane pairs
        // with itself (distance 0: no attraction) and with a schedule that owes no samples.
        // The arithmetic below is branch-free over the lanes, so the compiler may vectorise it.
        let mut tail_pos = cur;
        let mut next_negative = [c.epoch; LANES];
        let mut epochs_per_negative = [1.0f32; LANES];
        for l in 0..LANES {
            if edge[l] != IDLE {
                let st = &mut state[edge[l] - edge_base];
                tail_pos[l] = others.get(st.tail as usize);
                st.next_sample += st.epochs_per_sample;
                next_negative[l] = st.next_negative;
                epochs_per_negative[l] = st.epochs_per_sample * c.per_negative;
            }
        }

        // Attraction along each lane's edge.
        let mut diffs = [[0.0f32; D]; LANES];
        let mut d2s = [0.0f32; LANES];
        for l in 0..LANES {
            for d in 0..D {
                diffs[l][d] = cur[l][d] - tail_pos[l][d];
                d2s[l] += diffs[l][d] * diffs[l][d];
            }
        }
        let pws = pow(&d2s, c.b);
        let mut coeffs = [0.0f32; LANES];
        for l in 0..LANES {
            let coeff = -two_ab * pws[l] / (d2s[l] * (c.a * pws[l] + 1.0));
            coeffs[l] = if d2s[l] > 0.0 { coeff } else { 0.0 };
        }
        for l in 0..LANES {
            for d in 0..D {
                cur[l][d] += clip(coeffs[l] * diffs[l][d]) * c.attraction_step;
            }
        }

        // Negative samples for every lane, evaluated at the lane's position after attraction:
        // as many as the edge's negative-sample schedule owes by this epoch.
        let mut owed = [0.0f32; LANES];
        for l in 0..LANES {
            owed[l] = ((c.epoch - next_negative[l]) / epochs_per_negative[l])
                .max(0.0)
                .trunc();
            next_negative[l] += owed[l] * epochs_per_negative[l];
        }
        let mut counts = [0u32; LANES];
        let mut exclude = [u32::MAX; LANES];
        for l in 0..LANES {
            if edge[l] != IDLE {
                state[edge[l] - edge_base].next_negative = next_negative[l];
                // Saturating conversion; a count is a handful in practice.
                counts[l] = owed[l] as u32;
                if c.same_set {
                    exclude[l] = (first + head[l]) as u32;
                }
            }
        }
        let mut steps = [[0.0f32; D]; LANES];
        let step = NegativeStep {
            counts,
            cur: &cur,
            exclude,
            pool_ids: &pool_ids,
            pool_pos: &pool_pos,
            key,
            counter,
            a: c.a,
            b: c.b,
            two_gamma_b,
        };
        negatives(&step, &mut steps);
        counter = counter.wrapping_add(step.rounds());
        for l in 0..LANES {
            if edge[l] != IDLE {
                for d in 0..D {
                    cur[l][d] += steps[l][d] * c.alpha;
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn block_epoch_avx2<const D: usize, P: Positions<D>>(
    first: usize,
    own: &mut [f32],
    others: &P,
    row_ptr: &[usize],
    state: &mut [EdgeState],
    c: &EpochConsts,
    rng: &mut Rng,
) {
    block_epoch_body::<D, P>(
        first,
        own,
        others,
        row_ptr,
        state,
        c,
        rng,
        // The closures inherit this function's AVX2 + FMA (detected before calling it).
        |x, p| pow_lanes_avx2(x, p),
        |n, steps| {
            if D == 2 {
                // SAFETY: with D == 2 the generic types are these very types.
                let (n2, steps2) = unsafe {
                    (
                        &*(n as *const NegativeStep<'_, D>).cast::<NegativeStep<'_, 2>>(),
                        &mut *(steps as *mut [[f32; D]; LANES]).cast::<[[f32; 2]; LANES]>(),
                    )
                };
                negative_steps_avx2_2d(n2, steps2);
            } else {
                negative_steps_portable(n, steps, |x, p| pow_lanes_avx2(x, p));
            }
        },
    )
}

/// One epoch over a block, with the widest vector code the CPU has.
#[allow(clippy::too_many_arguments)]
fn block_epoch<const D: usize, P: Positions<D>>(
    first: usize,
    own: &mut [f32],
    others: &P,
    row_ptr: &[usize],
    state: &mut [EdgeState],
    c: &EpochConsts,
    rng: &mut Rng,
) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the features were detected at run time.
        return unsafe { block_epoch_avx2::<D, P>(first, own, others, row_ptr, state, c, rng) };
    }
    block_epoch_body::<D, P>(
        first,
        own,
        others,
        row_ptr,
        state,
        c,
        rng,
        pow_lanes,
        |n, steps| negative_steps_portable(n, steps, pow_lanes),
    )
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
    let per_negative = 1.0 / p.negative_sample_rate.max(f32::MIN_POSITIVE);
    let mut state: Vec<EdgeState> = schedule
        .epochs_per_sample
        .iter()
        .zip(&schedule.cols)
        .map(|(&s, &tail)| EdgeState {
            next_sample: s,
            next_negative: s * per_negative,
            epochs_per_sample: s,
            tail,
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
        alpha: learning_rate(p.initial_alpha, epoch, n_epochs),
        epoch: epoch as f32,
        attraction_step: learning_rate(p.initial_alpha, epoch, n_epochs) * p.attraction_scale,
        n_tail,
        same_set: tail.is_none(),
        per_negative,
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
                            &schedule.row_ptr,
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
                            &schedule.row_ptr,
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
                            &schedule.row_ptr,
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
    fn learning_rate_follows_umap_learns_loop() {
        // umap-learn (layouts.py): alpha = initial; for n in range(n_epochs): run epoch n with
        // alpha, then alpha = initial * (1 - n / n_epochs).
        let (initial, n_epochs) = (0.8f32, 200usize);
        let mut alpha = initial;
        for n in 0..n_epochs {
            let ours = learning_rate(initial, n, n_epochs);
            assert!((ours - alpha).abs() < 1e-6, "epoch {n}: {ours} vs {alpha}");
            alpha = initial * (1.0 - n as f32 / n_epochs as f32);
        }
        assert!((learning_rate(1.0, n_epochs - 1, n_epochs) - 0.01).abs() < 1e-6);
    }

    #[test]
    fn vector_powers_match_the_scalar_formula() {
        let x: [f32; LANES] = std::array::from_fn(|l| {
            [0.0f32, 1e-40, 0.01, 0.3, 1.0, 4.5, 80.0, 1e7][l % 8] * (1 + l / 8) as f32
        });
        let b = 0.895f32;
        let mut versions = vec![pow_lanes(&x, b)];
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            // SAFETY: the features were detected at run time.
            versions.push(unsafe { pow_lanes_avx2(&x, b) });
        }
        for got in &versions {
            for (&xi, &g) in x.iter().zip(got) {
                if xi < f32::MIN_POSITIVE {
                    assert_eq!(g, 0.0, "{xi}^{b}");
                    continue;
                }
                let exact = f64::from(xi).powf(f64::from(b));
                let err = (f64::from(g) - exact).abs();
                assert!(err <= 2e-6 * exact, "{xi}^{b}: {g} vs {exact}");
            }
        }
        // Every version computes the same lanes bit for bit.
        assert!(versions.iter().all(|v| v == &versions[0]));
    }

    /// The AVX2 path must give the portable path's bits (layouts must not depend on the CPU).
    #[test]
    fn vector_negative_steps_match_the_portable_ones() {
        let mut rng = Rng::new(9);
        let mut pool_ids = [0u32; POOL_SLOTS];
        let mut pool_pos = [[0.0f32; POOL_SLOTS]; 2];
        for (slot, id) in pool_ids.iter_mut().enumerate() {
            *id = rng.below(50) as u32;
            for coords in pool_pos.iter_mut() {
                coords[slot] = rng.normal() as f32 * 3.0;
            }
        }
        let cur: [[f32; 2]; LANES] =
            std::array::from_fn(|_| [rng.normal() as f32, rng.normal() as f32]);
        // Uneven sample counts per lane and an idle lane.
        let counts: [u32; LANES] =
            std::array::from_fn(|l| [5u32, 0, 7, 1, 12, 5, 3, 6][l % 8] + l as u32 / 8);
        let step = NegativeStep {
            counts,
            cur: &cur,
            exclude: std::array::from_fn(|l| l as u32 * 5),
            pool_ids: &pool_ids,
            pool_pos: &pool_pos,
            key: 0xdead_beef,
            counter: 77,
            a: 1.577,
            b: 0.895,
            two_gamma_b: 1.79,
        };
        let mut portable = [[0.0f32; 2]; LANES];
        negative_steps_portable(&step, &mut portable, pow_lanes);
        assert!(portable.iter().flatten().any(|&v| v != 0.0));
        assert!(portable[1] == [0.0, 0.0], "an idle lane gets no force");
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            let mut vector = [[0.0f32; 2]; LANES];
            // SAFETY: the features were detected at run time.
            unsafe { negative_steps_avx2_2d(&step, &mut vector) };
            assert_eq!(portable, vector);
        }
    }

    #[test]
    fn fast_pow_is_accurate() {
        for &p in &[0.5f32, 0.79, 0.895, 1.0, 1.5, 1.93] {
            let mut x = 1e-6f32;
            while x < 1e6 {
                let exact = f64::from(x).powf(f64::from(p));
                let got = f64::from(fast_pow_lane(x, p));
                assert!(
                    ((got - exact) / exact).abs() < 2e-6,
                    "{x}^{p}: {got} vs {exact}"
                );
                x *= 1.37;
            }
        }
        assert_eq!(fast_pow_lane(0.0, 0.9), 0.0);
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
