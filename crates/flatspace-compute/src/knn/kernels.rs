//! Distance kernels with runtime CPU dispatch.
//!
//! One portable body written with independent accumulators (16 for the inner product, 32 for
//! squared L2) serves CPUs without AVX2; with AVX2 and FMA, intrinsics kernels run the same
//! lanes in the same order (see the `x86` module). The version is picked once and reused. The
//! lane-wise summation order is the same in every version, so results only differ by FMA
//! rounding between machines, never between threads or runs.

use std::sync::OnceLock;

const LANES: usize = 16;

/// Accumulators of the squared-L2 body: twice the inner product's, because in the bounded
/// kernel each 128-value block is a chain of dependent multiply-adds per accumulator, and on
/// long rows that chain, not the loads, set the speed (measured on MNIST: 5.96 → 5.68 CPU s
/// for the approximate kNN, median of 4).
const L2_LANES: usize = 2 * LANES;

/// Σ (a − b)²: 32-value chunks into 32 accumulators, then one 16-value chunk into the first 16
/// when at least 16 values remain (so short rows are not left to the scalar tail), then the
/// scalar tail.
#[inline(always)]
fn sq_l2_body<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; L2_LANES];
    let add = |acc: &mut f32, x: f32, y: f32| {
        let d = x - y;
        *acc = if FMA {
            d.mul_add(d, *acc)
        } else {
            *acc + d * d
        };
    };
    let chunks = n / L2_LANES;
    for c in 0..chunks {
        let x = &a[c * L2_LANES..(c + 1) * L2_LANES];
        let y = &b[c * L2_LANES..(c + 1) * L2_LANES];
        for l in 0..L2_LANES {
            add(&mut acc[l], x[l], y[l]);
        }
    }
    let mut done = chunks * L2_LANES;
    if n - done >= LANES {
        for l in 0..LANES {
            add(&mut acc[l], a[done + l], b[done + l]);
        }
        done += LANES;
    }
    let mut tail = 0.0f32;
    for i in done..n {
        let d = a[i] - b[i];
        tail += d * d;
    }
    reduce(&acc) + tail
}

/// Squared L2 that may stop early: once a partial sum over whole 128-dim blocks exceeds
/// `bound` it returns that partial sum (which is still ≥ bound, so callers comparing against
/// `bound` get the right answer). Worth it only for long rows.
#[inline(always)]
fn sq_l2_bounded_body<const FMA: bool>(a: &[f32], b: &[f32], bound: f32) -> f32 {
    const BLOCK: usize = 128;
    let n = a.len().min(b.len());
    let mut total = 0.0f32;
    let mut start = 0;
    while start + BLOCK < n {
        total += sq_l2_body::<FMA>(&a[start..start + BLOCK], &b[start..start + BLOCK]);
        if total > bound {
            return total;
        }
        start += BLOCK;
    }
    total + sq_l2_body::<FMA>(&a[start..n], &b[start..n])
}

/// The early-abandoning sum of the AVX2 bounded kernels (`f32` and half precision), as
/// [`sq_l2_bounded_body`]: `stretch(start, len)` over 128-value blocks, stopping once the
/// partial sum exceeds `bound`. (The portable body keeps its own loop: its closure would not
/// inherit the AVX-512 build's target features.)
#[inline(always)]
fn bounded_blocks(n: usize, bound: f32, stretch: impl Fn(usize, usize) -> f32) -> f32 {
    const BLOCK: usize = 128;
    let mut total = 0.0f32;
    let mut start = 0;
    while start + BLOCK < n {
        total += stretch(start, BLOCK);
        if total > bound {
            return total;
        }
        start += BLOCK;
    }
    total + stretch(start, n - start)
}

/// [`sq_l2_bounded_body`] from `a` to the rows `ids` of the row-major `data` (`dim` columns),
/// one bound a row. The same body per pair, so each value is bit-identical to the single-pair
/// kernel's.
#[inline(always)]
fn sq_l2_bounded_rows_body<const FMA: bool>(
    a: &[f32],
    data: &[f32],
    dim: usize,
    ids: &[u32],
    bounds: &[f32],
    out: &mut [f32],
) {
    for ((&id, &bound), o) in ids.iter().zip(bounds).zip(out.iter_mut()) {
        let start = id as usize * dim;
        *o = sq_l2_bounded_body::<FMA>(a, &data[start..start + dim], bound);
    }
}

