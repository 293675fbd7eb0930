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
use crate::linalg::dense_symmetric_eigen;
use crate::rng::Rng;

const CHUNK: usize = 4096;
/// Components up to this size use the dense eigensolver.
const DENSE_MAX: usize = 400;

fn scale(alpha: f64, x: &mut [f64]) {
    x.par_chunks_mut(CHUNK)
        .for_each(|c| c.iter_mut().for_each(|v| *v *= alpha));
}

/// `y = (I + D^{-1/2} W D^{-1/2}) x` on a connected graph (all degrees positive), with the
/// weights `w_ij / sqrt(d_i d_j)` computed once: one gather per stored edge in each product.
struct ShiftedNormalizedAdjacency<'a> {
    graph: &'a CsrGraph,
    scaled: Vec<f64>,
}

impl<'a> ShiftedNormalizedAdjacency<'a> {
    fn new(graph: &'a CsrGraph, inv_sqrt_degree: &[f64]) -> Self {
        let mut scaled = vec![0.0f64; graph.vals.len()];
        scaled
            .par_chunks_mut(CHUNK)
            .zip(
                graph
                    .cols
                    .par_chunks(CHUNK)
                    .zip(graph.vals.par_chunks(CHUNK)),
            )
            .for_each(|(out, (cols, vals))| {
                for ((o, &j), &w) in out.iter_mut().zip(cols).zip(vals) {
                    *o = f64::from(w) * inv_sqrt_degree[j as usize];
                }
            });
        // Row scaling by d_i^{-1/2}.
        for (i, &di) in inv_sqrt_degree.iter().enumerate() {
            for v in &mut scaled[graph.row_ptr[i]..graph.row_ptr[i + 1]] {
                *v *= di;
            }
        }
        Self { graph, scaled }
    }

    /// Entry `i` of the product with `x`.
    #[inline]
    fn apply_row(&self, i: usize, x: &[f64]) -> f64 {
        let range = self.graph.row_ptr[i]..self.graph.row_ptr[i + 1];
        let s: f64 = self.graph.cols[range.clone()]
            .iter()
            .zip(&self.scaled[range])
            .map(|(&j, &w)| w * x[j as usize])
            .sum();
        x[i] + s
    }
}

/// Sums per-chunk partial vectors in chunk order, so the result does not depend on threads.
fn sum_in_order(partials: &[Vec<f64>], len: usize) -> Vec<f64> {
    let mut total = vec![0.0f64; len];
    for p in partials {
        for (t, v) in total.iter_mut().zip(p) {
            *t += v;
        }
    }
    total
}

/// The Lanczos basis, stored row-major (`n × cap`): row `i` holds entry `i` of every basis
/// vector, so one sweep over the rows computes all Gram–Schmidt coefficients at once instead
/// of one pass over memory per vector. The sweeps are fused further: the product `A·v`, the
/// storing of `v` and the first coefficients share one sweep, and each subtraction computes
/// the next pass's coefficients as it goes (on MNIST's graph: three sweeps a step instead of
/// one per vector and pass).
struct Basis {
    cap: usize,
    len: usize,
    data: Vec<f64>,
}

impl Basis {
    fn new(n: usize, cap: usize) -> Self {
        Self {
            cap,
            len: 0,
            data: vec![0.0; n * cap],
        }
    }

    fn column(&self, j: usize) -> Vec<f64> {
        self.data.chunks(self.cap).map(|row| row[j]).collect()
    }

    /// Stores `v` as the next basis vector, sets `w = A·v` and returns `[u0·w, V·w]` (the new
    /// vector included), in one sweep over the rows.
    fn extend_and_apply(
        &mut self,
        op: &ShiftedNormalizedAdjacency<'_>,
        u0: &[f64],
        v: &[f64],
        w: &mut [f64],
    ) -> Vec<f64> {
        let (cap, j) = (self.cap, self.len);
        let len = j + 1;
        let partials: Vec<Vec<f64>> = self
            .data
            .par_chunks_mut(cap * CHUNK)
            .zip(w.par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(c, (rows, wc))| {
                let mut acc = vec![0.0f64; len + 1];
                for (r, (row, wv)) in rows.chunks_mut(cap).zip(wc.iter_mut()).enumerate() {
                    let i = c * CHUNK + r;
                    row[j] = v[i];
                    *wv = op.apply_row(i, v);
                    acc[0] += u0[i] * *wv;
                    for (a, &b) in acc[1..].iter_mut().zip(&row[..len]) {
                        *a += b * *wv;
                    }
                }
                acc
            })
            .collect();
        self.len = len;
        sum_in_order(&partials, len + 1)
    }

