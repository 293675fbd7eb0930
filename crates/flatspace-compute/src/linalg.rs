//! Small dense linear algebra shared by the algorithms, sequential so that results never
//! depend on the number of threads.

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
