//! Property tests of t-SNE on small synthetic data (each well under a second in the dev profile).

// Coordinates of 2 or 3 dimensions are indexed together across several arrays.
#![allow(clippy::needless_range_loop)]

use std::sync::Mutex;

use super::affinities::{SparseAffinities, conditional_probabilities};
use super::barnes_hut;
use super::exact;
use super::fft_interp::FftRepulsion;
use super::kernel::Kernel;
use super::*;
use crate::context::{CancelToken, Progress, ProgressSink};
use crate::knn::{KnnParams, knn_graph};

/// `n_clusters` Gaussian blobs of `per` rows in `dim` dimensions, centres `sep` apart on
/// average; returns the data and the label of each row.
fn blobs(per: usize, n_clusters: usize, dim: usize, sep: f64, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let mut rng = Rng::new(seed);
    let centres: Vec<Vec<f64>> = (0..n_clusters)
        .map(|_| (0..dim).map(|_| rng.normal() * sep).collect())
        .collect();
    let mut data = Vec::with_capacity(per * n_clusters * dim);
    let mut labels = Vec::with_capacity(per * n_clusters);
    for i in 0..per * n_clusters {
        let c = i % n_clusters;
        labels.push(c);
        for d in 0..dim {
            data.push((centres[c][d] + rng.normal()) as f32);
        }
    }
    (data, labels)
}

fn quick_params() -> TsneParams {
    TsneParams {
        n_iter: 250,
        early_exaggeration_iter: 100,
        ..Default::default()
    }
}

/// Fraction of points whose nearest 2D class centroid is their own class's.
fn centroid_accuracy(emb: &[f32], dim: usize, labels: &[usize]) -> f64 {
    let n_classes = labels.iter().max().map_or(0, |m| m + 1);
    let mut sums = vec![vec![0f64; dim]; n_classes];
    let mut counts = vec![0usize; n_classes];
    for (i, &l) in labels.iter().enumerate() {
        counts[l] += 1;
        for d in 0..dim {
            sums[l][d] += f64::from(emb[i * dim + d]);
        }
    }
    let centroids: Vec<Vec<f64>> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| s.iter().map(|v| v / c.max(1) as f64).collect())
        .collect();
    let correct = labels
        .iter()
        .enumerate()
        .filter(|&(i, &l)| {
            let dist = |c: &Vec<f64>| -> f64 {
                (0..dim)
                    .map(|d| (f64::from(emb[i * dim + d]) - c[d]).powi(2))
                    .sum()
            };
            let best = (0..n_classes)
                .min_by(|&a, &b| dist(&centroids[a]).total_cmp(&dist(&centroids[b])))
                .unwrap_or(0);
            best == l
        })
        .count();
    correct as f64 / labels.len() as f64
}

/// Mean fraction of each row's `k` nearest neighbours in `x` that are among its `k` nearest in
/// the layout.
fn knn_recall(x: &[f32], dim: usize, emb: &[f32], c: usize, k: usize) -> f64 {
    let n = x.len() / dim;
    let hi = knn_graph(
        MatrixView::new(x, n, dim).expect("shape"),
        &KnnParams {
            k,
            ..Default::default()
        },
        &RunContext::silent(),
    )
    .expect("knn");
    let lo = knn_graph(
        MatrixView::new(emb, n, c).expect("shape"),
        &KnnParams {
            k,
            ..Default::default()
        },
        &RunContext::silent(),
    )
    .expect("knn");
    let mut hits = 0usize;
    for i in 0..n {
        let a = hi.neighbors(i);
        hits += lo.neighbors(i).iter().filter(|j| a.contains(j)).count();
    }
    hits as f64 / (n * k) as f64
}

#[test]
fn clusters_are_separated() {
    let (data, labels) = blobs(100, 4, 10, 6.0, 1);
    let x = MatrixView::new(&data, 400, 10).expect("shape");
    let model = fit(x, &quick_params(), &RunContext::silent()).expect("fit");
    assert_eq!(model.embedding.len(), 800);
    assert!(model.embedding.iter().all(|v| v.is_finite()));
    let acc = centroid_accuracy(&model.embedding, 2, &labels);
    assert!(acc > 0.99, "centroid accuracy {acc}");
}