#[inline(always)]
fn dot_body<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let chunks = n / LANES;
    for c in 0..chunks {
        let x = &a[c * LANES..(c + 1) * LANES];
        let y = &b[c * LANES..(c + 1) * LANES];
        for l in 0..LANES {
            acc[l] = if FMA {
                x[l].mul_add(y[l], acc[l])
            } else {
                acc[l] + x[l] * y[l]
            };
        }
    }
    let mut tail = 0.0f32;
    for i in chunks * LANES..n {
        tail += a[i] * b[i];
    }
    reduce(&acc) + tail
}

#[inline(always)]
fn reduce<const N: usize>(acc: &[f32; N]) -> f32 {
    // Pairwise, fixed order.
    let mut v = *acc;
    let mut width = N / 2;
    while width > 0 {
        for l in 0..width {
            v[l] += v[l + width];
        }
        width /= 2;
    }
    v[0]
}

fn sq_l2_portable(a: &[f32], b: &[f32]) -> f32 {
    sq_l2_body::<false>(a, b)
}
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    dot_body::<false>(a, b)
}
fn sq_l2_bounded_portable(a: &[f32], b: &[f32], bound: f32) -> f32 {
    sq_l2_bounded_body::<false>(a, b, bound)
}

fn sq_l2_bounded_rows_portable(
    a: &[f32],
    data: &[f32],
    dim: usize,
    ids: &[u32],
    bounds: &[f32],
    out: &mut [f32],
) {
    sq_l2_bounded_rows_body::<false>(a, data, dim, ids, bounds, out)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! AVX2 versions written with intrinsics: LLVM turned the portable body's 16 accumulators
    //! into 128-bit operations with 64-bit loads here (measured: the kernel was half of
    //! NN-descent's time on 784 dimensions). 8-lane registers hold the portable body's lanes
    //! 0–7, 8–15 (and 16–23, 24–31 for squared L2) and are reduced in the same pairwise order,
    //! so the results equal the portable body computed with fused multiply-adds. The
    //! half-precision kernel widens its values (F16C) and then runs the same operations.
    //!
    //! CPUs with AVX-512 run these too. The portable body compiled for AVX-512 came out as
    //! 128-bit operations with scalar loads and stack spills (70,000 × 50 mixture, approximate
    //! kNN: 3.29 CPU s, against 2.22 with these kernels, median of 3); AVX-512 intrinsics
    //! with the same lane order measured no faster than these (2.05 vs 1.91 on the mixture,
    //! 5.51 vs 5.67 on MNIST): 32 accumulators make the same dependency chains either way.
    use std::arch::x86_64::*;

    /// The portable `reduce` order: lanes l and l + 8, then l and l + 4, l and l + 2, l and l + 1.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn reduce16(lo: __m256, hi: __m256) -> f32 {
        let s8 = _mm256_add_ps(lo, hi);
        let s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps::<1>(s8));
        let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
        let s1 = _mm_add_ss(s2, _mm_movehdup_ps(s2));
        _mm_cvtss_f32(s1)
    }

    /// The portable `sq_l2_body::<true>` over `n` values, given the differences of eight
    /// values from an index and the square of one: four registers hold the portable lanes
    /// 0–7, 8–15, 16–23 and 24–31.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn sq_l2_lanes(n: usize, diff: impl Fn(usize) -> __m256, square: impl Fn(usize) -> f32) -> f32 {
        let mut acc = [_mm256_setzero_ps(); 4];
        let chunks = n / 32;
        for c in 0..chunks {
            let d: [__m256; 4] = std::array::from_fn(|r| diff(c * 32 + 8 * r));
            for r in 0..4 {
                acc[r] = _mm256_fmadd_ps(d[r], d[r], acc[r]);
            }
        }
        let mut done = chunks * 32;
        if n - done >= 16 {
            let (d0, d1) = (diff(done), diff(done + 8));
            acc[0] = _mm256_fmadd_ps(d0, d0, acc[0]);
            acc[1] = _mm256_fmadd_ps(d1, d1, acc[1]);
            done += 16;
        }
        let mut tail = 0.0f32;
        for i in done..n {
            tail += square(i);
        }
        // The portable pairwise order: lanes l and l + 16 first.
        reduce16(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3])) + tail
    }

    /// Σ (a − b)² over one stretch, as the portable `sq_l2_body::<true>`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn sq_l2_stretch(a: *const f32, b: *const f32, n: usize) -> f32 {
        // SAFETY: callers pass pointers to at least n readable values.
        unsafe {
            let diff =
                |i: usize| _mm256_sub_ps(_mm256_loadu_ps(a.add(i)), _mm256_loadu_ps(b.add(i)));
            sq_l2_lanes(n, diff, |i| {
                let d = *a.add(i) - *b.add(i);
                d * d
            })
        }
    }

    /// As the portable `sq_l2_bounded_body::<true>`: 128-dimension blocks, early exit.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn sq_l2_bounded_ptr(a: *const f32, b: *const f32, n: usize, bound: f32) -> f32 {
        // SAFETY: callers pass pointers to at least n readable values.
        super::bounded_blocks(n, bound, |start, len| unsafe {
            sq_l2_stretch(a.add(start), b.add(start), len)
        })
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn sq_l2_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        // SAFETY: both slices hold at least n values; AVX2 and FMA are enabled here.
        unsafe { sq_l2_stretch(a.as_ptr(), b.as_ptr(), n) }
    }
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        // SAFETY: as above.
        unsafe {
            let (mut lo, mut hi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            let chunks = n / 16;
            for c in 0..chunks {
                let (x, y) = (pa.add(c * 16), pb.add(c * 16));
                lo = _mm256_fmadd_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(y), lo);
                hi = _mm256_fmadd_ps(_mm256_loadu_ps(x.add(8)), _mm256_loadu_ps(y.add(8)), hi);
            }
            let mut tail = 0.0f32;
            for i in chunks * 16..n {
                tail += *pa.add(i) * *pb.add(i);
            }
            reduce16(lo, hi) + tail
        }
    }
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn sq_l2_bounded_avx2(a: &[f32], b: &[f32], bound: f32) -> f32 {
        let n = a.len().min(b.len());
        // SAFETY: as above.
        unsafe { sq_l2_bounded_ptr(a.as_ptr(), b.as_ptr(), n, bound) }
    }
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn sq_l2_bounded_rows_avx2(
        a: &[f32],
        data: &[f32],
        dim: usize,
        ids: &[u32],
        bounds: &[f32],
        out: &mut [f32],
    ) {
        // SAFETY: `rows_bounded` passes pointers to `n` readable values; AVX2 and FMA are
        // enabled here.
        rows_bounded(a, data, dim, ids, bounds, out, |x, y, n, bound| unsafe {
            sq_l2_bounded_ptr(x, y, n, bound)
        })
    }

    /// The one-to-many loop of the bounded kernels: `pair(a, row, n, bound)` from `a` to each
    /// row `ids[i]` of `data`, into `out[i]`.
    #[inline(always)]
    fn rows_bounded<T>(
        a: &[T],
        data: &[T],
        dim: usize,
        ids: &[u32],
        bounds: &[f32],
        out: &mut [f32],
        pair: impl Fn(*const T, *const T, usize, f32) -> f32,
    ) {
        let n = a.len().min(dim);
        for ((&id, &bound), o) in ids.iter().zip(bounds).zip(out.iter_mut()) {
            let row = &data[id as usize * dim..][..dim];
            *o = pair(a.as_ptr(), row.as_ptr(), n, bound);
        }
    }
    /// One half-precision value (IEEE binary16 bits) as `f32`: exact.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn half_to_f32(h: u16) -> f32 {
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(h))))
    }

    /// Eight half-precision values from `p` as eight `f32` lanes.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn load_half8(p: *const u16) -> __m256 {
        // SAFETY: callers pass a pointer to at least 8 readable values.
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p.cast())) }
    }

    /// [`sq_l2_stretch`] on half-precision rows: the values are widened to `f32` and then go
    /// through the same operations in the same order, so the result has the same bits as the
    /// `f32` kernel on the widened values.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn sq_l2_half_stretch(a: *const u16, b: *const u16, n: usize) -> f32 {
        // SAFETY: callers pass pointers to at least n readable values.
        unsafe {
            let diff = |i: usize| _mm256_sub_ps(load_half8(a.add(i)), load_half8(b.add(i)));
            sq_l2_lanes(n, diff, |i| {
                let d = half_to_f32(*a.add(i)) - half_to_f32(*b.add(i));
                d * d
            })
        }
    }

    /// [`sq_l2_bounded_ptr`] on half-precision rows.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn sq_l2_half_bounded_ptr(a: *const u16, b: *const u16, n: usize, bound: f32) -> f32 {
        // SAFETY: callers pass pointers to at least n readable values.
        super::bounded_blocks(n, bound, |start, len| unsafe {
            sq_l2_half_stretch(a.add(start), b.add(start), len)
        })
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) fn sq_l2_half_bounded_rows(
        a: &[u16],
        data: &[u16],
        dim: usize,
        ids: &[u32],
        bounds: &[f32],
        out: &mut [f32],
    ) {
        // SAFETY: `rows_bounded` passes pointers to `n` readable values; AVX2, FMA and F16C
        // are enabled here.
        rows_bounded(a, data, dim, ids, bounds, out, |x, y, n, bound| unsafe {
            sq_l2_half_bounded_ptr(x, y, n, bound)
        })
    }

    /// Eight values from `src` in half precision at `dst`; whether all survive the round trip.
    ///
    /// # Safety
    /// `src` must hold eight readable values and `dst` eight writable ones.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn to_half8(src: *const f32, dst: *mut u16) -> bool {
        // SAFETY: the caller passes eight readable values and eight writable slots.
        unsafe {
            let x = _mm256_loadu_ps(src);
            let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(x);
            _mm_storeu_si128(dst.cast(), h);
            let back = _mm256_cvtph_ps(h);
            _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(x, back)) == 0xff
        }
    }

    /// Writes `values` in half precision into `out` (same length); false if a value does not
    /// survive the round trip exactly.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) fn to_half_exact(values: &[f32], out: &mut [u16]) -> bool {
        let n = values.len().min(out.len());
        let whole = n / 8 * 8;
        let mut exact = true;
        for (v, o) in values[..whole]
            .chunks_exact(8)
            .zip(out[..whole].chunks_exact_mut(8))
        {
            // SAFETY: each chunk holds exactly eight values.
            exact &= unsafe { to_half8(v.as_ptr(), o.as_mut_ptr()) };
        }
        if !exact {
            return false;
        }
        // The last few values through eight-lane scratch arrays.
        let mut lanes = [0.0f32; 8];
        lanes[..n - whole].copy_from_slice(&values[whole..n]);
        let mut half = [0u16; 8];
        // SAFETY: both scratch arrays hold eight values.
        exact &= unsafe { to_half8(lanes.as_ptr(), half.as_mut_ptr()) };
        out[whole..n].copy_from_slice(&half[..n - whole]);
        exact
    }
}

