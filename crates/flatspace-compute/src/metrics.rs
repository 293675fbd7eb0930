//! How faithful a low-dimensional layout is to the high-dimensional rows it was computed from.
//!
//! Every neighbourhood metric is evaluated on a seeded sample of query rows (all rows when the
//! table is small); each sampled row is compared against *every* row, so ranks and neighbour
//! sets are exact for the sampled rows:
//! - **kNN recall@k**: share of a row's k high-dimensional neighbours that are also among its k
//!   layout neighbours.
//! - **Trustworthiness@k** (Venna & Kaski): penalises layout neighbours that are far away in the
//!   original space, by their original rank; 1 is perfect. Same normalisation as scikit-learn's
//!   `trustworthiness`, so with every row sampled the values agree.
//! - **Continuity@k**: the mirror image, original neighbours pushed away in the layout.
//! - **kNN accuracy**: leave-one-out k-NN majority vote of labels in the layout.
//! - **Distance Spearman**: rank correlation of high- and low-dimensional distances over seeded
//!   random pairs (global structure).

use std::sync::atomic::Ordering;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use crate::knn::{Metric, distance, dot, squared_l2};
use crate::pca::{centred_block, scan_and_sum_columns};
use crate::rng::Rng;
use crate::{ComputeError, MatrixView, Result, RunContext};

/// What to measure and how much to sample.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityParams {
    /// Neighbourhood size for recall, trustworthiness, continuity and the classifier.
    pub k: usize,
    /// Metric of the high-dimensional rows (the layout is always euclidean).
    pub metric: Metric,
    /// At most this many query rows are evaluated (seeded sample without replacement).
    pub max_query_rows: usize,
    /// Random pairs for the distance rank correlation.
    pub n_pairs: usize,
    pub seed: u64,
}

impl Default for QualityParams {
    fn default() -> Self {
        Self {
            k: 15,
            metric: Metric::Euclidean,
            max_query_rows: 2000,
            n_pairs: 100_000,
            seed: 42,
        }
    }
}

/// All quality metrics of one layout. Values are in [0, 1] except the Spearman correlation
/// ([−1, 1]); `None` when not computable (no labels, or too few rows).
#[derive(Debug, Clone, PartialEq)]
pub struct QualityReport {
    pub n_rows: usize,
    /// The k actually used (clamped to n_rows − 1).
    pub k: usize,
    /// How many query rows the neighbourhood metrics were averaged over.
    pub n_query_rows: usize,
    pub knn_recall: Option<f64>,
    pub trustworthiness: Option<f64>,
    pub continuity: Option<f64>,
    pub knn_accuracy: Option<f64>,
    pub distance_spearman: Option<f64>,
}

/// Per-row facts gathered from one pass over all rows.
struct RowStats {
    recall_hits: usize,
    /// Σ (original rank − k) over layout neighbours missing from the original neighbours.
    trust_penalty: u64,
    /// Σ (layout rank − k) over original neighbours missing from the layout neighbours.
    continuity_penalty: u64,
    label_correct: Option<bool>,
}