#[test]
fn every_method_separates_clusters_in_2d_and_3d() {
    let (data, labels) = blobs(50, 3, 8, 6.0, 2);
    let x = MatrixView::new(&data, 150, 8).expect("shape");
    for (c, method) in [
        (2, NegativeGradientMethod::Fft),
        (2, NegativeGradientMethod::BarnesHut),
        (3, NegativeGradientMethod::BarnesHut),
        (3, NegativeGradientMethod::Exact),
    ] {
        let params = TsneParams {
            n_components: c,
            negative_gradient_method: method,
            perplexity: 15.0,
            ..quick_params()
        };
        let model = fit(x, &params, &RunContext::silent()).expect("fit");
        assert_eq!(model.method, method);
        let acc = centroid_accuracy(&model.embedding, c, &labels);
        assert!(acc > 0.99, "{method:?} in {c}D: centroid accuracy {acc}");
    }
}

#[test]
fn same_seed_same_layout_whatever_the_thread_count() {
    let (data, _) = blobs(100, 3, 6, 4.0, 3);
    let x = MatrixView::new(&data, 300, 6).expect("shape");
    for method in [
        NegativeGradientMethod::Fft,
        NegativeGradientMethod::BarnesHut,
    ] {
        let params = TsneParams {
            negative_gradient_method: method,
            n_iter: 30,
            early_exaggeration_iter: 30,
            ..Default::default()
        };
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool")
                .install(|| fit(x, &params, &RunContext::silent()).expect("fit"))
        };
        let a = run(1);
        let b = run(3);
        let c = run(3);
        assert_eq!(a.embedding, b.embedding, "{method:?}: 1 vs 3 threads");
        assert_eq!(b.embedding, c.embedding, "{method:?}: repeat");
        let other = fit(
            x,
            &TsneParams {
                seed: 99,
                init: Initialization::Random,
                ..params.clone()
            },
            &RunContext::silent(),
        )
        .expect("fit");
        assert_ne!(a.embedding, other.embedding);
    }
}

#[test]
fn higher_perplexity_preserves_larger_neighbourhoods() {
    // Points along a noisy curve in 10D: small perplexity keeps only the closest neighbours
    // together, a large one keeps wider stretches of the curve together.
    let n = 500;
    let dim = 10;
    let mut rng = Rng::new(4);
    let mut data = Vec::with_capacity(n * dim);
    for i in 0..n {
        let t = i as f64 / n as f64 * 6.0;
        for d in 0..dim {
            let base = (t * (d as f64 + 1.0) * 0.7).sin() * 3.0;
            data.push((base + rng.normal() * 0.3) as f32);
        }
    }
    let x = MatrixView::new(&data, n, dim).expect("shape");
    let recall = |perplexity: f64| {
        let params = TsneParams {
            perplexity,
            ..quick_params()
        };
        let model = fit(x, &params, &RunContext::silent()).expect("fit");
        knn_recall(&data, dim, &model.embedding, 2, 60)
    };
    let low = recall(4.0);
    let high = recall(60.0);
    assert!(
        high > low + 0.02,
        "recall@60: perplexity 4 {low}, 60 {high}"
    );
}