#[derive(Clone, Copy)]
struct Kernels {
    sq_l2: fn(&[f32], &[f32]) -> f32,
    dot: fn(&[f32], &[f32]) -> f32,
    sq_l2_bounded: fn(&[f32], &[f32], f32) -> f32,
    sq_l2_bounded_rows: RowsKernel,
}

type RowsKernel = fn(&[f32], &[f32], usize, &[u32], &[f32], &mut [f32]);

fn kernels() -> &'static Kernels {
    static CHOSEN: OnceLock<Kernels> = OnceLock::new();
    CHOSEN.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                // SAFETY: the features these functions enable were detected at run time.
                return Kernels {
                    sq_l2: |a, b| unsafe { x86::sq_l2_avx2(a, b) },
                    dot: |a, b| unsafe { x86::dot_avx2(a, b) },
                    sq_l2_bounded: |a, b, c| unsafe { x86::sq_l2_bounded_avx2(a, b, c) },
                    sq_l2_bounded_rows: |a, x, d, i, b, o| unsafe {
                        x86::sq_l2_bounded_rows_avx2(a, x, d, i, b, o)
                    },
                };
            }
        }
        Kernels {
            sq_l2: sq_l2_portable,
            dot: dot_portable,
            sq_l2_bounded: sq_l2_bounded_portable,
            sq_l2_bounded_rows: sq_l2_bounded_rows_portable,
        }
    })
}