/// Computes every metric of the layout `low` (n × c) against the rows `high` (n × d).
/// `labels` (one per row) enables the kNN-classifier accuracy.
pub fn quality_report(
    high: MatrixView<'_>,
    low: MatrixView<'_>,
    labels: Option<&[u32]>,
    params: &QualityParams,
    ctx: &RunContext<'_>,
) -> Result<QualityReport> {
    let n = high.n_rows();
    if low.n_rows() != n {
        return Err(ComputeError::InvalidInput(format!(
            "layout has {} rows but the original matrix has {n}",
            low.n_rows()
        )));
    }
    if let Some(l) = labels
        && l.len() != n
    {
        return Err(ComputeError::InvalidInput(format!(
            "{} labels given for {n} rows",
            l.len()
        )));
    }
    if params.k == 0 {
        return Err(ComputeError::InvalidInput(
            "quality k must be at least 1".into(),
        ));
    }
    if low.dim() == 0 && n > 0 {
        return Err(ComputeError::InvalidInput(
            "the layout has no columns; expected 1 or more coordinates a row".into(),
        ));
    }
    high.check_finite()?;
    low.check_finite()?;
    let k = params.k.min(n.saturating_sub(1));
    let queries = sample_rows(n, params.max_query_rows, params.seed);
    let mut report = QualityReport {
        n_rows: n,
        k,
        n_query_rows: 0,
        knn_recall: None,
        trustworthiness: None,
        continuity: None,
        knn_accuracy: None,
        distance_spearman: None,
    };
    if k == 0 {
        return Ok(report);
    }
    report.n_query_rows = queries.len();
    let rows = ProductRows::new(high, params.metric);
    let done = std::sync::atomic::AtomicU64::new(0);
    let total = queries.len() as u64;
    let stats: Vec<RowStats> = queries
        .par_chunks(rows.block_len())
        .map_init(
            || (Vec::new(), Vec::new(), Vec::new()),
            |(dh, dl, buf), block| -> Result<Vec<RowStats>> {
                ctx.check_cancelled()?;
                let finished = done.fetch_add(block.len() as u64, Ordering::Relaxed);
                ctx.report("metrics", finished, total);
                rows.distances(block, dh, buf);
                Ok(block
                    .iter()
                    .zip(dh.chunks_exact(n))
                    .map(|(&i, dh)| row_stats(dh, low, labels, i, k, dl))
                    .collect())
            },
        )
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    let s = stats.len() as f64;
    let hits: usize = stats.iter().map(|r| r.recall_hits).sum();
    report.knn_recall = Some(hits as f64 / (s * k as f64));
    // scikit-learn's normaliser; it is only positive while k < n / 2 (same restriction there).
    let norm = s * k as f64 * (2.0 * n as f64 - 3.0 * k as f64 - 1.0);
    if norm > 0.0 {
        let trust: u64 = stats.iter().map(|r| r.trust_penalty).sum();
        let cont: u64 = stats.iter().map(|r| r.continuity_penalty).sum();
        report.trustworthiness = Some(1.0 - 2.0 * trust as f64 / norm);
        report.continuity = Some(1.0 - 2.0 * cont as f64 / norm);
    }
    if labels.is_some() {
        let correct = stats
            .iter()
            .filter(|r| r.label_correct == Some(true))
            .count();
        report.knn_accuracy = Some(correct as f64 / s);
    }
    report.distance_spearman = distance_spearman(
        high,
        low,
        params.metric,
        params.n_pairs,
        params.seed.wrapping_add(1),
    );
    ctx.report("metrics", total, total);
    Ok(report)
}

/// Seeded sample of `max` distinct rows in increasing order (all rows when n ≤ max).
pub fn sample_rows(n: usize, max: usize, seed: u64) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    // Partial Fisher–Yates over an index permutation.
    let mut rng = Rng::new(seed);
    let mut perm: Vec<usize> = (0..n).collect();
    for i in 0..max {
        let j = i + rng.below(n - i);
        perm.swap(i, j);
    }
    perm.truncate(max);
    perm.sort_unstable();
    perm
}

/// Distance values a query block holds (32 MiB): the block's query count is this over the row
/// count, at least 16 (64 MiB at a million rows; each block reads the whole matrix once).
const BLOCK_VALUES: usize = 8 << 20;
/// Rows of the matrix multiplied at a time (fits in L2 at d ≈ 800).
const DATA_BLOCK: usize = 256;

/// The high-dimensional rows as a matrix product sees them: each sampled row is compared with
/// every row, so the distances are blocked products (a block of queries against `DATA_BLOCK`
/// rows at a time) instead of one distance call per pair, which read the whole matrix once per
/// query (MNIST, 5,000 queries: 75 s on 2 threads).
///
/// Values order the rows as the metric does (ranks are all the metrics need): squared
/// euclidean distance of the rows centred on the column means, ‖q‖² + ‖x‖² − 2 q·x (centring
/// keeps it accurate when the data sit far from the origin; each block is copied centred,
/// which measured no slower than multiplying raw rows and correcting, PCA's shortcut, whose
/// rounding follows the offset, not the neighbours' distances), 1 − cosine (a zero row is at
/// 1 from everything, as in `distance`), or −⟨q, x⟩.
struct ProductRows<'a> {
    x: MatrixView<'a>,
    metric: Metric,
    /// Column means (euclidean only; zeros otherwise).
    mean: Vec<f32>,
    /// Per row: ‖x − mean‖² (euclidean), 1/‖x‖ or 0 for a zero row (cosine), unused (inner
    /// product).
    row_terms: Vec<f32>,
}

