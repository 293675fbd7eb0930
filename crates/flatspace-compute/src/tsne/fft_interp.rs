//! Repulsion by FFT-accelerated interpolation (the FIt-SNE idea, 2D).
//!
//! The layout's bounding square is cut into `n_boxes` × `n_boxes` boxes with `p` × `p`
//! equispaced interpolation nodes each, so the nodes form one regular grid. Each point spreads
//! its charges (1, y₁, y₂) onto the nodes of its box with Lagrange weights; the force kernel
//! w^(1+1/α) is convolved with the node charges by FFT over a circulant embedding of twice the
//! grid size and the node potentials are interpolated back to the points with the same weights.
//! Z = Σ w comes from the spectra by Parseval (spreading and interpolation are transposes), so
//! an iteration costs 3 forward and 3 inverse 2D FFTs: O(n p²) + O(M² log M), M = 2 p n_boxes.
//!
//! Grid policy: one box per `ints_in_interval` layout units, at least `min_boxes` and at most
//! `max_boxes` per side, rounded up to a 5-smooth count (fast FFT sizes). The box width is rounded
//! up on a geometric ladder (steps of 2^(1/16)), so consecutive iterations whose layout extent
//! stays on the same rung reuse the cached kernel transforms.
//!
//! Grids and FFTs are in `f32` (the interpolation error, about 1e-3 relative, dominates the
//! rounding error); charges are taken relative to the grid centre to keep magnitudes small.

// Coordinates of 2 or 3 dimensions are indexed together across several arrays.
#![allow(clippy::needless_range_loop)]

use std::sync::Arc;

use rayon::prelude::*;
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};

use super::kernel::Kernel;

type G = f32;

/// A kernel transform and a charge transform to multiply.
type SpectrumPair<'a> = (&'a [Complex<G>], &'a [Complex<G>]);

/// Columns (or rows) moved together in a transpose: 8 complex f32 = one cache line.
const BLOCK: usize = 8;

/// Charges spread per point: 1, y₁, y₂ (Z from the first by Parseval; forces from all three).
const N_CHARGES: usize = 3;

struct Plans {
    n_fft: usize,
    r2c: Arc<dyn RealToComplex<G>>,
    c2r: Arc<dyn ComplexToReal<G>>,
    forward: Arc<dyn Fft<G>>,
    inverse: Arc<dyn Fft<G>>,
}

/// Kernel transforms for one grid (column-major: `n_fft / 2 + 1` columns of `n_fft` values).
struct KernelSpectra {
    n_boxes: usize,
    box_width: f64,
    similarity: Vec<Complex<G>>,
    repulsion: Vec<Complex<G>>,
}

/// The FFT repulsion engine; keeps plans, cached kernel transforms and buffers between
/// iterations.
pub(crate) struct FftRepulsion {
    kernel: Kernel,
    p: usize,
    min_boxes: usize,
    max_boxes: usize,
    ints_in_interval: f64,
    plans: Option<Plans>,
    spectra: Option<KernelSpectra>,
    buffers: Buffers,
    /// Kernel-transform cache hits and misses (for tests and tuning).
    pub(crate) cache_hits: u64,
    pub(crate) cache_misses: u64,
}

/// Work arrays kept between iterations (fresh multi-megabyte allocations each iteration cost
/// page faults).
#[derive(Default)]
struct Buffers {
    charges: [Vec<G>; N_CHARGES],
    row_spec: Vec<Complex<G>>,
    spectra: [Vec<Complex<G>>; N_CHARGES],
    product: Vec<Complex<G>>,
    potentials: [Vec<G>; 3],
    /// Per point: its box (row, column) and its `2p` Lagrange weights.
    boxes: Vec<[u32; 2]>,
    weights: Vec<f64>,
    /// Points grouped by box row: `bucket_points[bucket_start[b]..bucket_start[b + 1]]`.
    bucket_start: Vec<usize>,
    bucket_fill: Vec<usize>,
    bucket_points: Vec<u32>,
}

/// Resizes `v` to `len` values, all zero.
fn zeroed<T: Clone + Default>(v: &mut Vec<T>, len: usize) {
    v.clear();
    v.resize(len, T::default());
}

