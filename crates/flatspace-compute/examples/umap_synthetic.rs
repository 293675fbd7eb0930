//! Times UMAP on a synthetic Gaussian mixture (default 70,000 × 50, 10 clusters) and prints
//! the time per stage, plus the 2D kNN-classifier accuracy on a sample of rows.
//!
//! `cargo run --release -p flatspace-compute --example umap_synthetic -- [n_rows] [dim] [hogwild]`

use std::sync::Mutex;
use std::time::Instant;

use flatspace_compute::knn::{KnnParams, knn_graph};
use flatspace_compute::rng::Rng;
use flatspace_compute::umap::{self, OptimizeMode, UmapParams};
use flatspace_compute::{CancelToken, MatrixView, Progress, ProgressSink, RunContext};

/// Prints the elapsed time when each stage first reports.
struct StageClock {
    start: Instant,
    last: Mutex<&'static str>,
}

impl ProgressSink for StageClock {
    fn report(&self, p: &Progress<'_>) {
        let mut last = self.last.lock().expect("clock lock");
        if *last != p.stage {
            eprintln!("{:>8.2}s  {}", self.start.elapsed().as_secs_f64(), p.stage);
            *last = p.stage;
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(Ok(70_000), |s| s.parse())?;
    let dim: usize = args.get(2).map_or(Ok(50), |s| s.parse())?;
    let mode = match args.get(3).map(String::as_str) {
        Some("hogwild") => OptimizeMode::Hogwild,
        _ => OptimizeMode::Deterministic,
    };
    let n_clusters = 10;
    let mut rng = Rng::new(1);
    let centres: Vec<f64> = (0..n_clusters * dim).map(|_| rng.normal() * 2.0).collect();
    let mut data = Vec::with_capacity(n * dim);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % n_clusters;
        labels.push(c);
        for d in 0..dim {
            data.push((centres[c * dim + d] + rng.normal()) as f32);
        }
    }
    let x = MatrixView::new(&data, n, dim)?;
    let params = UmapParams {
        mode,
        ..Default::default()
    };
    let clock = StageClock {
        start: Instant::now(),
        last: Mutex::new(""),
    };
    let cancel = CancelToken::new();
    let ctx = RunContext::new(&clock, &cancel);
    let t0 = Instant::now();
    let graph = knn_graph(
        x,
        &KnnParams {
            k: params.n_neighbors - 1,
            metric: params.metric,
            method: params.knn_method,
            seed: params.seed,
        },
        &ctx,
    )?;
    let t_knn = t0.elapsed().as_secs_f64();
    let fuzzy = umap::fuzzy_graph(&graph, &params)?;
    let max_w = fuzzy.max_value();
    let positive_per_epoch: f64 = fuzzy.vals.iter().map(|&w| f64::from(w / max_w)).sum();
    eprintln!(
        "fuzzy graph: {} edges, {:.0} positive samples per epoch",
        fuzzy.nnz(),
        positive_per_epoch
    );
    let t1 = Instant::now();
    let model = umap::fit_with_graph(x, &graph, &params, &ctx)?;
    let t_umap = t1.elapsed().as_secs_f64();
    // kNN-classifier accuracy (k = 10) on the layout for a sample of 2,000 rows.
    let emb = &model.embedding;
    let sample: Vec<usize> = (0..n).step_by((n / 2000).max(1)).collect();
    let mut correct = 0;
    for &i in &sample {
        let mut d: Vec<(f32, usize)> = (0..n)
            .filter(|&j| j != i)
            .map(|j| {
                let dx = emb[i * 2] - emb[j * 2];
                let dy = emb[i * 2 + 1] - emb[j * 2 + 1];
                (dx * dx + dy * dy, j)
            })
            .collect();
        d.select_nth_unstable_by(10, |a, b| a.0.total_cmp(&b.0));
        let mut votes = vec![0; n_clusters];
        for &(_, j) in &d[..10] {
            votes[labels[j]] += 1;
        }
        let best = (0..n_clusters).max_by_key(|&c| votes[c]).unwrap_or(0);
        if best == labels[i] {
            correct += 1;
        }
    }
    println!(
        "n={n} dim={dim} mode={mode:?} threads={} knn_s={t_knn:.2} umap_s={t_umap:.2} total_s={:.2} knn_acc={:.4}",
        rayon::current_num_threads(),
        t_knn + t_umap,
        correct as f64 / sample.len() as f64
    );
    Ok(())
}