impl<'a> ProductRows<'a> {
    fn new(x: MatrixView<'a>, metric: Metric) -> Self {
        let (n, d) = (x.n_rows(), x.dim());
        let mut mean = vec![0.0f32; d];
        let row_terms = match metric {
            Metric::Euclidean => {
                // PCA's parallel pass (its value scan repeats the caller's finiteness check).
                let (sums, _) = scan_and_sum_columns(x);
                mean = sums.iter().map(|s| (s / n.max(1) as f64) as f32).collect();
                (0..n)
                    .into_par_iter()
                    .map(|i| squared_l2(x.row(i), &mean))
                    .collect()
            }
            Metric::Cosine => (0..n)
                .into_par_iter()
                .map(|i| {
                    let norm = dot(x.row(i), x.row(i)).sqrt();
                    if norm > 0.0 { 1.0 / norm } else { 0.0 }
                })
                .collect(),
            Metric::InnerProduct => Vec::new(),
        };
        Self {
            x,
            metric,
            mean,
            row_terms,
        }
    }

    /// How many queries a block holds.
    fn block_len(&self) -> usize {
        (BLOCK_VALUES / self.x.n_rows().max(1)).clamp(16, 256)
    }

    /// Row-major `queries.len() × n` values from each query to every row, the query itself at
    /// +∞ so it ranks last (as scikit-learn does).
    fn distances(&self, queries: &[usize], out: &mut Vec<f32>, buf: &mut Vec<f32>) {
        let (n, d, q) = (self.x.n_rows(), self.x.dim(), queries.len());
        out.clear();
        out.resize(q * n, 0.0);
        // Queries as the product needs them: centred (euclidean) or scaled to unit length
        // (cosine).
        let mut query_rows = Vec::with_capacity(q * d);
        for &i in queries {
            let row = self.x.row(i);
            match self.metric {
                Metric::Euclidean => {
                    query_rows.extend(row.iter().zip(&self.mean).map(|(&v, &m)| v - m));
                }
                Metric::Cosine => {
                    let scale = self.row_terms[i];
                    query_rows.extend(row.iter().map(|&v| v * scale));
                }
                Metric::InnerProduct => query_rows.extend_from_slice(row),
            }
        }
        let queries_mat = MatRef::from_row_major_slice(&query_rows, q, d);
        let mut tile = vec![0.0f32; q * DATA_BLOCK];
        for start in (0..n).step_by(DATA_BLOCK) {
            let end = (start + DATA_BLOCK).min(n);
            let width = end - start;
            let values = match self.metric {
                Metric::Euclidean => {
                    centred_block(self.x, &self.mean, start..end, buf);
                    buf.as_slice()
                }
                _ => &self.x.as_slice()[start * d..end * d],
            };
            let tile = &mut tile[..q * width];
            matmul(
                MatMut::from_row_major_slice_mut(tile, q, width),
                Accum::Replace,
                queries_mat,
                MatRef::from_row_major_slice(values, width, d).transpose(),
                1.0f32,
                Par::Seq,
            );
            for ((products, out_row), &i) in tile
                .chunks_exact(width)
                .zip(out.chunks_exact_mut(n))
                .zip(queries)
            {
                let out_row = &mut out_row[start..end];
                match self.metric {
                    Metric::Euclidean => {
                        let term_q = self.row_terms[i];
                        let terms = &self.row_terms[start..end];
                        for ((o, &p), &term_r) in out_row.iter_mut().zip(products).zip(terms) {
                            *o = (term_q + term_r - 2.0 * p).max(0.0);
                        }
                    }
                    Metric::Cosine => {
                        let terms = &self.row_terms[start..end];
                        for ((o, &p), &inv) in out_row.iter_mut().zip(products).zip(terms) {
                            *o = (1.0 - p * inv).max(0.0);
                        }
                    }
                    Metric::InnerProduct => {
                        for (o, &p) in out_row.iter_mut().zip(products) {
                            *o = -p;
                        }
                    }
                }
            }
        }
        for (out_row, &i) in out.chunks_exact_mut(n).zip(queries) {
            out_row[i] = f32::INFINITY;
        }
    }
}

/// Squared euclidean distances from layout row `i` to every layout row (itself at +∞), written
/// for the 2 or 3 columns of a layout.
fn layout_distances(low: MatrixView<'_>, i: usize, out: &mut Vec<f32>) {
    let li = low.row(i);
    out.clear();
    out.extend(low.as_slice().chunks_exact(low.dim().max(1)).map(|r| {
        r.iter()
            .zip(li)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
    }));
    out[i] = f32::INFINITY;
}