#[derive(Default)]
struct LossLog(Mutex<Vec<(&'static str, u64, f64)>>);

impl ProgressSink for LossLog {
    fn report(&self, p: &Progress<'_>) {
        if let Some(loss) = p.loss
            && let Ok(mut v) = self.0.lock()
        {
            v.push((p.stage, p.done, loss));
        }
    }
}

#[test]
fn kl_divergence_falls_over_iterations() {
    let (data, _) = blobs(100, 5, 10, 5.0, 5);
    let x = MatrixView::new(&data, 500, 10).expect("shape");
    let log = LossLog::default();
    let cancel = CancelToken::new();
    let ctx = RunContext::new(&log, &cancel);
    let params = TsneParams {
        loss_every: 25,
        ..quick_params()
    };
    let model = fit(x, &params, &ctx).expect("fit");
    let losses = log.0.into_inner().expect("lock");
    let normal: Vec<f64> = losses
        .iter()
        .filter(|(s, _, _)| *s == "tsne:optimize")
        .map(|&(_, _, l)| l)
        .collect();
    let first = losses.first().expect("reports").2;
    assert!(normal.len() >= 10);
    assert!(
        normal.windows(2).all(|w| w[1] <= w[0] * 1.01),
        "normal-phase KL not falling: {normal:?}"
    );
    let last = *normal.last().expect("loss");
    assert!(last < 0.8 * first, "KL {first} → {last}");
    assert!((model.kl_divergence - last).abs() < 1e-12);
}

/// Layout of `n` points: a few dense clumps plus scattered points, `spread` units wide.
fn test_layout(n: usize, dim: usize, spread: f64, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let centres: Vec<f64> = (0..5 * dim)
        .map(|_| (rng.next_f64() - 0.5) * spread)
        .collect();
    (0..n)
        .flat_map(|i| {
            let c = i % 6;
            (0..dim)
                .map(|d| {
                    if c == 5 {
                        (rng.next_f64() - 0.5) * spread
                    } else {
                        centres[c * dim + d] + rng.normal() * spread * 0.03
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Relative error of the normalised repulsion F / Z against the exact one.
fn relative_error(exact_f: &[f64], exact_z: f64, f: &[f64], z: f64) -> f64 {
    let num: f64 = exact_f
        .iter()
        .zip(f)
        .map(|(a, b)| (a / exact_z - b / z).powi(2))
        .sum();
    let den: f64 = exact_f.iter().map(|a| (a / exact_z).powi(2)).sum();
    (num / den).sqrt()
}

#[test]
fn fft_and_barnes_hut_agree_with_exact_repulsion() {
    for (spread, dof) in [(10.0, 1.0), (60.0, 1.0), (30.0, 0.6)] {
        let y = test_layout(500, 2, spread, 6);
        let kernel = Kernel::new(dof);
        let mut fe = vec![0.0; y.len()];
        let ze = exact::repulsion(&y, 2, kernel, &mut fe);

        let mut fb = vec![0.0; y.len()];
        let zb = barnes_hut::repulsion::<2>(&y, kernel, 0.5, &mut fb);
        let eb = relative_error(&fe, ze, &fb, zb);
        assert!((zb / ze - 1.0).abs() < 0.02, "BH Z {zb} vs {ze}");
        assert!(
            eb < 0.05,
            "BH force error {eb} (spread {spread}, dof {dof})"
        );

        let mut engine = FftRepulsion::new(kernel, 3, 50, 200, 1.0);
        let mut ff = vec![0.0; y.len()];
        let zf = engine.repulsion(&y, &mut ff);
        let ef = relative_error(&fe, ze, &ff, zf);
        assert!((zf / ze - 1.0).abs() < 0.005, "FFT Z {zf} vs {ze}");
        // Boxes about one unit wide (spread 60) leave a few per cent of near-field error with
        // three nodes per box, as in FIt-SNE; more nodes per box shrink it.
        assert!(
            ef < 0.03,
            "FFT force error {ef} (spread {spread}, dof {dof})"
        );
        let mut fine = FftRepulsion::new(kernel, 5, 50, 200, 1.0);
        let mut f5 = vec![0.0; y.len()];
        let z5 = fine.repulsion(&y, &mut f5);
        let e5 = relative_error(&fe, ze, &f5, z5);
        assert!(e5 < ef.max(1e-4), "5 nodes {e5} vs 3 nodes {ef}");

        // θ = 0 opens every cell: Barnes-Hut becomes exact.
        let mut f0 = vec![0.0; y.len()];
        let z0 = barnes_hut::repulsion::<2>(&y, kernel, 0.0, &mut f0);
        assert!((z0 / ze - 1.0).abs() < 1e-9);
        assert!(relative_error(&fe, ze, &f0, z0) < 1e-9);
    }
    let y = test_layout(400, 3, 20.0, 7);
    let kernel = Kernel::new(1.0);
    let mut fe = vec![0.0; y.len()];
    let ze = exact::repulsion(&y, 3, kernel, &mut fe);
    let mut fb = vec![0.0; y.len()];
    let zb = barnes_hut::repulsion::<3>(&y, kernel, 0.5, &mut fb);
    assert!((zb / ze - 1.0).abs() < 0.02, "3D BH Z {zb} vs {ze}");
    let eb = relative_error(&fe, ze, &fb, zb);
    assert!(eb < 0.05, "3D BH force error {eb}");
}

#[test]
fn fft_reuses_kernel_transforms_while_the_grid_repeats() {
    let kernel = Kernel::new(1.0);
    let mut engine = FftRepulsion::new(kernel, 3, 50, 200, 1.0);
    let y = test_layout(300, 2, 20.0, 8);
    let mut out = vec![0.0; y.len()];
    engine.repulsion(&y, &mut out);
    // Stretch by 0.1 %: same grid rung, cached transforms reused.
    let y2: Vec<f64> = y.iter().map(|v| v * 1.001).collect();
    engine.repulsion(&y2, &mut out);
    assert_eq!((engine.cache_misses, engine.cache_hits), (1, 1));
    // A layout 30 times wider gets more boxes, but never more than the cap.
    let wide: Vec<f64> = y.iter().map(|v| v * 30.0).collect();
    engine.repulsion(&wide, &mut out);
    assert_eq!(engine.cache_misses, 2);
    assert!(out.iter().all(|v| v.is_finite()));
}

#[test]
fn affinities_match_the_perplexity_and_are_symmetric() {
    let (data, _) = blobs(50, 4, 5, 3.0, 9);
    let x = MatrixView::new(&data, 200, 5).expect("shape");
    let perplexity = 10.0;
    let graph = knn_graph(
        x,
        &KnnParams {
            k: 30,
            ..Default::default()
        },
        &RunContext::silent(),
    )
    .expect("knn");
    let cond = conditional_probabilities(&graph.distances, 30, perplexity);
    for row in cond.chunks(30) {
        let sum: f64 = row.iter().map(|&v| f64::from(v)).sum();
        let entropy: f64 = row
            .iter()
            .filter(|&&v| v > 0.0)
            .map(|&v| -f64::from(v) * f64::from(v).ln())
            .sum();
        assert!((sum - 1.0).abs() < 1e-4);
        assert!(
            (entropy.exp() - perplexity).abs() < 0.05,
            "perplexity {}",
            entropy.exp()
        );
    }
    let p = SparseAffinities::from_knn(&graph, perplexity, &RunContext::silent()).expect("P");
    let total: f64 = p.values.iter().map(|&v| f64::from(v)).sum();
    assert!((total - 1.0).abs() < 1e-4);
    let lookup = |i: usize, j: usize| -> f32 {
        let (cols, vals) = p.row(i);
        cols.iter()
            .position(|&c| c as usize == j)
            .map_or(0.0, |pos| vals[pos])
    };
    for i in 0..200 {
        let (cols, vals) = p.row(i);
        assert!(cols.windows(2).all(|w| w[0] < w[1]));
        for (&j, &v) in cols.iter().zip(vals) {
            assert!((lookup(j as usize, i) - v).abs() < 1e-9);
        }
    }
}

#[test]
fn degenerate_inputs_do_not_panic() {
    let ctx = RunContext::silent();
    let params = TsneParams {
        n_iter: 30,
        early_exaggeration_iter: 20,
        ..Default::default()
    };
    for n in [0usize, 1, 2, 3, 7] {
        let data: Vec<f32> = (0..n * 3).map(|i| (i % 5) as f32).collect();
        let x = MatrixView::new(&data, n, 3).expect("shape");
        let model = fit(x, &params, &ctx).expect("fit");
        assert_eq!(model.embedding.len(), n * 2);
        assert!(model.embedding.iter().all(|v| v.is_finite()), "n = {n}");
        assert!(model.perplexity <= (n.saturating_sub(1)) as f64 / 3.0 + 1e-12);
    }
    // All rows identical, and half of them duplicated, with every method.
    let same = vec![1.5f32; 40 * 4];
    let mut half: Vec<f32> = blobs(20, 2, 4, 3.0, 10).0;
    half.extend_from_slice(&half.clone());
    for data in [&same, &half] {
        let x = MatrixView::new(data, data.len() / 4, 4).expect("shape");
        for method in [
            NegativeGradientMethod::Exact,
            NegativeGradientMethod::BarnesHut,
            NegativeGradientMethod::Fft,
        ] {
            let p = TsneParams {
                negative_gradient_method: method,
                ..params.clone()
            };
            let model = fit(x, &p, &ctx).expect("fit");
            assert!(model.embedding.iter().all(|v| v.is_finite()), "{method:?}");
            assert!(model.kl_divergence.is_finite(), "{method:?}");
        }
    }
    // Bad parameters are errors that name the parameter.
    let x = MatrixView::new(&same, 40, 4).expect("shape");
    for (bad, word) in [
        (
            TsneParams {
                n_components: 4,
                ..Default::default()
            },
            "n_components",
        ),
        (
            TsneParams {
                perplexity: -1.0,
                ..Default::default()
            },
            "perplexity",
        ),
        (
            TsneParams {
                metric: Metric::InnerProduct,
                ..Default::default()
            },
            "metric",
        ),
    ] {
        match fit(x, &bad, &ctx) {
            Err(ComputeError::InvalidInput(msg)) => assert!(msg.contains(word), "{msg}"),
            other => panic!("expected an error naming {word}, got {other:?}"),
        }
    }
    let nan = [f32::NAN, 0.0, 1.0, 2.0];
    let x = MatrixView::new(&nan, 2, 2).expect("shape");
    assert!(fit(x, &params, &ctx).is_err());
}

struct CancelAt {
    token: CancelToken,
    at: u64,
}

impl ProgressSink for CancelAt {
    fn report(&self, p: &Progress<'_>) {
        if p.done >= self.at {
            self.token.cancel();
        }
    }
    fn wants_positions(&self, _stage: &'static str, done: u64) -> bool {
        done == 1
    }
}

#[test]
fn cancellation_stops_the_optimisation() {
    let (data, _) = blobs(40, 3, 4, 3.0, 11);
    let x = MatrixView::new(&data, 120, 4).expect("shape");
    let token = CancelToken::new();
    let sink = CancelAt {
        token: token.clone(),
        at: 5,
    };
    let ctx = RunContext::new(&sink, &token);
    assert_eq!(
        fit(x, &TsneParams::default(), &ctx),
        Err(ComputeError::Cancelled)
    );
}

#[test]
fn transform_places_new_rows_in_their_clusters() {
    let (data, labels) = blobs(80, 4, 8, 6.0, 12);
    // Train on the first 240 rows, place the last 80.
    let n_train = 240;
    let train = MatrixView::new(&data[..n_train * 8], n_train, 8).expect("shape");
    let new = MatrixView::new(&data[n_train * 8..], 80, 8).expect("shape");
    let model = fit(train, &quick_params(), &RunContext::silent()).expect("fit");
    let placed = model
        .transform(train, new, &RunContext::silent())
        .expect("transform");
    assert_eq!(placed.len(), 160);
    let mut all = model.embedding.clone();
    all.extend_from_slice(&placed);
    // Centroids from the training points only; every new point must sit by its own.
    let acc = centroid_accuracy(&all, 2, &labels);
    assert!(acc > 0.99, "accuracy with placed rows {acc}");
    let wrong_dim = MatrixView::new(&data[..80 * 4], 80, 4).expect("shape");
    assert!(
        model
            .transform(train, wrong_dim, &RunContext::silent())
            .is_err()
    );
}

/// Speed check on 70,000 × 50 (not a test: run with
/// `cargo test --release -p flatspace-compute tsne::tests::speed_70k -- --ignored --nocapture`).
#[test]
#[ignore = "speed check, minutes"]
fn speed_70k() {
    use std::time::Instant;
    let n_env = std::env::var("TSNE_SPEED_ROWS").ok();
    let n: usize = n_env.and_then(|v| v.parse().ok()).unwrap_or(70_000);
    let (data, labels) = blobs(n / 10, 10, 50, 1.5, 13);
    let x = MatrixView::new(&data, n, 50).expect("shape");
    let params = TsneParams::default();
    let ctx = RunContext::silent();
    let t = Instant::now();
    let graph = knn_graph(
        x,
        &KnnParams {
            k: params.n_neighbors(n),
            ..Default::default()
        },
        &ctx,
    )
    .expect("knn");
    let t_knn = t.elapsed();
    let t = Instant::now();
    let init = initial_layout(x, &params, &ctx).expect("init");
    let t_init = t.elapsed();
    let t = Instant::now();
    let p = SparseAffinities::from_knn(&graph, params.perplexity, &ctx).expect("P");
    let t_p = t.elapsed();
    let t = Instant::now();
    let model = fit_with_graph(&graph, &init, &params, &ctx).expect("fit");
    let t_fit = t.elapsed();
    // Per-iteration cost of each force on the final layout.
    let y: Vec<f64> = model.embedding.iter().map(|&v| f64::from(v)).collect();
    let kernel = Kernel::new(1.0);
    let mut out = vec![0.0; y.len()];
    let t = Instant::now();
    for _ in 0..10 {
        super::attraction::attraction(&y, 2, &p, kernel, &mut out);
    }
    let t_attr = t.elapsed() / 10;
    let mut engine = FftRepulsion::new(kernel, 3, 50, 200, 1.0);
    let t = Instant::now();
    for _ in 0..10 {
        engine.repulsion(&y, &mut out);
    }
    let t_rep = t.elapsed() / 10;
    let acc = centroid_accuracy(&model.embedding, 2, &labels);
    eprintln!(
        "n {n}: knn {t_knn:?}, pca init {t_init:?}, affinities {t_p:?} (nnz {}), optimise {t_fit:?} \
         (final layout: attraction {t_attr:?}/iter, FFT repulsion {t_rep:?}/iter), KL {:.4}, \
         centroid accuracy {acc:.4}, threads {}",
        p.nnz(),
        model.kl_divergence,
        rayon::current_num_threads()
    );
}

/// CPU seconds used by this process so far (user + system, from /proc; 0 elsewhere): timings
/// on a shared machine are fairer in CPU time than in wall time.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Per-iteration cost of the forces on a synthetic layout (not a test: run with
/// `cargo test --release -p flatspace-compute tsne::tests::force_speed -- --ignored --nocapture`).
#[test]
#[ignore = "speed check"]
fn force_speed() {
    use std::time::Instant;
    let n: usize = std::env::var("TSNE_SPEED_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(70_000);
    let (data, _) = blobs(n / 10, 10, 10, 1.5, 14);
    let x = MatrixView::new(&data, n, 10).expect("shape");
    let ctx = RunContext::silent();
    let graph = knn_graph(
        x,
        &KnnParams {
            k: 90,
            ..Default::default()
        },
        &ctx,
    )
    .expect("knn");
    let p = SparseAffinities::from_knn(&graph, 30.0, &ctx).expect("P");
    let y = test_layout(n, 2, 100.0, 15);
    let kernel = Kernel::new(1.0);
    let mut out = vec![0.0; y.len()];
    let (t, c) = (Instant::now(), cpu_seconds());
    for _ in 0..50 {
        super::attraction::attraction(&y, 2, &p, kernel, &mut out);
    }
    let t_attr = t.elapsed() / 50;
    let c_attr = (cpu_seconds() - c) / 50.0 * 1e3;
    let mut engine = FftRepulsion::new(kernel, 3, 50, 200, 1.0);
    engine.repulsion(&y, &mut out);
    let (t, c) = (Instant::now(), cpu_seconds());
    for _ in 0..50 {
        engine.repulsion(&y, &mut out);
    }
    let t_rep = t.elapsed() / 50;
    let c_rep = (cpu_seconds() - c) / 50.0 * 1e3;
    eprintln!(
        "n {n}, nnz {}: attraction {t_attr:?}/iter wall, {c_attr:.1} ms CPU; FFT repulsion \
         (100 boxes) {t_rep:?}/iter wall, {c_rep:.1} ms CPU; threads {}",
        p.nnz(),
        rayon::current_num_threads()
    );
}

/// From 4,096 rows the optimiser renumbers rows along the layout for cache locality: the
/// result must still come back in the caller's row order (labels would not match otherwise).
#[test]
fn renumbered_rows_come_back_in_the_callers_order() {
    let (data, labels) = blobs(1100, 4, 10, 6.0, 4);
    let x = MatrixView::new(&data, 4400, 10).expect("shape");
    let model = fit(x, &quick_params(), &RunContext::silent()).expect("fit");
    let acc = centroid_accuracy(&model.embedding, 2, &labels);
    assert!(acc > 0.99, "centroid accuracy {acc}");
}

/// Gains follow openTSNE's rule: +0.2 when the gradient opposes the last step (a zero last step
/// counts as opposing), ×0.8 + 0.01 otherwise, so a gain that keeps shrinking settles at 0.05.
#[test]
fn gains_follow_opentsnes_rule() {
    use super::optimizer::next_gain;
    assert_eq!(next_gain(1.0, 0.5, -0.1), 1.2);
    assert_eq!(next_gain(1.0, 0.5, 0.0), 1.2);
    assert!((next_gain(1.0, -0.5, -0.1) - 0.81).abs() < 1e-12);
    let mut g = 1.0;
    for _ in 0..200 {
        g = next_gain(g, 1.0, 1.0);
    }
    assert!((g - 0.05).abs() < 1e-9, "settled at {g}");
}
