//! Spectral initialisation: the eigenvectors of the normalised graph Laplacian
//! `L = I − D^{-1/2} W D^{-1/2}` with the smallest non-trivial eigenvalues, as umap-learn's
//! `spectral_layout`. We compute the largest eigenvectors of `I + D^{-1/2} W D^{-1/2}` (same
//! eigenvectors, spectrum shifted into `[0, 2]` so the wanted end is the largest) with a
//! thick-restart Lanczos iteration, deflating the known trivial eigenvector `D^{1/2}·1`. Small
//! components use a dense eigensolver. Disconnected graphs are laid out per component around
//! well-separated anchor points, as the reference's `multi_component_layout` does.
//!
//! Every reduction runs over fixed chunks in a fixed order, so the result does not depend on
//! the number of threads.

use rayon::prelude::*;

use super::sparse::CsrGraph;
use crate::rng::Rng;

const CHUNK: usize = 4096;
/// Components up to this size use the dense eigensolver.
const DENSE_MAX: usize = 400;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    if a.len() <= CHUNK {
        return a.iter().zip(b).map(|(x, y)| x * y).sum();
    }
    let partial: Vec<f64> = a
        .par_chunks(CHUNK)
        .zip(b.par_chunks(CHUNK))
        .map(|(x, y)| x.iter().zip(y).map(|(p, q)| p * q).sum())
        .collect();
    partial.iter().sum()
}

fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    y.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(yc, xc)| {
            for (yv, xv) in yc.iter_mut().zip(xc) {
                *yv += alpha * xv;
            }
        });
}

fn scale(alpha: f64, x: &mut [f64]) {
    x.par_chunks_mut(CHUNK)
        .for_each(|c| c.iter_mut().for_each(|v| *v *= alpha));
}

/// `y = (I + D^{-1/2} W D^{-1/2}) x` on a connected graph (all degrees positive).
struct ShiftedNormalizedAdjacency<'a> {
    graph: &'a CsrGraph,
    inv_sqrt_degree: Vec<f64>,
}

impl ShiftedNormalizedAdjacency<'_> {
    fn apply(&self, x: &[f64], y: &mut [f64]) {
        let g = self.graph;
        let d = &self.inv_sqrt_degree;
        y.par_chunks_mut(CHUNK).enumerate().for_each(|(c, out)| {
            for (r, o) in out.iter_mut().enumerate() {
                let i = c * CHUNK + r;
                let (cols, vals) = g.row(i);
                let s: f64 = cols
                    .iter()
                    .zip(vals)
                    .map(|(&j, &w)| f64::from(w) * d[j as usize] * x[j as usize])
                    .sum();
                *o = x[i] + d[i] * s;
            }
        });
    }
}

fn random_unit_orthogonal(n: usize, rng: &mut Rng, against: &[&[f64]]) -> Option<Vec<f64>> {
    for _ in 0..4 {
        let mut v: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        for _ in 0..2 {
            for b in against {
                let c = dot(b, &v);
                axpy(-c, b, &mut v);
            }
        }
        let norm = dot(&v, &v).sqrt();
        if norm > 1e-8 {
            scale(1.0 / norm, &mut v);
            return Some(v);
        }
    }
    None
}