/// Smallest 5-smooth integer ≥ n.
fn smooth_at_least(n: usize) -> usize {
    let mut m = n.max(1);
    loop {
        let mut r = m;
        for f in [2, 3, 5] {
            while r.is_multiple_of(f) {
                r /= f;
            }
        }
        if r == 1 {
            return m;
        }
        m += 1;
    }
}

/// Rounds `w` up to the ladder 2^(k/16).
fn quantize_up(w: f64) -> f64 {
    let k = (w.log2() * 16.0).ceil();
    (k / 16.0).exp2()
}

/// Grid geometry of one iteration.
struct Grid {
    n_boxes: usize,
    box_width: f64,
    /// Lower corner of the grid in each dimension.
    lo: [f64; 2],
    /// Centre of the grid (charges are taken relative to it).
    mid: [f64; 2],
}

impl FftRepulsion {
    pub(crate) fn new(
        kernel: Kernel,
        n_interpolation_points: usize,
        min_boxes: usize,
        max_boxes: usize,
        ints_in_interval: f64,
    ) -> Self {
        Self {
            kernel,
            p: n_interpolation_points.max(1),
            min_boxes: min_boxes.max(1),
            max_boxes: max_boxes.max(min_boxes.max(1)),
            ints_in_interval,
            plans: None,
            spectra: None,
            buffers: Buffers::default(),
            cache_hits: 0,
            cache_misses: 0,
        }
    }

    fn grid_for(&self, y: &[f64]) -> Grid {
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for pt in y.chunks_exact(2) {
            for c in 0..2 {
                lo[c] = lo[c].min(pt[c]);
                hi[c] = hi[c].max(pt[c]);
            }
        }
        let extent = (hi[0] - lo[0]).max(hi[1] - lo[1]);
        let extent = if extent.is_finite() && extent > 1e-9 {
            extent
        } else {
            1e-9
        };
        let wanted = (extent / self.ints_in_interval).ceil() as usize;
        let n_boxes = smooth_at_least(wanted.clamp(self.min_boxes, self.max_boxes));
        // Slightly wider than the extent so no point sits exactly on the far edge.
        let box_width = quantize_up(extent * (1.0 + 1e-6) / n_boxes as f64);
        let side = box_width * n_boxes as f64;
        let mid = [0.5 * (lo[0] + hi[0]), 0.5 * (lo[1] + hi[1])];
        Grid {
            n_boxes,
            box_width,
            lo: [mid[0] - 0.5 * side, mid[1] - 0.5 * side],
            mid,
        }
    }

    fn ensure_plans(&mut self, n_fft: usize) {
        if self.plans.as_ref().is_some_and(|p| p.n_fft == n_fft) {
            return;
        }
        let mut real = RealFftPlanner::<G>::new();
        let mut complex = FftPlanner::<G>::new();
        self.plans = Some(Plans {
            n_fft,
            r2c: real.plan_fft_forward(n_fft),
            c2r: real.plan_fft_inverse(n_fft),
            forward: complex.plan_fft_forward(n_fft),
            inverse: complex.plan_fft_inverse(n_fft),
        });
    }

    fn ensure_spectra(&mut self, grid: &Grid) {
        if let Some(s) = &self.spectra
            && s.n_boxes == grid.n_boxes
            && s.box_width == grid.box_width
        {
            self.cache_hits += 1;
            return;
        }
        self.cache_misses += 1;
        let m = grid.n_boxes * self.p;
        let n_fft = 2 * m;
        let spacing = grid.box_width / self.p as f64;
        let kernel = self.kernel;
        // Circulant embedding: index a stands for the offset a (a < m) or a − n_fft (a > m).
        let offset = |a: usize| (a.min(n_fft - a)) as f64 * spacing;
        let mut sim = vec![0 as G; n_fft * n_fft];
        let mut rep = vec![0 as G; n_fft * n_fft];
        sim.par_chunks_mut(n_fft)
            .zip(rep.par_chunks_mut(n_fft))
            .enumerate()
            .for_each(|(a, (srow, rrow))| {
                let dx = offset(a);
                for b in 0..n_fft {
                    let dy = offset(b);
                    let d2 = dx * dx + dy * dy;
                    srow[b] = kernel.similarity(d2) as G;
                    rrow[b] = kernel.repulsion(d2) as G;
                }
            });
        let Some(plans) = self.plans.as_ref() else {
            return;
        };
        let similarity = forward_2d(plans, &mut sim, n_fft);
        let repulsion = forward_2d(plans, &mut rep, n_fft);
        self.spectra = Some(KernelSpectra {
            n_boxes: grid.n_boxes,
            box_width: grid.box_width,
            similarity,
            repulsion,
        });
    }

