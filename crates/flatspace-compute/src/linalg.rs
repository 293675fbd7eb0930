//! Small dense linear algebra shared by the algorithms, sequential so that results never
//! depend on the number of threads.

use crate::rng::Rng;

/// Symmetric eigendecomposition of a small dense row-major matrix: eigenvalues ascending and
/// eigenvectors as columns (row-major `n × n`). Sequential, so results never depend on threads.
pub(crate) fn dense_symmetric_eigen(n: usize, a: &[f64]) -> Option<(Vec<f64>, Vec<f64>)> {
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::evd;
    let mat = faer::Mat::<f64>::from_fn(n, n, |i, j| a[i * n + j]);
    let mut s = faer::diag::Diag::<f64>::zeros(n);
    let mut u = faer::Mat::<f64>::zeros(n, n);
    let par = faer::Par::Seq;
    let mut buf = MemBuffer::new(evd::self_adjoint_evd_scratch::<f64>(
        n,
        evd::ComputeEigenvectors::Yes,
        par,
        Default::default(),
    ));
    evd::self_adjoint_evd(
        mat.as_ref(),
        s.as_mut(),
        Some(u.as_mut()),
        par,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .ok()?;
    let vals: Vec<f64> = (0..n).map(|i| s[i]).collect();
    let vecs: Vec<f64> = (0..n * n).map(|k| u[(k / n, k % n)]).collect();
    Some((vals, vecs))
}

/// Orthonormalises the columns of `m` (d × l column-major) in place by two rounds of modified
/// Gram–Schmidt; a column that vanishes is replaced by a fresh random direction.
pub(crate) fn orthonormalize(m: &mut [f64], d: usize, l: usize, rng: &mut Rng) {
    for j in 0..l {
        let mut attempts = 0;
        loop {
            let scale_before = norm(&m[j * d..(j + 1) * d]);
            for _round in 0..2 {
                for i in 0..j {
                    let (prev, cur) = m.split_at_mut(j * d);
                    let qi = &prev[i * d..(i + 1) * d];
                    let cj = &mut cur[..d];
                    let proj: f64 = qi.iter().zip(cj.iter()).map(|(a, b)| a * b).sum();
                    for (c, &q) in cj.iter_mut().zip(qi) {
                        *c -= proj * q;
                    }
                }
            }
            let nrm = norm(&m[j * d..(j + 1) * d]);
            if nrm > 1e-10 * scale_before.max(f64::MIN_POSITIVE) && nrm > 0.0 && attempts < 8 {
                for c in &mut m[j * d..(j + 1) * d] {
                    *c /= nrm;
                }
                break;
            }
            if attempts >= 8 {
                // d < l cannot happen (l ≤ d); keep the column finite regardless.
                break;
            }
            attempts += 1;
            for c in &mut m[j * d..(j + 1) * d] {
                *c = rng.normal();
            }
        }
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}