/// The k smallest entries of `dist` by (distance, index), in that order. One scan keeping a
/// sorted list: after the first few hundred rows almost nothing beats the k-th, so the scan
/// tests 16 values at a time against it (branch-free) and walks only the rare groups holding
/// one (a selection over an index permutation cost more than the distances).
fn k_smallest(dist: &[f32], k: usize) -> Vec<u32> {
    if k == 0 {
        return Vec::new();
    }
    let mut best: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
    for (g, group) in dist.chunks(16).enumerate() {
        if best.len() == k {
            let bar = best[k - 1].0;
            if !group.iter().fold(false, |any, &d| any | (d < bar)) {
                continue;
            }
        }
        for (o, &d) in group.iter().enumerate() {
            // Equal values keep index order: a later row goes after them, and is turned away
            // at the cut.
            if best.len() < k || d < best[k - 1].0 {
                let at = best.partition_point(|&(v, _)| v <= d);
                best.insert(at, (d, (g * 16 + o) as u32));
                best.truncate(k);
            }
        }
    }
    best.into_iter().map(|(_, j)| j).collect()
}

/// Values counted per tile: the tile stays in L1 while every target is counted against it, so
/// the distance row is read from memory once instead of once per target (at a million rows the
/// per-target passes were a third of the metrics).
const RANK_TILE: usize = 4096;

/// 1-based rank of each row of `targets` among all rows by distance (ties broken by index):
/// 1 + #{m < j : d_m ≤ d_j} + #{m > j : d_m < d_j}.
fn ranks_of(dist: &[f32], targets: &[u32]) -> Vec<u64> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the feature was detected at run time.
        return unsafe { ranks_of_avx2(dist, targets) };
    }
    ranks_of_body(dist, targets)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn ranks_of_avx2(dist: &[f32], targets: &[u32]) -> Vec<u64> {
    ranks_of_body(dist, targets)
}

#[inline(always)]
fn ranks_of_body(dist: &[f32], targets: &[u32]) -> Vec<u64> {
    let mut ranks = vec![1u64; targets.len()];
    for (t, tile) in dist.chunks(RANK_TILE).enumerate() {
        let start = t * RANK_TILE;
        for (rank, &j) in ranks.iter_mut().zip(targets) {
            let (j, dj) = (j as usize, dist[j as usize]);
            // Rows before j count when as near (tied rows before j rank ahead of it), rows
            // after it only when nearer; j itself counts in neither.
            let split = j.saturating_sub(start).min(tile.len());
            let after = (j + 1).saturating_sub(start).min(tile.len());
            let mut n = 0u64;
            for &v in &tile[..split] {
                n += u64::from(v <= dj);
            }
            for &v in &tile[after..] {
                n += u64::from(v < dj);
            }
            *rank += n;
        }
    }
    ranks
}

/// Neighbourhood facts of query row `i`, from its distances `dh` to every original row.
fn row_stats(
    dh: &[f32],
    low: MatrixView<'_>,
    labels: Option<&[u32]>,
    i: usize,
    k: usize,
    dl: &mut Vec<f32>,
) -> RowStats {
    layout_distances(low, i, dl);
    let nh = k_smallest(dh, k);
    let nl = k_smallest(dl, k);
    let only_layout: Vec<u32> = nl.iter().copied().filter(|j| !nh.contains(j)).collect();
    let only_original: Vec<u32> = nh.iter().copied().filter(|j| !nl.contains(j)).collect();
    let recall_hits = nl.len() - only_layout.len();
    let penalty = |ranks: Vec<u64>| ranks.iter().map(|r| r - k as u64).sum::<u64>();
    let trust_penalty = penalty(ranks_of(dh, &only_layout));
    let continuity_penalty = penalty(ranks_of(dl, &only_original));
    let label_correct = labels.map(|labels| vote(labels, &nl) == labels[i]);
    RowStats {
        recall_hits,
        trust_penalty,
        continuity_penalty,
        label_correct,
    }
}