    /// `[u0·w, V·w]`.
    fn coefficients(&self, u0: &[f64], w: &[f64]) -> Vec<f64> {
        let (cap, len) = (self.cap, self.len);
        let partials: Vec<Vec<f64>> = self
            .data
            .par_chunks(cap * CHUNK)
            .zip(w.par_chunks(CHUNK).zip(u0.par_chunks(CHUNK)))
            .map(|(rows, (wc, uc))| {
                let mut acc = vec![0.0f64; len + 1];
                for ((row, &wv), &uv) in rows.chunks(cap).zip(wc).zip(uc) {
                    acc[0] += uv * wv;
                    for (a, &b) in acc[1..].iter_mut().zip(&row[..len]) {
                        *a += b * wv;
                    }
                }
                acc
            })
            .collect();
        sum_in_order(&partials, len + 1)
    }

    /// `w −= c[0]·u0 + Σ_l c[l+1]·v_l`; returns the updated `w`'s `[u0·w, V·w]` (when
    /// `project`, else empty) and ‖w‖².
    fn subtract(&self, u0: &[f64], c: &[f64], w: &mut [f64], project: bool) -> (Vec<f64>, f64) {
        let (cap, len) = (self.cap, self.len);
        let width = if project { len + 1 } else { 0 };
        let partials: Vec<(Vec<f64>, f64)> = self
            .data
            .par_chunks(cap * CHUNK)
            .zip(w.par_chunks_mut(CHUNK).zip(u0.par_chunks(CHUNK)))
            .map(|(rows, (wc, uc))| {
                let mut acc = vec![0.0f64; width];
                let mut sq = 0.0f64;
                for ((row, wv), &uv) in rows.chunks(cap).zip(wc.iter_mut()).zip(uc) {
                    let s = row[..len]
                        .iter()
                        .zip(&c[1..])
                        .fold(c[0] * uv, |s, (b, cl)| s + b * cl);
                    *wv -= s;
                    sq += *wv * *wv;
                    if project {
                        acc[0] += uv * *wv;
                        for (a, &b) in acc[1..].iter_mut().zip(&row[..len]) {
                            *a += b * *wv;
                        }
                    }
                }
                (acc, sq)
            })
            .collect();
        let sq = partials.iter().map(|p| p.1).sum();
        let acc: Vec<Vec<f64>> = partials.into_iter().map(|p| p.0).collect();
        (sum_in_order(&acc, width), sq)
    }

    /// Orthogonalises `w` against `u0` and the basis by classical Gram–Schmidt done twice
    /// (which keeps the basis orthogonal to working precision), given `w`'s first coefficients
    /// `c1`; returns the basis vectors' coefficients (both passes added) and ‖w‖ afterwards.
    fn orthogonalize(&self, u0: &[f64], c1: &[f64], w: &mut [f64]) -> (Vec<f64>, f64) {
        let (c2, _) = self.subtract(u0, c1, w, true);
        let (_, sq) = self.subtract(u0, &c2, w, false);
        let total = c1[1..].iter().zip(&c2[1..]).map(|(a, b)| a + b).collect();
        (total, sq.sqrt())
    }

    /// A seeded random unit vector orthogonal to `u0` and the basis.
    fn fresh_direction(&self, u0: &[f64], rng: &mut Rng) -> Option<Vec<f64>> {
        for _ in 0..4 {
            let mut v: Vec<f64> = (0..u0.len()).map(|_| rng.normal()).collect();
            let c1 = self.coefficients(u0, &v);
            let (_, norm) = self.orthogonalize(u0, &c1, &mut v);
            if norm > 1e-8 {
                scale(1.0 / norm, &mut v);
                return Some(v);
            }
        }
        None
    }

