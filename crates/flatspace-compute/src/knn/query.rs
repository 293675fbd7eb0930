//! Exact nearest neighbours of one query (a row of the matrix or an outside vector) over every
//! dimension, with distances accumulated in `f64`.
//!
//! This is the search behind "what is near this point in the original space": one query, so a
//! full pass over the rows is cheap (n·d multiply-adds) and needs no index. Accumulating in `f64`
//! keeps the distances right at any dimension: an `f32` sum over 768+ terms loses the digits
//! that separate close neighbours. It is also the building block for placing new rows into an
//! existing layout (UMAP / t-SNE transform).

use std::cmp::Ordering;

use rayon::prelude::*;

use crate::{ComputeError, MatrixView, Metric, Result};

/// What to search around.
#[derive(Debug, Clone, Copy)]
pub enum KnnQuery<'a> {
    /// Row `i` of the matrix; the row itself is left out of its neighbours.
    Row(usize),
    /// An outside vector of the matrix's dimension.
    Vector(&'a [f32]),
}

/// One neighbour: its row and its distance under the metric (see [`crate::knn`] for each
/// metric's definition).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbor {
    pub row: u32,
    pub distance: f64,
}

/// Rows per parallel task: large enough to amortise scheduling, small enough to balance.
const ROWS_PER_TASK: usize = 4096;

/// The `k` nearest rows of `x` to `query`, ascending by distance, ties by lower row index.
/// Fewer than `k` when the matrix has fewer candidate rows (`k >= n` returns every other row).
/// Rows whose distance is not finite (they hold NaN or ±Inf) are left out.
///
/// Cosine distance is `1 − cos θ`; a zero vector is at distance 1 from everything (as in
/// [`crate::knn::knn_graph`]). Inner product distance is `−⟨x, q⟩`.
pub fn query_exact(
    x: MatrixView<'_>,
    query: KnnQuery<'_>,
    k: usize,
    metric: Metric,
) -> Result<Vec<Neighbor>> {
    let n = x.n_rows();
    let (q, skip) = match query {
        KnnQuery::Row(i) => {
            if i >= n {
                return Err(ComputeError::InvalidInput(format!(
                    "row {i} is out of range: the matrix has {n} rows (0..{n})"
                )));
            }
            (x.row(i), Some(i))
        }
        KnnQuery::Vector(v) => {
            if v.len() != x.dim() {
                return Err(ComputeError::InvalidInput(format!(
                    "the query vector has {} values; the matrix rows have {}",
                    v.len(),
                    x.dim()
                )));
            }
            (v, None)
        }
    };
    if let Some(pos) = q.iter().position(|v| !v.is_finite()) {
        return Err(ComputeError::InvalidInput(format!(
            "the query holds the non-finite value {} at dimension {pos}",
            q[pos]
        )));
    }
    if k == 0 || n == 0 {
        return Ok(Vec::new());
    }
    let q_norm = dot_f64(q, q).sqrt();
    let distance_to = |row: &[f32]| -> f64 {
        match metric {
            Metric::Euclidean => squared_l2_f64(row, q).sqrt(),
            Metric::Cosine => {
                let r_norm = dot_f64(row, row).sqrt();
                if r_norm == 0.0 || q_norm == 0.0 {
                    // A non-finite row norm still yields a non-finite distance below.
                    if r_norm.is_finite() { 1.0 } else { f64::NAN }
                } else {
                    (1.0 - dot_f64(row, q) / (r_norm * q_norm)).max(0.0)
                }
            }
            Metric::InnerProduct => -dot_f64(row, q),
        }
    };
    // Each task keeps its own k best; the union of those holds the global k best.
    let mut best: Vec<Neighbor> = (0..n)
        .into_par_iter()
        .step_by(ROWS_PER_TASK)
        .flat_map_iter(|start| {
            let end = (start + ROWS_PER_TASK).min(n);
            let mut local: Vec<Neighbor> = (start..end)
                .filter(|&i| Some(i) != skip)
                .map(|i| Neighbor {
                    row: i as u32,
                    distance: distance_to(x.row(i)),
                })
                .filter(|nb| nb.distance.is_finite())
                .collect();
            keep_best(&mut local, k);
            local
        })
        .collect();
    keep_best(&mut best, k);
    best.sort_unstable_by(order);
    Ok(best)
}

fn order(a: &Neighbor, b: &Neighbor) -> Ordering {
    a.distance
        .total_cmp(&b.distance)
        .then_with(|| a.row.cmp(&b.row))
}

/// Keeps the `k` smallest (unsorted).
fn keep_best(v: &mut Vec<Neighbor>, k: usize) {
    if v.len() > k {
        v.select_nth_unstable_by(k, order);
        v.truncate(k);
    }
}

const LANES: usize = 8;

/// `Σ (a_i − b_i)²` with each term and the sums in `f64`.
#[inline]
pub fn squared_l2_f64(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..LANES {
            let d = f64::from(x[l]) - f64::from(y[l]);
            acc[l] += d * d;
        }
    }
    let mut tail = 0.0f64;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        let d = f64::from(*x) - f64::from(*y);
        tail += d * d;
    }
    acc.iter().sum::<f64>() + tail
}