/// Symmetric eigendecomposition of a small dense row-major matrix: eigenvalues ascending and
/// eigenvectors as columns (row-major `n × n`). Sequential, so results never depend on threads.
fn dense_symmetric_eigen(n: usize, a: &[f64]) -> Option<(Vec<f64>, Vec<f64>)> {
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

/// The `nev` largest eigenpairs of `op` restricted to the complement of the unit vector `u0`,
/// eigenvalues descending. Stops at relative residual `tol` or after `max_matvecs` products
/// (then returns the current Ritz approximation, which is enough for an initialisation).
fn thick_restart_lanczos(
    op: &ShiftedNormalizedAdjacency<'_>,
    u0: &[f64],
    nev: usize,
    seed: u64,
    tol: f64,
    max_matvecs: usize,
) -> Option<(Vec<f64>, Vec<Vec<f64>>)> {
    let n = u0.len();
    let m = (2 * nev + 1).max(20).min(n - 1);
    if nev == 0 || nev >= m {
        return None;
    }
    let keep = (nev + (m - nev) / 2).min(m - 1);
    let mut rng = Rng::derive(seed, 0x5EC7);
    let mut basis: Vec<Vec<f64>> = vec![random_unit_orthogonal(n, &mut rng, &[u0])?];
    let mut h = vec![0.0f64; m * m];
    let mut matvecs = 0usize;
    let mut w = vec![0.0f64; n];
    loop {
        // Extend the basis to m vectors; `h` gets the upper triangle of Vᵀ A V.
        let residual_norm;
        let mut j = basis.len() - 1;
        loop {
            op.apply(&basis[j], &mut w);
            matvecs += 1;
            for pass in 0..2 {
                let c0 = dot(u0, &w);
                axpy(-c0, u0, &mut w);
                let coeffs: Vec<f64> = basis.iter().map(|b| dot(b, &w)).collect();
                for (i, (&c, b)) in coeffs.iter().zip(&basis).enumerate() {
                    axpy(-c, b, &mut w);
                    if pass == 0 {
                        h[i * m + j] = c;
                    } else {
                        h[i * m + j] += c;
                    }
                }
            }
            let beta = dot(&w, &w).sqrt();
            if j + 1 == m {
                residual_norm = beta;
                break;
            }
            let next = if beta > 1e-10 {
                let mut v = w.clone();
                scale(1.0 / beta, &mut v);
                v
            } else {
                // Invariant subspace found: continue with a fresh orthogonal direction.
                let refs: Vec<&[f64]> = std::iter::once(u0)
                    .chain(basis.iter().map(|b| b.as_slice()))
                    .collect();
                random_unit_orthogonal(n, &mut rng, &refs)?
            };
            basis.push(next);
            j += 1;
        }
        // Rayleigh–Ritz on the projected matrix.
        let mut hs = vec![0.0f64; m * m];
        for i in 0..m {
            for l in i..m {
                hs[i * m + l] = h[i * m + l];
                hs[l * m + i] = h[i * m + l];
            }
        }
        let (theta, y) = dense_symmetric_eigen(m, &hs)?;
        let order: Vec<usize> = (0..m).rev().collect(); // descending eigenvalues
        let converged = order[..nev]
            .iter()
            .all(|&c| (residual_norm * y[(m - 1) * m + c]).abs() <= tol * theta[c].abs().max(1e-3));
        let done = converged || matvecs >= max_matvecs;
        let n_new = if done { nev } else { keep };
        let ritz: Vec<Vec<f64>> = order[..n_new]
            .iter()
            .map(|&c| {
                let mut v = vec![0.0f64; n];
                v.par_chunks_mut(CHUNK).enumerate().for_each(|(ci, out)| {
                    for (r, o) in out.iter_mut().enumerate() {
                        let row = ci * CHUNK + r;
                        *o = (0..m).map(|l| basis[l][row] * y[l * m + c]).sum();
                    }
                });
                v
            })
            .collect();
        if done {
            let vals = order[..nev].iter().map(|&c| theta[c]).collect();
            return Some((vals, ritz));
        }
        h.iter_mut().for_each(|v| *v = 0.0);
        for (i, &c) in order[..keep].iter().enumerate() {
            h[i * m + i] = theta[c];
        }
        // The couplings residual_norm·y[m−1, c] between the kept Ritz vectors and the next
        // basis vector come back exactly from Gram–Schmidt on the next step.
        basis = ritz;
        let next = if residual_norm > 1e-10 {
            let mut v = w.clone();
            scale(1.0 / residual_norm, &mut v);
            v
        } else {
            let refs: Vec<&[f64]> = std::iter::once(u0)
                .chain(basis.iter().map(|b| b.as_slice()))
                .collect();
            random_unit_orthogonal(n, &mut rng, &refs)?
        };
        basis.push(next);
    }
}

/// Spectral coordinates (`n × dim`, row-major) of one connected graph, or `None` when the
/// graph is too small for `dim` non-trivial eigenvectors or the eigensolver failed.
fn connected_spectral(graph: &CsrGraph, dim: usize, seed: u64) -> Option<Vec<f64>> {
    let n = graph.n_rows;
    if n < dim + 2 {
        return None;
    }
    let degrees = graph.degrees();
    if degrees.iter().any(|&d| d <= 0.0) {
        return None;
    }
    let inv_sqrt_degree: Vec<f64> = degrees.iter().map(|d| 1.0 / d.sqrt()).collect();
    let vectors: Vec<Vec<f64>> = if n <= DENSE_MAX {
        let mut a = vec![0.0f64; n * n];
        for i in 0..n {
            a[i * n + i] = 1.0;
            let (cols, vals) = graph.row(i);
            for (&j, &w) in cols.iter().zip(vals) {
                a[i * n + j as usize] +=
                    f64::from(w) * inv_sqrt_degree[i] * inv_sqrt_degree[j as usize];
            }
        }
        // Symmetrise against rounding so the dense solver sees an exactly symmetric matrix.
        for i in 0..n {
            for j in i + 1..n {
                let v = 0.5 * (a[i * n + j] + a[j * n + i]);
                a[i * n + j] = v;
                a[j * n + i] = v;
            }
        }
        let (_vals, vecs) = dense_symmetric_eigen(n, &a)?;
        // Skip the largest (trivial) eigenvector; take the next `dim`.
        (0..dim)
            .map(|k| {
                let c = n - 2 - k;
                (0..n).map(|r| vecs[r * n + c]).collect()
            })
            .collect()
    } else {
        let total: f64 = degrees.iter().sum();
        let u0: Vec<f64> = degrees.iter().map(|d| (d / total).sqrt()).collect();
        let op = ShiftedNormalizedAdjacency {
            graph,
            inv_sqrt_degree,
        };
        let max_matvecs = if n > 200_000 { 400 } else { 1000 };
        thick_restart_lanczos(&op, &u0, dim, seed, 1e-4, max_matvecs)?.1
    };
    let mut out = vec![0.0f64; n * dim];
    for (k, v) in vectors.iter().enumerate() {
        for r in 0..n {
            out[r * dim + k] = v[r];
        }
    }
    out.iter().all(|v| v.is_finite()).then_some(out)
}

/// Places the components of a disconnected graph: `(labels, n_components)` to one row of
/// coordinates per component.
pub type ComponentAnchors<'a> = dyn Fn(&[u32], usize) -> Option<Vec<f64>> + 'a;

/// Spectral layout of the whole graph (`n × dim`, row-major). `centroid_layout`, when given,
/// places the components of a disconnected graph (one row of `dim` coordinates per
/// component, e.g. PCA of the component centroids); otherwise anchors are the reference's
/// `±e_i` points, or seeded random points when there are more than `2·dim` components.
/// Returns `None` for a connected graph whose eigensolve failed (callers fall back to random).
pub fn spectral_layout(
    graph: &CsrGraph,
    dim: usize,
    seed: u64,
    centroid_layout: Option<&ComponentAnchors<'_>>,
) -> Option<Vec<f64>> {
    let n = graph.n_rows;
    let (labels, n_comp) = graph.connected_components();
    if n_comp <= 1 {
        return connected_spectral(graph, dim, seed);
    }
    let mut rng = Rng::derive(seed, 0xC0_4E17);
    let anchors: Vec<f64> = if n_comp <= 2 * dim {
        let half = n_comp.div_ceil(2);
        (0..n_comp)
            .flat_map(|c| {
                let sign = if c < half { 1.0 } else { -1.0 };
                let axis = c % half;
                (0..dim).map(move |d| if d == axis { sign } else { 0.0 })
            })
            .collect()
    } else {
        let from_data = centroid_layout.and_then(|f| f(&labels, n_comp));
        match from_data {
            Some(layout) => {
                let max_abs = layout.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                if max_abs > 0.0 {
                    layout.iter().map(|v| v / max_abs).collect()
                } else {
                    (0..n_comp * dim)
                        .map(|_| rng.next_f64() * 2.0 - 1.0)
                        .collect()
                }
            }
            None => (0..n_comp * dim)
                .map(|_| rng.next_f64() * 2.0 - 1.0)
                .collect(),
        }
    };
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_comp];
    for (i, &l) in labels.iter().enumerate() {
        members[l as usize].push(i);
    }
    let mut out = vec![0.0f64; n * dim];
    let mut position = vec![u32::MAX; n];
    for (c, rows) in members.iter().enumerate() {
        let anchor = &anchors[c * dim..(c + 1) * dim];
        // Half the distance to the nearest other anchor keeps components apart.
        let mut nearest = f64::INFINITY;
        for o in 0..n_comp {
            if o != c {
                let d: f64 = anchors[o * dim..(o + 1) * dim]
                    .iter()
                    .zip(anchor)
                    .map(|(p, q)| (p - q) * (p - q))
                    .sum::<f64>()
                    .sqrt();
                if d > 0.0 {
                    nearest = nearest.min(d);
                }
            }
        }
        let data_range = if nearest.is_finite() {
            nearest / 2.0
        } else {
            1.0
        };
        let local = if rows.len() >= 2 * dim && rows.len() > dim + 1 {
            for (k, &r) in rows.iter().enumerate() {
                position[r] = k as u32;
            }
            let sub = graph.induced(rows, &position);
            for &r in rows {
                position[r] = u32::MAX;
            }
            connected_spectral(&sub, dim, seed.wrapping_add(c as u64))
        } else {
            None
        };
        match local {
            Some(coords) => {
                let max_abs = coords.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                let expansion = if max_abs > 0.0 {
                    data_range / max_abs
                } else {
                    0.0
                };
                for (k, &r) in rows.iter().enumerate() {
                    for d in 0..dim {
                        out[r * dim + d] = coords[k * dim + d] * expansion + anchor[d];
                    }
                }
            }
            None => {
                for &r in rows {
                    for d in 0..dim {
                        out[r * dim + d] = (rng.next_f64() * 2.0 - 1.0) * data_range + anchor[d];
                    }
                }
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(n: usize) -> CsrGraph {
        let blocks = vec![
            (0..n)
                .map(|i| {
                    let mut r = vec![
                        (((i + n - 1) % n) as u32, 1.0f32),
                        (((i + 1) % n) as u32, 1.0),
                    ];
                    r.sort_unstable_by_key(|e| e.0);
                    (i, r)
                })
                .collect(),
        ];
        CsrGraph::from_row_blocks(n, blocks)
    }

    /// A path graph with weights `1 + jitter·(pseudo-random)`: no repeated eigenvalues.
    fn path(n: usize, jitter: f32) -> CsrGraph {
        let w = |i: usize| 1.0 + jitter * (((i * 7919) % 97) as f32 / 97.0);
        let rows = (0..n)
            .map(|i| {
                let mut r = Vec::new();
                if i > 0 {
                    r.push(((i - 1) as u32, w(i - 1)));
                }
                if i + 1 < n {
                    r.push(((i + 1) as u32, w(i)));
                }
                (i, r)
            })
            .collect();
        CsrGraph::from_row_blocks(n, vec![rows])
    }

    fn operator(g: &CsrGraph) -> (ShiftedNormalizedAdjacency<'_>, Vec<f64>) {
        let degrees = g.degrees();
        let total: f64 = degrees.iter().sum();
        let u0 = degrees.iter().map(|d| (d / total).sqrt()).collect();
        let op = ShiftedNormalizedAdjacency {
            graph: g,
            inv_sqrt_degree: degrees.iter().map(|d| 1.0 / d.sqrt()).collect(),
        };
        (op, u0)
    }

    #[test]
    fn lanczos_finds_path_eigenvalues() {
        // Normalised Laplacian of the path P_n: eigenvalues 1 − cos(πk/(n−1)), so the largest
        // non-trivial ones of I + D^{-1/2} W D^{-1/2} are 1 + cos(πk/(n−1)), k = 1, 2.
        let n = 200;
        let g = path(n, 0.0);
        let (op, u0) = operator(&g);
        let (vals, vecs) = thick_restart_lanczos(&op, &u0, 2, 1, 1e-9, 50_000).expect("lanczos");
        for (k, v) in vals.iter().enumerate() {
            let expected = 1.0 + (std::f64::consts::PI * (k + 1) as f64 / (n - 1) as f64).cos();
            assert!(
                (v - expected).abs() < 1e-7,
                "k = {}: {v} vs {expected}",
                k + 1
            );
        }
        assert!(dot(&vecs[0], &vecs[1]).abs() < 1e-6);
        assert!((dot(&vecs[0], &vecs[0]) - 1.0).abs() < 1e-6);
        assert!(dot(&vecs[0], &u0).abs() < 1e-6);
    }

    #[test]
    fn lanczos_agrees_with_the_dense_solver() {
        let n = 300;
        let g = path(n, 0.8);
        let dense = connected_spectral(&g, 2, 3).expect("dense layout");
        let (op, u0) = operator(&g);
        let (_, vecs) = thick_restart_lanczos(&op, &u0, 2, 5, 1e-10, 50_000).expect("lanczos");
        for (k, v) in vecs.iter().enumerate() {
            let column: Vec<f64> = (0..n).map(|r| dense[r * 2 + k]).collect();
            let cos = dot(&column, v) / dot(&column, &column).sqrt();
            assert!(
                cos.abs() > 1.0 - 1e-6,
                "eigenvector {k}: |cos| = {}",
                cos.abs()
            );
        }
    }

    #[test]
    fn disconnected_graph_places_components_apart() {
        // Two rings: each lands around its own anchor.
        let a = ring(50);
        let mut blocks = Vec::new();
        let mut rows = Vec::new();
        for i in 0..100 {
            let base = if i < 50 { 0 } else { 50 };
            let (c, v) = a.row(i % 50);
            rows.push((
                i,
                c.iter().map(|&j| j + base).zip(v.iter().copied()).collect(),
            ));
        }
        blocks.push(rows);
        let g = CsrGraph::from_row_blocks(100, blocks);
        let coords = spectral_layout(&g, 2, 7, None).expect("layout");
        let centre = |range: std::ops::Range<usize>| {
            let mut c = [0.0f64; 2];
            for r in range {
                c[0] += coords[r * 2] / 50.0;
                c[1] += coords[r * 2 + 1] / 50.0;
            }
            c
        };
        let (c0, c1) = (centre(0..50), centre(50..100));
        let gap = ((c0[0] - c1[0]).powi(2) + (c0[1] - c1[1]).powi(2)).sqrt();
        assert!(gap > 1.5, "anchors ±e_1 are 2 apart, got {gap}");
    }
}