    /// Writes the unnormalised repulsion of every row of `y` (2 columns) into `out`; returns Z.
    pub(crate) fn repulsion(&mut self, y: &[f64], out: &mut [f64]) -> f64 {
        let n = y.len() / 2;
        if n == 0 {
            return 0.0;
        }
        let grid = self.grid_for(y);
        let p = self.p;
        let nb = grid.n_boxes;
        let m = nb * p;
        let n_fft = 2 * m;
        self.ensure_plans(n_fft);
        self.ensure_spectra(&grid);
        let (Some(plans), Some(spectra)) = (self.plans.as_ref(), self.spectra.as_ref()) else {
            return 0.0;
        };

        // Box and Lagrange weights of every point.
        let nodes: Vec<f64> = (0..p).map(|a| (a as f64 + 0.5) / p as f64).collect();
        let denominators: Vec<f64> = (0..p)
            .map(|a| {
                (0..p)
                    .filter(|&l| l != a)
                    .map(|l| nodes[a] - nodes[l])
                    .product()
            })
            .collect();
        let buffers = &mut self.buffers;
        let (boxes, weights) = (&mut buffers.boxes, &mut buffers.weights);
        zeroed(boxes, n);
        zeroed(weights, n * 2 * p);
        boxes
            .par_iter_mut()
            .zip(weights.par_chunks_mut(2 * p))
            .enumerate()
            .for_each(|(i, (bx, w))| {
                for c in 0..2 {
                    let t = (y[2 * i + c] - grid.lo[c]) / grid.box_width;
                    // `as usize` truncates (saturating at 0 below), so it is the floor here
                    // without a call to libm's `floor` (the baseline target has no SSE4.1).
                    let b = (t as usize).min(nb - 1);
                    bx[c] = b as u32;
                    let u = t - b as f64;
                    for a in 0..p {
                        let mut num = 1.0;
                        for l in 0..p {
                            if l != a {
                                num *= u - nodes[l];
                            }
                        }
                        w[c * p + a] = num / denominators[a];
                    }
                }
            });

        // Bucket points by their box along the first axis: each bucket owns p grid rows, so the
        // buckets spread in parallel without write conflicts, each in row order.
        let bucket_start = &mut buffers.bucket_start;
        zeroed(bucket_start, nb + 1);
        for b in boxes.iter() {
            bucket_start[b[0] as usize + 1] += 1;
        }
        for b in 0..nb {
            bucket_start[b + 1] += bucket_start[b];
        }
        let fill = &mut buffers.bucket_fill;
        fill.clear();
        fill.extend_from_slice(bucket_start);
        let bucket_points = &mut buffers.bucket_points;
        zeroed(bucket_points, n);
        for (i, b) in boxes.iter().enumerate() {
            let slot = &mut fill[b[0] as usize];
            bucket_points[*slot] = i as u32;
            *slot += 1;
        }
        let (boxes, weights) = (&buffers.boxes[..], &buffers.weights[..]);
        let (bucket_start, bucket_points) = (&buffers.bucket_start[..], &buffers.bucket_points[..]);

        // Spread charges onto m rows × n_fft columns (the zero-padded half is implicit).
        let row_len = n_fft;
        for g in buffers.charges.iter_mut() {
            zeroed(g, m * row_len);
        }
        {
            let [c0, c1, c2] = &mut buffers.charges;
            c0.par_chunks_mut(p * row_len)
                .zip(c1.par_chunks_mut(p * row_len))
                .zip(c2.par_chunks_mut(p * row_len))
                .enumerate()
                .for_each(|(b, ((g0, g1), g2))| {
                    for &i in &bucket_points[bucket_start[b]..bucket_start[b + 1]] {
                        let i = i as usize;
                        let w = &weights[i * 2 * p..(i + 1) * 2 * p];
                        let (wx, wy) = w.split_at(p);
                        let col0 = boxes[i][1] as usize * p;
                        let q1 = y[2 * i] - grid.mid[0];
                        let q2 = y[2 * i + 1] - grid.mid[1];
                        for (a, &wa) in wx.iter().enumerate() {
                            let row = a * row_len + col0;
                            for (bb, &wb) in wy.iter().enumerate() {
                                let wab = wa * wb;
                                g0[row + bb] += wab as G;
                                g1[row + bb] += (wab * q1) as G;
                                g2[row + bb] += (wab * q2) as G;
                            }
                        }
                    }
                });
        }

        // Convolve: Z kernel with charge 1; force kernel with charges 1, y₁, y₂.
        for (g, spec) in buffers.charges.iter_mut().zip(buffers.spectra.iter_mut()) {
            forward_2d_padded(plans, g, m, n_fft, &mut buffers.row_spec, spec);
        }
        let scale = 1.0 / (n_fft as f64 * n_fft as f64);
        // Z = Σ_i Σ_j w_ij = q₀ᵀ (K_w ⊛ q₀) − n w(0): spreading and interpolation are transposes,
        // so by Parseval Z comes from the spectra alone, without an inverse transform.
        let z_all =
            parseval_quadratic_form(&spectra.similarity, &buffers.spectra[0], n_fft) * scale;
        let z = z_all - n as f64 * self.kernel.similarity(0.0);
        let pairs: [SpectrumPair<'_>; 3] = [
            (&spectra.repulsion, &buffers.spectra[0]),
            (&spectra.repulsion, &buffers.spectra[1]),
            (&spectra.repulsion, &buffers.spectra[2]),
        ];
        for ((k, s), pot) in pairs.iter().zip(buffers.potentials.iter_mut()) {
            buffers.product.clear();
            buffers
                .product
                .extend(k.iter().zip(s.iter()).map(|(a, b)| a * b));
            inverse_2d_truncated(plans, &mut buffers.product, m, n_fft, pot);
        }
        let potentials = &buffers.potentials;

        // Interpolate back to the points.
        out.par_chunks_mut(2).enumerate().for_each(|(i, force)| {
            let w = &weights[i * 2 * p..(i + 1) * 2 * p];
            let (wx, wy) = w.split_at(p);
            let row0 = boxes[i][0] as usize * p;
            let col0 = boxes[i][1] as usize * p;
            let mut phi = [0f64; 3];
            for (a, &wa) in wx.iter().enumerate() {
                let base = (row0 + a) * m + col0;
                for (bb, &wb) in wy.iter().enumerate() {
                    let wab = wa * wb;
                    for (k, pot) in potentials.iter().enumerate() {
                        phi[k] += wab * f64::from(pot[base + bb]);
                    }
                }
            }
            let q1 = y[2 * i] - grid.mid[0];
            let q2 = y[2 * i + 1] - grid.mid[1];
            force[0] = (q1 * phi[0] - phi[1]) * scale;
            force[1] = (q2 * phi[0] - phi[2]) * scale;
        });
        z
    }
}