/// Squared euclidean distance.
#[inline]
pub fn squared_l2(a: &[f32], b: &[f32]) -> f32 {
    (kernels().sq_l2)(a, b)
}

/// Squared euclidean distance, or some value above `bound` once it is certain to exceed it.
#[inline]
pub fn squared_l2_bounded(a: &[f32], b: &[f32], bound: f32) -> f32 {
    (kernels().sq_l2_bounded)(a, b, bound)
}

/// [`squared_l2_bounded`] from `a` to each row `ids[i]` of the row-major `data` (`dim` columns)
/// with bound `bounds[i]`, into `out[i]`; each value is bit-identical to the single-pair call.
/// One dispatch for many pairs, and `a` stays in registers.
#[inline]
pub fn squared_l2_bounded_rows(
    a: &[f32],
    data: &[f32],
    dim: usize,
    ids: &[u32],
    bounds: &[f32],
    out: &mut [f32],
) {
    (kernels().sq_l2_bounded_rows)(a, data, dim, ids, bounds, out)
}

/// [`squared_l2_bounded_rows`] on rows stored in half precision (IEEE binary16 bits): each
/// value has the bits the `f32` kernel gives on the widened rows.
pub(crate) type HalfRowsKernel = fn(&[u16], &[u16], usize, &[u32], &[f32], &mut [f32]);

