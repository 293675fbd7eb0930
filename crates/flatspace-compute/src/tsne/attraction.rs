//! Attractive forces Σ_j p_ij w_ij^(1/α) (y_i − y_j), one row at a time.
//!
//! The common case (2D, Cauchy kernel) was half of t-SNE's optimiser time: about 130 edges per
//! row, every iteration. It has a portable body and an AVX2 one chosen once at run time; both
//! compute the same operations in the same order, so they give the same bits and the layout does
//! not depend on the machine's vector width. Differences are taken in f64 (coordinates may be
//! large, neighbours close) and the kernel is evaluated in f32 lanes of eight edges.

// Coordinates of 2 or 3 dimensions are indexed together across several arrays.
#![allow(clippy::needless_range_loop)]

use std::sync::OnceLock;

use rayon::prelude::*;

use super::affinities::SparseAffinities;
use super::kernel::Kernel;

/// Edges per group: eight f32 accumulators per coordinate, summed in lane order at the end.
const LANES: usize = 8;

/// Attraction of every row of `y` (`dim` columns) into `out`.
pub(crate) fn attraction(
    y: &[f64],
    dim: usize,
    p: &SparseAffinities,
    kernel: Kernel,
    out: &mut [f64],
) {
    if dim == 2 && kernel.is_cauchy() {
        assert_eq!(y.len(), 2 * p.n_rows, "one position per affinity row");
        let row_kernel = cauchy_2d_kernel();
        out.par_chunks_mut(2).enumerate().for_each(|(i, force)| {
            let (cols, vals) = p.row(i);
            let (f0, f1) = row_kernel([y[2 * i], y[2 * i + 1]], cols, vals, y);
            force[0] = f0;
            force[1] = f1;
        });
        return;
    }
    out.par_chunks_mut(dim).enumerate().for_each(|(i, force)| {
        let yi = &y[i * dim..(i + 1) * dim];
        let (cols, vals) = p.row(i);
        force.iter_mut().for_each(|f| *f = 0.0);
        for (&j, &pij) in cols.iter().zip(vals) {
            let yj = &y[j as usize * dim..(j as usize + 1) * dim];
            let mut d2 = 0.0;
            for c in 0..dim {
                let d = yi[c] - yj[c];
                d2 += d * d;
            }
            let a = f64::from(pij) * kernel.attraction(d2);
            for c in 0..dim {
                force[c] += a * (yi[c] - yj[c]);
            }
        }
    });
}

/// Σ_j p_ij (y_i − y_j) / (1 + |y_i − y_j|²) for one row of a 2D layout.
type Cauchy2d = fn([f64; 2], &[u32], &[f32], &[f64]) -> (f64, f64);

fn cauchy_2d_kernel() -> Cauchy2d {
    static CHOSEN: OnceLock<Cauchy2d> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected at run time; the body checks every index it reads.
            return |yi, cols, vals, y| unsafe { x86::row_cauchy_2d_avx2(yi, cols, vals, y) };
        }
        row_cauchy_2d_portable
    })
}

/// The reference body: per group of eight edges, f64 differences rounded to f32, then
/// a = p / (1 + (dx² + dy²)) and lane-wise sums of a·dx and a·dy; the lanes are summed in order
/// in f64 and the last `len % 8` edges are added in f64.
fn row_cauchy_2d_portable(yi: [f64; 2], cols: &[u32], vals: &[f32], y: &[f64]) -> (f64, f64) {
    let mut ax = [0f32; LANES];
    let mut ay = [0f32; LANES];
    let mut col_chunks = cols.chunks_exact(LANES);
    let mut val_chunks = vals.chunks_exact(LANES);
    for (cc, vc) in (&mut col_chunks).zip(&mut val_chunks) {
        let mut dx = [0f32; LANES];
        let mut dy = [0f32; LANES];
        for l in 0..LANES {
            let j = cc[l] as usize;
            dx[l] = (yi[0] - y[2 * j]) as f32;
            dy[l] = (yi[1] - y[2 * j + 1]) as f32;
        }
        for l in 0..LANES {
            let a = vc[l] / (1.0 + (dx[l] * dx[l] + dy[l] * dy[l]));
            ax[l] += a * dx[l];
            ay[l] += a * dy[l];
        }
    }
    finish(
        ax,
        ay,
        yi,
        col_chunks.remainder(),
        val_chunks.remainder(),
        y,
    )
}