/// Σ over the full 2D frequency grid of Re(K̂) |Q̂|², from half spectra (column-major,
/// `n / 2 + 1` columns of `n`): columns 1..n/2 stand for their mirror images too.
fn parseval_quadratic_form(kernel: &[Complex<G>], charge: &[Complex<G>], n: usize) -> f64 {
    let h = n / 2 + 1;
    let columns: Vec<f64> = kernel
        .par_chunks(n)
        .zip(charge.par_chunks(n))
        .enumerate()
        .map(|(c, (kc, qc))| {
            let sum: f64 = kc
                .iter()
                .zip(qc)
                .map(|(k, q)| f64::from(k.re) * f64::from(q.norm_sqr()))
                .sum();
            let mirrored = c > 0 && !(n.is_multiple_of(2) && c == h - 1);
            if mirrored { 2.0 * sum } else { sum }
        })
        .collect();
    columns.iter().sum()
}

/// 2D forward FFT of a full `n × n` real grid (row-major), returned column-major
/// (`n / 2 + 1` columns of `n` values). `grid` is used as scratch.
fn forward_2d(plans: &Plans, grid: &mut [G], n: usize) -> Vec<Complex<G>> {
    let mut row_spec = Vec::new();
    let mut cols = Vec::new();
    forward_2d_padded(plans, grid, n, n, &mut row_spec, &mut cols);
    cols
}