/// Majority label among `neighbours` (nearest first); ties go to the label seen nearest.
fn vote(labels: &[u32], neighbours: &[u32]) -> u32 {
    let mut counts: Vec<(u32, usize, usize)> = Vec::new(); // (label, count, first position)
    for (pos, &j) in neighbours.iter().enumerate() {
        let label = labels[j as usize];
        match counts.iter_mut().find(|c| c.0 == label) {
            Some(c) => c.1 += 1,
            None => counts.push((label, 1, pos)),
        }
    }
    counts
        .iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)))
        .map_or(u32::MAX, |c| c.0)
}

/// Spearman rank correlation of original vs layout distances over `n_pairs` seeded random pairs
/// of distinct rows (all pairs when there are fewer). `None` below 3 pairs or with no variation.
pub fn distance_spearman(
    high: MatrixView<'_>,
    low: MatrixView<'_>,
    metric: Metric,
    n_pairs: usize,
    seed: u64,
) -> Option<f64> {
    let n = high.n_rows();
    if n < 2 || low.n_rows() != n {
        return None;
    }
    let all_pairs = n * (n - 1) / 2;
    let pairs: Vec<(usize, usize)> = if all_pairs <= n_pairs {
        (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .collect()
    } else {
        let mut rng = Rng::new(seed);
        (0..n_pairs)
            .map(|_| {
                let i = rng.below(n);
                let mut j = rng.below(n - 1);
                if j >= i {
                    j += 1;
                }
                (i, j)
            })
            .collect()
    };
    if pairs.len() < 3 {
        return None;
    }
    let (a, b): (Vec<f64>, Vec<f64>) = pairs
        .par_iter()
        .map(|&(i, j)| {
            (
                distance(metric, high.row(i), high.row(j)) as f64,
                distance(Metric::Euclidean, low.row(i), low.row(j)) as f64,
            )
        })
        .unzip();
    spearman(&a, &b)
}

/// Spearman correlation (Pearson correlation of average ranks); `None` if either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    pearson(&average_ranks(a), &average_ranks(b))
}

fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_unstable_by(|&x, &y| v[x].total_cmp(&v[y]));
    let mut ranks = vec![0.0; v.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && v[order[end]] == v[order[start]] {
            end += 1;
        }
        let avg = (start + end - 1) as f64 / 2.0 + 1.0;
        for &o in &order[start..end] {
            ranks[o] = avg;
        }
        start = end;
    }
    ranks
}

fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len() as f64;
    let ma = a.iter().sum::<f64>() / n;
    let mb = b.iter().sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa <= 0.0 || sbb <= 0.0 {
        return None;
    }
    Some(sab / (saa * sbb).sqrt())
}

