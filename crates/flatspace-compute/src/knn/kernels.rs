//! Distance kernels with runtime CPU dispatch.
//!
//! One portable body written with 16 independent accumulators (so LLVM vectorises it to full
//! registers) is compiled three times: for the baseline target, for AVX2+FMA and for AVX-512.
//! The widest version the CPU supports is picked once and reused. The lane-wise summation order
//! is the same in every version, so results only differ by FMA rounding between machines, never
//! between threads or runs.

use std::sync::OnceLock;

const LANES: usize = 16;

#[inline(always)]
fn sq_l2_body<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let chunks = n / LANES;
    for c in 0..chunks {
        let x = &a[c * LANES..(c + 1) * LANES];
        let y = &b[c * LANES..(c + 1) * LANES];
        for l in 0..LANES {
            let d = x[l] - y[l];
            acc[l] = if FMA {
                d.mul_add(d, acc[l])
            } else {
                acc[l] + d * d
            };
        }
    }
    let mut tail = 0.0f32;
    for i in chunks * LANES..n {
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
fn reduce(acc: &[f32; LANES]) -> f32 {
    // Pairwise, fixed order.
    let mut v = *acc;
    let mut width = LANES / 2;
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

#[cfg(target_arch = "x86_64")]
mod x86 {
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn sq_l2_avx2(a: &[f32], b: &[f32]) -> f32 {
        super::sq_l2_body::<true>(a, b)
    }
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        super::dot_body::<true>(a, b)
    }
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn sq_l2_bounded_avx2(a: &[f32], b: &[f32], bound: f32) -> f32 {
        super::sq_l2_bounded_body::<true>(a, b, bound)
    }
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn sq_l2_bounded_avx512(a: &[f32], b: &[f32], bound: f32) -> f32 {
        super::sq_l2_bounded_body::<true>(a, b, bound)
    }
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn sq_l2_avx512(a: &[f32], b: &[f32]) -> f32 {
        super::sq_l2_body::<true>(a, b)
    }
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
        super::dot_body::<true>(a, b)
    }
}

#[derive(Clone, Copy)]
struct Kernels {
    sq_l2: fn(&[f32], &[f32]) -> f32,
    dot: fn(&[f32], &[f32]) -> f32,
    sq_l2_bounded: fn(&[f32], &[f32], f32) -> f32,
}

fn kernels() -> &'static Kernels {
    static CHOSEN: OnceLock<Kernels> = OnceLock::new();
    CHOSEN.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
            {
                // SAFETY: the features these functions enable were detected at run time.
                return Kernels {
                    sq_l2: |a, b| unsafe { x86::sq_l2_avx512(a, b) },
                    dot: |a, b| unsafe { x86::dot_avx512(a, b) },
                    sq_l2_bounded: |a, b, c| unsafe { x86::sq_l2_bounded_avx512(a, b, c) },
                };
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                // SAFETY: as above.
                return Kernels {
                    sq_l2: |a, b| unsafe { x86::sq_l2_avx2(a, b) },
                    dot: |a, b| unsafe { x86::dot_avx2(a, b) },
                    sq_l2_bounded: |a, b, c| unsafe { x86::sq_l2_bounded_avx2(a, b, c) },
                };
            }
        }
        Kernels {
            sq_l2: sq_l2_portable,
            dot: dot_portable,
            sq_l2_bounded: sq_l2_bounded_portable,
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
        }
    }
}