/// 2D forward FFT of an `n × n` real grid whose rows from `rows` on are zero; `grid` holds only
/// the first `rows` rows (each of length `n`) and is used as scratch. The spectrum goes to
/// `cols`, column-major (`n / 2 + 1` columns of `n` values).
fn forward_2d_padded(
    plans: &Plans,
    grid: &mut [G],
    rows: usize,
    n: usize,
    row_spec: &mut Vec<Complex<G>>,
    cols: &mut Vec<Complex<G>>,
) {
    let h = n / 2 + 1;
    zeroed(row_spec, rows * h);
    row_spec
        .par_chunks_mut(h)
        .zip(grid.par_chunks_mut(n))
        .for_each_init(
            || plans.r2c.make_scratch_vec(),
            |scratch, (spec, row)| {
                // Lengths match the plan by construction.
                let _ = plans.r2c.process_with_scratch(row, spec, scratch);
            },
        );
    // Transpose in blocks of BLOCK columns so every read of `row_spec` uses a whole cache line.
    if cols.len() != h * n {
        zeroed(cols, h * n);
    }
    let row_spec: &[Complex<G>] = row_spec;
    cols.par_chunks_mut(BLOCK * n).enumerate().for_each_init(
        || vec![Complex::<G>::new(0.0, 0.0); plans.forward.get_inplace_scratch_len()],
        |scratch, (b, block)| {
            let c0 = b * BLOCK;
            let width = block.len() / n;
            for r in 0..rows {
                let src = &row_spec[r * h + c0..r * h + c0 + width];
                for (k, &v) in src.iter().enumerate() {
                    block[k * n + r] = v;
                }
            }
            for col in block.chunks_exact_mut(n) {
                col[rows..].fill(Complex::new(0.0, 0.0));
            }
            plans.forward.process_with_scratch(block, scratch);
        },
    );
}

/// Inverse 2D FFT of a column-major spectrum (unnormalised), keeping the first `m` rows and
/// columns, into `out` (`m × m` row-major).
fn inverse_2d_truncated(
    plans: &Plans,
    spectrum: &mut [Complex<G>],
    m: usize,
    n: usize,
    out: &mut Vec<G>,
) {
    let h = n / 2 + 1;
    spectrum.par_chunks_mut(BLOCK * n).for_each_init(
        || vec![Complex::<G>::new(0.0, 0.0); plans.inverse.get_inplace_scratch_len()],
        |scratch, block| plans.inverse.process_with_scratch(block, scratch),
    );
    if out.len() != m * m {
        zeroed(out, m * m);
    }
    let spectrum: &[Complex<G>] = spectrum;
    out.par_chunks_mut(BLOCK * m).enumerate().for_each_init(
        || {
            (
                vec![Complex::<G>::new(0.0, 0.0); BLOCK * h],
                vec![0 as G; n],
                plans.c2r.make_scratch_vec(),
            )
        },
        |(row_specs, row_out, scratch), (b, dst)| {
            let r0 = b * BLOCK;
            let rows_here = dst.len() / m;
            for c in 0..h {
                let src = &spectrum[c * n + r0..c * n + r0 + rows_here];
                for (k, &v) in src.iter().enumerate() {
                    row_specs[k * h + c] = v;
                }
            }
            for (k, dst_row) in dst.chunks_exact_mut(m).enumerate() {
                let row_spec = &mut row_specs[k * h..(k + 1) * h];
                // A real signal's spectrum has real DC and Nyquist terms; drop rounding noise.
                row_spec[0].im = 0.0;
                if n.is_multiple_of(2) {
                    row_spec[h - 1].im = 0.0;
                }
                let _ = plans.c2r.process_with_scratch(row_spec, row_out, scratch);
                dst_row.copy_from_slice(&row_out[..m]);
            }
        },
    );
}