/// Mean share of each row's neighbours in `truth` that `approx` also lists (recall of an
/// approximate kNN graph against an exact one); compares the first min(k) columns.
pub fn graph_recall(truth: &crate::KnnGraph, approx: &crate::KnnGraph) -> Result<f64> {
    if truth.n_rows != approx.n_rows {
        return Err(ComputeError::InvalidInput(format!(
            "graphs have {} and {} rows",
            truth.n_rows, approx.n_rows
        )));
    }
    let k = truth.k.min(approx.k);
    if k == 0 || truth.n_rows == 0 {
        return Ok(1.0);
    }
    let hits: usize = (0..truth.n_rows)
        .into_par_iter()
        .map(|i| {
            let a = &approx.neighbors(i)[..k];
            truth.neighbors(i)[..k]
                .iter()
                .filter(|j| a.contains(j))
                .count()
        })
        .sum();
    Ok(hits as f64 / (truth.n_rows * k) as f64)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const REFERENCE: &str = include_str!("testdata/sklearn_reference.txt");

    /// A named matrix from the scikit-learn fixture: (rows, cols, row-major values).
    pub(crate) fn reference(name: &str) -> (usize, usize, Vec<f64>) {
        let mut lines = REFERENCE.lines();
        while let Some(line) = lines.next() {
            let mut head = line.split_whitespace();
            if head.next() == Some(name) {
                let rows: usize = head.next().and_then(|v| v.parse().ok()).expect("rows");
                let cols: usize = head.next().and_then(|v| v.parse().ok()).expect("cols");
                let values: Vec<f64> = lines
                    .by_ref()
                    .take(rows)
                    .flat_map(|l| {
                        l.split_whitespace()
                            .map(|v| v.parse::<f64>().expect("number"))
                    })
                    .collect();
                assert_eq!(values.len(), rows * cols, "{name}");
                return (rows, cols, values);
            }
        }
        panic!("fixture {name} missing")
    }

    fn as_f32(v: &[f64]) -> Vec<f32> {
        v.iter().map(|&x| x as f32).collect()
    }

    fn report(
        high: &[f32],
        d: usize,
        low: &[f32],
        c: usize,
        labels: Option<&[u32]>,
        k: usize,
    ) -> QualityReport {
        let n = high.len() / d;
        quality_report(
            MatrixView::new(high, n, d).expect("high"),
            MatrixView::new(low, n, c).expect("low"),
            labels,
            &QualityParams {
                k,
                ..Default::default()
            },
            &RunContext::silent(),
        )
        .expect("report")
    }

    #[test]
    fn trustworthiness_and_continuity_match_scikit_learn() {
        let (n, d, x) = reference("trust_x");
        let (_, c, y) = reference("trust_y");
        let (rows, _, expected) = reference("trust_k_t_c");
        let (x, y) = (as_f32(&x), as_f32(&y));
        assert_eq!(x.len(), n * d);
        for r in 0..rows {
            let k = expected[r * 3] as usize;
            let rep = report(&x, d, &y, c, None, k);
            let t = rep.trustworthiness.expect("t");
            let cont = rep.continuity.expect("c");
            assert!(
                (t - expected[r * 3 + 1]).abs() < 1e-9,
                "k={k}: {t} vs {}",
                expected[r * 3 + 1]
            );
            assert!((cont - expected[r * 3 + 2]).abs() < 1e-9, "k={k}: {cont}");
        }
    }

    #[test]
    fn perfect_layout_scores_one_and_scrambled_layout_scores_low() {
        // Rows on a noisy 2-d grid embedded in 5-d by a rotation: distances are preserved.
        let mut rng = Rng::new(4);
        let n = 400;
        let low: Vec<f32> = (0..n * 2).map(|_| rng.normal() as f32).collect();
        let mut high = vec![0.0f32; n * 5];
        for i in 0..n {
            let (a, b) = (low[2 * i], low[2 * i + 1]);
            // An isometry: rotate into dims 0, 3 and add a constant in dim 4.
            high[i * 5] = 0.6 * a - 0.8 * b;
            high[i * 5 + 3] = 0.8 * a + 0.6 * b;
            high[i * 5 + 4] = 7.0;
        }
        let labels: Vec<u32> = (0..n).map(|i| u32::from(low[2 * i] > 0.0)).collect();
        let rep = report(&high, 5, &low, 2, Some(&labels), 10);
        assert!((rep.trustworthiness.expect("t") - 1.0).abs() < 1e-12);
        assert!((rep.continuity.expect("c") - 1.0).abs() < 1e-12);
        assert!((rep.knn_recall.expect("r") - 1.0).abs() < 1e-12);
        assert!(rep.distance_spearman.expect("s") > 0.9999);
        assert!(rep.knn_accuracy.expect("a") > 0.95);

        // Scramble the layout: rows get another row's position.
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let scrambled: Vec<f32> = order
            .iter()
            .flat_map(|&j| [low[2 * j], low[2 * j + 1]])
            .collect();
        let bad = report(&high, 5, &scrambled, 2, Some(&labels), 10);
        assert!(bad.trustworthiness.expect("t") < 0.6, "{bad:?}");
        assert!(bad.continuity.expect("c") < 0.6);
        assert!(bad.knn_recall.expect("r") < 0.1);
        assert!(bad.distance_spearman.expect("s").abs() < 0.1);
        assert!(bad.knn_accuracy.expect("a") < 0.7);
    }

    #[test]
    fn spearman_known_values_sampling_and_graph_recall() {
        assert_eq!(
            spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 30.0, 40.0]),
            Some(1.0)
        );
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[3.0, 2.0, 1.0]), None);
        // Ties get average ranks: ranks (1.5, 1.5, 3) vs (1, 2, 3) → r = √3 / 2.
        let r = spearman(&[5.0, 5.0, 9.0], &[1.0, 2.0, 3.0]).expect("r");
        assert!((r - 3f64.sqrt() / 2.0).abs() < 1e-12);
        let s = sample_rows(1000, 50, 1);
        assert_eq!(s.len(), 50);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(s, sample_rows(1000, 50, 1));
        let g = |idx: Vec<u32>| crate::KnnGraph {
            n_rows: 2,
            k: 2,
            indices: idx,
            distances: vec![0.0; 4],
        };
        let recall = graph_recall(&g(vec![1, 2, 0, 2]), &g(vec![2, 3, 0, 3])).expect("recall");
        assert!((recall - 0.5).abs() < 1e-12);
    }

    /// The blocked products order every row as the per-pair `distance` does, for each metric:
    /// several data blocks, a zero row (cosine), data far from the origin, and the query itself
    /// last.
    #[test]
    fn blocked_distances_rank_rows_as_the_pairwise_distance_does() {
        let (n, d) = (2 * DATA_BLOCK + 37, 9);
        let mut rng = Rng::new(5);
        for offset in [0.0f32, 30.0, 1e5] {
            let mut x: Vec<f32> = (0..n * d).map(|_| rng.normal() as f32 + offset).collect();
            x[3 * d..4 * d].fill(0.0);
            let view = MatrixView::new(&x, n, d).expect("view");
            for metric in [Metric::Euclidean, Metric::Cosine, Metric::InnerProduct] {
                if offset > 1e3 && metric != Metric::Euclidean {
                    // Every angle and product is then below f32 resolution of their size:
                    // both computations give rounding noise.
                    continue;
                }
                let rows = ProductRows::new(view, metric);
                let queries = [0, 3, 300, n - 1];
                let (mut out, mut buf) = (Vec::new(), Vec::new());
                rows.distances(&queries, &mut out, &mut buf);
                for (&i, values) in queries.iter().zip(out.chunks_exact(n)) {
                    assert_eq!(values[i], f32::INFINITY);
                    let reference: Vec<f32> = (0..n)
                        .map(|j| {
                            if j == i {
                                f32::INFINITY
                            } else {
                                let v = distance(metric, view.row(i), view.row(j));
                                if metric == Metric::Euclidean {
                                    v * v
                                } else {
                                    v
                                }
                            }
                        })
                        .collect();
                    // Same order up to rounding: the 15 nearest by either measure agree on
                    // at least 14, and values agree to a small fraction of their spread.
                    let ours = k_smallest(values, 15);
                    let theirs = k_smallest(&reference, 15);
                    let shared = ours.iter().filter(|j| theirs.contains(j)).count();
                    assert!(shared >= 14, "{metric:?} offset {offset} row {i}: {shared}");
                    let spread = reference
                        .iter()
                        .filter(|v| v.is_finite())
                        .fold(0.0f32, |m, &v| m.max(v.abs()));
                    for (j, (&a, &b)) in values.iter().zip(&reference).enumerate() {
                        if j != i {
                            assert!(
                                (a - b).abs() <= 1e-4 * spread,
                                "{metric:?} offset {offset} row {i} vs {j}: {a} vs {b}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_layout_without_columns_is_refused() {
        let high = [0.0f32, 1.0, 2.0, 3.0];
        let err = quality_report(
            MatrixView::new(&high, 4, 1).expect("high"),
            MatrixView::new(&[], 4, 0).expect("low"),
            None,
            &QualityParams::default(),
            &RunContext::silent(),
        )
        .expect_err("a layout with no columns");
        assert!(err.to_string().contains("no columns"), "{err}");
    }

    /// Ranks counted tile by tile equal the definition (ties broken by index), across tile
    /// boundaries and with many ties.
    #[test]
    fn ranks_break_ties_by_index_across_tiles() {
        let n = 2 * RANK_TILE + 123;
        let mut rng = Rng::new(9);
        let dist: Vec<f32> = (0..n).map(|_| rng.below(50) as f32).collect();
        let targets: Vec<u32> = [0, 1, RANK_TILE - 1, RANK_TILE, RANK_TILE + 7, n - 1]
            .iter()
            .map(|&j| j as u32)
            .collect();
        let naive = |j: usize| {
            1 + (0..n)
                .filter(|&m| dist[m] < dist[j] || (dist[m] == dist[j] && m < j))
                .count() as u64
        };
        let expected: Vec<u64> = targets.iter().map(|&j| naive(j as usize)).collect();
        assert_eq!(ranks_of(&dist, &targets), expected);
        assert_eq!(ranks_of_body(&dist, &targets), expected);
        assert_eq!(ranks_of(&[3.0, 1.0, 3.0, 2.0], &[0, 2]), vec![3, 4]);
    }
}