/// `Σ a_i b_i` with each product and the sums in `f64`.
#[inline]
pub fn dot_f64(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..LANES {
            acc[l] += f64::from(x[l]) * f64::from(y[l]);
        }
    }
    let mut tail = 0.0f64;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += f64::from(*x) * f64::from(*y);
    }
    acc.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// The reference: every distance by a plain sequential f64 loop, sorted.
    fn reference(
        data: &[f32],
        d: usize,
        q: &[f32],
        skip: Option<usize>,
        metric: Metric,
    ) -> Vec<Neighbor> {
        let n = data.len() / d;
        let mut all: Vec<Neighbor> = (0..n)
            .filter(|&i| Some(i) != skip)
            .map(|i| {
                let r = &data[i * d..(i + 1) * d];
                let (mut dd, mut rq, mut rr, mut qq) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
                for j in 0..d {
                    let (a, b) = (f64::from(r[j]), f64::from(q[j]));
                    dd += (a - b) * (a - b);
                    rq += a * b;
                    rr += a * a;
                    qq += b * b;
                }
                let distance = match metric {
                    Metric::Euclidean => dd.sqrt(),
                    Metric::Cosine if rr == 0.0 || qq == 0.0 => 1.0,
                    Metric::Cosine => (1.0 - rq / (rr.sqrt() * qq.sqrt())).max(0.0),
                    Metric::InnerProduct => -rq,
                };
                Neighbor {
                    row: i as u32,
                    distance,
                }
            })
            .collect();
        all.sort_by(order);
        all
    }

    fn random(n: usize, d: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..n * d).map(|_| rng.normal() as f32).collect()
    }

    #[test]
    fn matches_a_sequential_f64_reference_at_768_dims() {
        let (n, d, k) = (9000, 768, 25);
        let data = random(n, d, 7);
        let x = MatrixView::new(&data, n, d).expect("shape");
        for metric in [Metric::Euclidean, Metric::Cosine, Metric::InnerProduct] {
            for row in [0, 4321, n - 1] {
                let got = query_exact(x, KnnQuery::Row(row), k, metric).expect("query");
                let want = reference(&data, d, x.row(row), Some(row), metric);
                assert_eq!(got.len(), k);
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!(g.row, w.row, "{metric:?} row {row}");
                    assert!((g.distance - w.distance).abs() <= 1e-12 * (1.0 + w.distance.abs()));
                }
                assert!(got.iter().all(|nb| nb.row as usize != row));
            }
        }
    }

    #[test]
    fn outside_vector_k_over_n_zero_vectors_and_bad_input() {
        let d = 5;
        let mut data = random(40, d, 3);
        data[10 * d..11 * d].fill(0.0); // row 10 is a zero vector
        let x = MatrixView::new(&data, 40, d).expect("shape");
        // k >= n: every other row, sorted.
        let all = query_exact(x, KnnQuery::Row(3), 1000, Metric::Euclidean).expect("query");
        assert_eq!(all.len(), 39);
        assert!(
            all.windows(2)
                .all(|w| order(&w[0], &w[1]) == Ordering::Less)
        );
        // Cosine: the zero row is at distance 1 from every row, and every row from it.
        let from_zero = query_exact(x, KnnQuery::Row(10), 100, Metric::Cosine).expect("query");
        assert!(from_zero.iter().all(|nb| nb.distance == 1.0));
        assert_eq!(from_zero[0].row, 0, "ties go to the lower row");
        let to_zero = query_exact(x, KnnQuery::Row(0), 100, Metric::Cosine).expect("query");
        let zero = to_zero
            .iter()
            .find(|nb| nb.row == 10)
            .expect("zero row listed");
        assert_eq!(zero.distance, 1.0);
        // An outside vector equal to row 7 finds row 7 at distance 0.
        let q = x.row(7).to_vec();
        let near = query_exact(x, KnnQuery::Vector(&q), 1, Metric::Euclidean).expect("query");
        assert_eq!((near[0].row, near[0].distance), (7, 0.0));
        assert!(query_exact(x, KnnQuery::Row(40), 3, Metric::Euclidean).is_err());
        assert!(query_exact(x, KnnQuery::Vector(&q[..4]), 3, Metric::Euclidean).is_err());
        let nan = [f32::NAN; 5];
        assert!(query_exact(x, KnnQuery::Vector(&nan), 3, Metric::Euclidean).is_err());
        assert!(
            query_exact(x, KnnQuery::Row(1), 0, Metric::Euclidean)
                .expect("k=0")
                .is_empty()
        );
    }

    #[test]
    fn f64_accumulation_resolves_nearly_parallel_vectors() {
        // Cosine distances near 1e-9: an f32 ratio of dot products rounds them all to 0 (or to
        // noise of ±1e-7); accumulated in f64 they come out in the right order and ratio.
        let d = 768;
        let q = vec![1.0f32; d];
        let mut near = q.clone();
        near[0] = 1.001;
        let mut far = q.clone();
        far[0] = 1.002;
        let data: Vec<f32> = [far.clone(), near.clone()].concat();
        let x = MatrixView::new(&data, 2, d).expect("shape");
        let got = query_exact(x, KnnQuery::Vector(&q), 2, Metric::Cosine).expect("query");
        assert_eq!(got[0].row, 1, "the nearer vector comes first");
        // 1 - cos θ ≈ δ²(d - 1) / (2d²) for a δ offset in one coordinate.
        let expect = |v: &[f32]| {
            let delta = f64::from(v[0]) - 1.0;
            delta * delta * (d as f64 - 1.0) / (2.0 * (d * d) as f64)
        };
        for (nb, v) in got.iter().zip([&near, &far]) {
            let e = expect(v);
            assert!((nb.distance - e).abs() < 0.01 * e, "{} vs {e}", nb.distance);
        }
    }
}