    /// Replaces the basis by the Ritz vectors `V·y[:, c]` for `c` in `columns` (`y` row-major
    /// `m × m`), row by row in place.
    fn rotate(&mut self, y: &[f64], m: usize, columns: &[usize]) {
        let (cap, len) = (self.cap, self.len);
        self.data.par_chunks_mut(cap * CHUNK).for_each(|rows| {
            let mut tmp = vec![0.0f64; columns.len()];
            for row in rows.chunks_mut(cap) {
                for (t, &c) in tmp.iter_mut().zip(columns) {
                    *t = row[..len]
                        .iter()
                        .enumerate()
                        .fold(0.0, |s, (l, v)| s + v * y[l * m + c]);
                }
                row[..columns.len()].copy_from_slice(&tmp);
            }
        });
        self.len = columns.len();
    }
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
    let mut basis = Basis::new(n, m);
    // The next basis vector: stored by the sweep that multiplies it.
    let mut next = basis.fresh_direction(u0, &mut rng)?;
    let mut h = vec![0.0f64; m * m];
    let mut matvecs = 0usize;
    let mut w = vec![0.0f64; n];
    loop {
        // Extend the basis to m vectors; `h` gets the upper triangle of Vᵀ A V.
        let residual_norm;
        loop {
            let j = basis.len;
            let c1 = basis.extend_and_apply(op, u0, &next, &mut w);
            matvecs += 1;
            let (coeffs, beta) = basis.orthogonalize(u0, &c1, &mut w);
            for (i, c) in coeffs.into_iter().enumerate() {
                h[i * m + j] = c;
            }
            if j + 1 == m {
                residual_norm = beta;
                break;
            }
            next = if beta > 1e-10 {
                w.iter().map(|v| v / beta).collect()
            } else {
                // Invariant subspace found: continue with a fresh orthogonal direction.
                basis.fresh_direction(u0, &mut rng)?
            };
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
        basis.rotate(&y, m, &order[..n_new]);
        if done {
            let vals = order[..nev].iter().map(|&c| theta[c]).collect();
            let vecs = (0..nev).map(|c| basis.column(c)).collect();
            return Some((vals, vecs));
        }
        h.iter_mut().for_each(|v| *v = 0.0);
        for (i, &c) in order[..keep].iter().enumerate() {
            h[i * m + i] = theta[c];
        }
        // The couplings residual_norm·y[m−1, c] between the kept Ritz vectors and the next
        // basis vector come back exactly from Gram–Schmidt on the next step.
        next = if residual_norm > 1e-10 {
            w.iter().map(|v| v / residual_norm).collect()
        } else {
            basis.fresh_direction(u0, &mut rng)?
        };
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
        let op = ShiftedNormalizedAdjacency::new(graph, &inv_sqrt_degree);
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

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

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
        let inv_sqrt_degree: Vec<f64> = degrees.iter().map(|d| 1.0 / d.sqrt()).collect();
        let op = ShiftedNormalizedAdjacency::new(g, &inv_sqrt_degree);
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

    /// A symmetric graph with `extra` seeded random edges per row on top of a ring (connected,
    /// no repeated weights).
    fn random_graph(n: usize, extra: usize, seed: u64) -> CsrGraph {
        let mut rng = Rng::derive(seed, 1);
        let mut edges: Vec<std::collections::BTreeMap<u32, f32>> = vec![Default::default(); n];
        let mut link = |a: usize, b: usize, w: f32| {
            if a != b {
                edges[a].insert(b as u32, w);
                edges[b].insert(a as u32, w);
            }
        };
        for i in 0..n {
            link(i, (i + 1) % n, 1.0);
            for _ in 0..extra {
                let j = rng.below(n);
                link(i, j, 0.2 + rng.next_f64() as f32);
            }
        }
        let rows = edges
            .into_iter()
            .enumerate()
            .map(|(i, m)| (i, m.into_iter().collect()))
            .collect();
        CsrGraph::from_row_blocks(n, vec![rows])
    }

    #[test]
    fn lanczos_over_many_row_chunks_is_accurate_and_thread_independent() {
        // 10,000 rows span three of the fixed chunks the sweeps sum over.
        let n = 10_000;
        let g = random_graph(n, 3, 9);
        let (op, u0) = operator(&g);
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool")
                .install(|| thick_restart_lanczos(&op, &u0, 2, 4, 1e-8, 5_000).expect("lanczos"))
        };
        let (vals, vecs) = run(1);
        assert_eq!(
            (vals.clone(), vecs.clone()),
            run(3),
            "same bits on 1 and 3 threads"
        );
        let mut av = vec![0.0f64; n];
        for (&lambda, v) in vals.iter().zip(&vecs) {
            for (i, o) in av.iter_mut().enumerate() {
                *o = op.apply_row(i, v);
            }
            let residual: f64 = av
                .iter()
                .zip(v)
                .map(|(a, x)| (a - lambda * x).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!(residual < 1e-6, "‖Av − λv‖ = {residual}");
            assert!((dot(v, v) - 1.0).abs() < 1e-9);
            assert!(dot(v, &u0).abs() < 1e-9);
        }
        assert!(dot(&vecs[0], &vecs[1]).abs() < 1e-9);
        assert!(vals[0] >= vals[1]);
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