fn half_supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HALF: OnceLock<bool> = OnceLock::new();
        *HALF.get_or_init(|| {
            is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// `values` in half precision with the kernel that reads them, if every value survives the
/// round trip exactly and the CPU converts (F16C); else `None`.
#[cfg(test)]
pub(crate) fn to_half_exact(values: &[f32]) -> Option<(Vec<u16>, HalfRowsKernel)> {
    const ROW: usize = 1 << 12;
    let n_rows = values.len().div_ceil(ROW);
    // One padded "row" of ROW values at a time; the padding is cut off again below.
    let (mut half, kernel) = rows_to_half_exact(n_rows, ROW, |r, buf| {
        let src = &values[r * ROW..((r + 1) * ROW).min(values.len())];
        buf[..src.len()].copy_from_slice(src);
        buf[src.len()..].fill(0.0);
    })?;
    half.truncate(values.len());
    Some((half, kernel))
}

/// `n_rows` rows of `dim` values, row `r` written into a scratch row by `fill(r, row)`, stored
/// straight in half precision (no `f32` copy of the whole matrix) with the kernel that reads
/// them, if every value survives the round trip exactly and the CPU converts (F16C); else
/// `None`.
pub(crate) fn rows_to_half_exact(
    n_rows: usize,
    dim: usize,
    fill: impl Fn(usize, &mut [f32]) + Sync,
) -> Option<(Vec<u16>, HalfRowsKernel)> {
    if !half_supported() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        use rayon::prelude::*;
        let mut out = vec![0u16; n_rows * dim];
        let rows_per_task = (1usize << 16).div_ceil(dim.max(1));
        let exact = out
            .par_chunks_mut((rows_per_task * dim).max(1))
            .enumerate()
            .all(|(t, chunk)| {
                let mut row = vec![0.0f32; dim];
                chunk.chunks_mut(dim.max(1)).enumerate().all(|(r, o)| {
                    fill(t * rows_per_task + r, &mut row);
                    // SAFETY: the features were detected at run time.
                    unsafe { x86::to_half_exact(&row, o) }
                })
            });
        let kernel: HalfRowsKernel = |a, x, d, i, b, o| {
            // SAFETY: this kernel is only handed out after the features were detected.
            unsafe { x86::sq_l2_half_bounded_rows(a, x, d, i, b, o) }
        };
        exact.then_some((out, kernel))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (n_rows, dim, fill);
        None
    }
}

/// Hints the CPU to start loading the cache lines of `values` (at most the first `max_lines`
/// 64-byte lines).
#[inline]
pub(crate) fn prefetch<T>(values: &[T], max_lines: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let bytes = std::mem::size_of_val(values);
        let base = values.as_ptr() as *const i8;
        for l in 0..bytes.div_ceil(64).min(max_lines) {
            // SAFETY: prefetching is only a hint; the address lies inside `values`.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    base.add(l * 64),
                );
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (values, max_lines);
}

/// Inner product.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    (kernels().dot)(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn dispatched_kernels_match_f64_reference() {
        let mut rng = Rng::new(3);
        for len in [0usize, 1, 7, 16, 33, 50, 784] {
            let a: Vec<f32> = (0..len).map(|_| rng.normal() as f32).collect();
            let b: Vec<f32> = (0..len).map(|_| rng.normal() as f32).collect();
            let l2: f64 = a
                .iter()
                .zip(&b)
                .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
                .sum();
            let ip: f64 = a.iter().zip(&b).map(|(&x, &y)| x as f64 * y as f64).sum();
            assert!((squared_l2(&a, &b) as f64 - l2).abs() <= 1e-4 * (1.0 + l2));
            assert!((dot(&a, &b) as f64 - ip).abs() <= 1e-4 * (1.0 + ip.abs() + len as f64));
            let exact = squared_l2(&a, &b);
            let bounded = squared_l2_bounded(&a, &b, exact * 0.5);
            assert!(bounded >= exact * 0.5);
            let full = squared_l2_bounded(&a, &b, f32::INFINITY);
            assert!((full - exact).abs() <= 1e-4 * (1.0 + exact));
            // Symmetric bit for bit: NN-descent relies on d(a, b) == d(b, a).
            assert_eq!(squared_l2(&a, &b), squared_l2(&b, &a));
            // The many-rows kernel gives the single-pair kernel's bits.
            let data: Vec<f32> = b.iter().chain(&a).copied().collect();
            let mut out = [0.0f32; 3];
            squared_l2_bounded_rows(
                &a,
                &data,
                len,
                &[0, 1, 0],
                &[f32::INFINITY, f32::INFINITY, exact * 0.5],
                &mut out,
            );
            assert_eq!(
                out[0].to_bits(),
                squared_l2_bounded(&a, &b, f32::INFINITY).to_bits()
            );
            assert_eq!(out[1], 0.0);
            assert_eq!(out[2].to_bits(), bounded.to_bits());
        }
    }

    /// Rows whose values half precision holds exactly (8-bit pixels over 256 here) give the
    /// `f32` kernel's bits from their half-precision copies; one value that half precision
    /// cannot hold turns the conversion down.
    #[test]
    fn half_precision_rows_give_the_f32_bits() {
        let mut rng = Rng::new(5);
        for dim in [1usize, 15, 16, 130, 300, 784] {
            let n = 6;
            let data: Vec<f32> = (0..n * dim)
                .map(|_| rng.below(256) as f32 / 256.0)
                .collect();
            let Some((half, kernel)) = to_half_exact(&data) else {
                // No F16C on this CPU: the caller keeps the f32 rows.
                assert!(!half_supported());
                return;
            };
            let ids: Vec<u32> = (0..n as u32).collect();
            let a = &data[2 * dim..3 * dim];
            let full = squared_l2_bounded(a, &data[4 * dim..5 * dim], f32::INFINITY);
            for bounds in [vec![f32::INFINITY; n], vec![full * 0.3; n]] {
                let mut want = vec![0.0f32; n];
                squared_l2_bounded_rows(a, &data, dim, &ids, &bounds, &mut want);
                let mut got = vec![0.0f32; n];
                kernel(&half[2 * dim..3 * dim], &half, dim, &ids, &bounds, &mut got);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "dim {dim}");
                assert!(want.iter().any(|&v| v > 0.0));
            }
            let mut inexact = data.clone();
            inexact[n * dim / 2] = 0.1;
            assert!(to_half_exact(&inexact).is_none());
        }
    }
}