/// Lane sums in order, then the remaining edges in f64.
#[inline(always)]
fn finish(
    ax: [f32; LANES],
    ay: [f32; LANES],
    yi: [f64; 2],
    cols: &[u32],
    vals: &[f32],
    y: &[f64],
) -> (f64, f64) {
    let mut fx: f64 = ax.iter().map(|&v| f64::from(v)).sum();
    let mut fy: f64 = ay.iter().map(|&v| f64::from(v)).sum();
    for (&j, &pij) in cols.iter().zip(vals) {
        let j = j as usize;
        let d0 = yi[0] - y[2 * j];
        let d1 = yi[1] - y[2 * j + 1];
        let a = f64::from(pij) / (1.0 + d0 * d0 + d1 * d1);
        fx += a * d0;
        fy += a * d1;
    }
    (fx, fy)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The portable body with AVX2: each neighbour's (x, y) pair is one 128-bit load, four
    //! pairs are subtracted in f64 at once and rounded to f32, so eight edges sit interleaved in
    //! two registers. A horizontal add gives dx² + dy² per edge (the same sum as the portable
    //! body), one division serves eight edges, and the accumulators hold the portable lanes
    //! interleaved: [x₀ y₀ x₁ y₁ x₂ y₂ x₃ y₃] for edges 0–3 and the same for edges 4–7.
    use std::arch::x86_64::*;

    use super::{LANES, finish};

    #[target_feature(enable = "avx2")]
    pub(super) fn row_cauchy_2d_avx2(
        yi: [f64; 2],
        cols: &[u32],
        vals: &[f32],
        y: &[f64],
    ) -> (f64, f64) {
        let groups = cols.len().min(vals.len()) / LANES;
        let n_points = y.len() / 2;
        let centre = _mm256_setr_pd(yi[0], yi[1], yi[0], yi[1]);
        let one = _mm256_set1_ps(1.0);
        // hadd leaves the edges of two 4-edge registers in the order 0 1 4 5 2 3 6 7.
        let vals_order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
        let dup_low = _mm256_setr_epi32(0, 0, 1, 1, 4, 4, 5, 5);
        let dup_high = _mm256_setr_epi32(2, 2, 3, 3, 6, 6, 7, 7);
        let mut acc_low = _mm256_setzero_ps();
        let mut acc_high = _mm256_setzero_ps();
        for g in 0..groups {
            let cc = &cols[g * LANES..(g + 1) * LANES];
            let pair = |l: usize| {
                let j = (cc[l] as usize).min(n_points.saturating_sub(1));
                // SAFETY: j < n_points, so y[2j] and y[2j + 1] are in bounds (when y is empty
                // there are no columns to read: the affinities have one row per point).
                unsafe { _mm_loadu_pd(y.as_ptr().add(2 * j)) }
            };
            let d01 = _mm256_sub_pd(centre, _mm256_set_m128d(pair(1), pair(0)));
            let d23 = _mm256_sub_pd(centre, _mm256_set_m128d(pair(3), pair(2)));
            let d45 = _mm256_sub_pd(centre, _mm256_set_m128d(pair(5), pair(4)));
            let d67 = _mm256_sub_pd(centre, _mm256_set_m128d(pair(7), pair(6)));
            let d_low = _mm256_set_m128(_mm256_cvtpd_ps(d23), _mm256_cvtpd_ps(d01));
            let d_high = _mm256_set_m128(_mm256_cvtpd_ps(d67), _mm256_cvtpd_ps(d45));
            let sq = _mm256_hadd_ps(_mm256_mul_ps(d_low, d_low), _mm256_mul_ps(d_high, d_high));
            // SAFETY: the group's eight values are in bounds (g < groups).
            let v = unsafe { _mm256_loadu_ps(vals.as_ptr().add(g * LANES)) };
            let v = _mm256_permutevar8x32_ps(v, vals_order);
            let a = _mm256_div_ps(v, _mm256_add_ps(one, sq));
            let a_low = _mm256_permutevar8x32_ps(a, dup_low);
            let a_high = _mm256_permutevar8x32_ps(a, dup_high);
            acc_low = _mm256_add_ps(acc_low, _mm256_mul_ps(a_low, d_low));
            acc_high = _mm256_add_ps(acc_high, _mm256_mul_ps(a_high, d_high));
        }
        let mut low = [0f32; 8];
        let mut high = [0f32; 8];
        // SAFETY: both arrays hold eight f32.
        unsafe {
            _mm256_storeu_ps(low.as_mut_ptr(), acc_low);
            _mm256_storeu_ps(high.as_mut_ptr(), acc_high);
        }
        let mut ax = [0f32; LANES];
        let mut ay = [0f32; LANES];
        for l in 0..4 {
            ax[l] = low[2 * l];
            ay[l] = low[2 * l + 1];
            ax[l + 4] = high[2 * l];
            ay[l + 4] = high[2 * l + 1];
        }
        let done = groups * LANES;
        finish(ax, ay, yi, &cols[done..], &vals[done..], y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dispatched kernel (AVX2 here when the CPU has it) gives the portable body's bits.
    #[test]
    fn vector_and_portable_bodies_agree_bit_for_bit() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let n = 500;
        // Coordinates spread over ±300 with neighbours as close as 1e-4, as late layouts have.
        let y: Vec<f64> = (0..2 * n)
            .map(|k| {
                let base = (next() - 0.5) * 600.0;
                if k % 7 == 0 { base * 1e-6 } else { base }
            })
            .collect();
        let kernel = cauchy_2d_kernel();
        for len in [0usize, 1, 7, 8, 9, 23, 64, 131] {
            let cols: Vec<u32> = (0..len).map(|_| (next() * n as f64) as u32).collect();
            let vals: Vec<f32> = (0..len).map(|_| next() as f32 * 1e-4).collect();
            let yi = [y[10], y[11]];
            let want = row_cauchy_2d_portable(yi, &cols, &vals, &y);
            let got = kernel(yi, &cols, &vals, &y);
            assert_eq!(want.0.to_bits(), got.0.to_bits(), "x, {len} edges");
            assert_eq!(want.1.to_bits(), got.1.to_bits(), "y, {len} edges");
        }
    }
}
