//! `flatspace-bench`: runs one flatspace compute function on `.npy` inputs, writes its output as
//! `.npy`, and prints one JSON line with the parameters, the cost of the call and its quality.
//! `bench/run.py` calls it in a fresh process per measurement, next to the peers; the `metrics`
//! and `knn-recall` subcommands score ours and the peers' outputs with the same code.

mod measure;
mod npy;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use flatspace_compute::{CancelToken, MatrixView, Metric, RunContext};
use serde_json::{Value, json};

use crate::measure::{Cost, StageClock, measure, peak_rss_mib};

#[derive(Parser)]
#[command(
    name = "flatspace-bench",
    about = "Benchmark driver: one flatspace compute call on .npy inputs, one JSON line out"
)]
struct Cli {
    /// Worker threads (default: RAYON_NUM_THREADS, else all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the tasks this build can run, as JSON.
    Capabilities,
    /// Principal components of the rows of INPUT.
    Pca {
        #[arg(long)]
        input: PathBuf,
        #[arg(long, default_value_t = 2)]
        n_components: usize,
        /// auto, covariance or randomized.
        #[arg(long, default_value = "auto")]
        solver: String,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Where to write the n_rows × n_components projection.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// k nearest neighbours of every row of INPUT (itself excluded).
    Knn {
        #[arg(long)]
        input: PathBuf,
        #[arg(long, default_value_t = 15)]
        k: usize,
        /// euclidean, cosine or inner_product.
        #[arg(long, default_value = "euclidean")]
        metric: String,
        /// auto, exact or approx.
        #[arg(long, default_value = "auto")]
        method: String,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Where to write the n_rows × k neighbour indices (int32).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Exact neighbour indices to score recall against.
        #[arg(long)]
        truth: Option<PathBuf>,
    },
    /// UMAP layout of the rows of INPUT, end to end (kNN graph included).
    Umap {
        #[arg(long)]
        input: PathBuf,
        #[arg(long, default_value_t = 15)]
        n_neighbors: usize,
        #[arg(long, default_value_t = 0.1)]
        min_dist: f32,
        #[arg(long, default_value_t = 1.0)]
        spread: f32,
        #[arg(long, default_value_t = 2)]
        n_components: usize,
        /// euclidean or cosine.
        #[arg(long, default_value = "euclidean")]
        metric: String,
        /// Epochs (default: umap-learn's rule, 200 above 10,000 rows, else 500).
        #[arg(long)]
        n_epochs: Option<usize>,
        /// spectral, pca or random.
        #[arg(long, default_value = "spectral")]
        init: String,
        /// deterministic (same layout on any thread count) or hogwild (lock-free).
        #[arg(long, default_value = "deterministic")]
        mode: String,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Where to write the n_rows × n_components layout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// t-SNE layout of the rows of INPUT, end to end (kNN graph and affinities included).
    Tsne {
        #[arg(long)]
        input: PathBuf,
        #[arg(long, default_value_t = 30.0)]
        perplexity: f64,
        /// Iterations of the normal phase after early exaggeration (openTSNE's n_iter).
        #[arg(long, default_value_t = 500)]
        n_iter: usize,
        #[arg(long, default_value_t = 2)]
        n_components: usize,
        /// euclidean or cosine.
        #[arg(long, default_value = "euclidean")]
        metric: String,
        /// auto, fft, bh or exact.
        #[arg(long, default_value = "auto")]
        negative_gradient_method: String,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// kNN graph behind the affinities: auto, exact or approx.
        #[arg(long, default_value = "auto")]
        knn_method: String,
        /// Where to write the n_rows × n_components layout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Quality of a layout LOW (n × c) of the rows HIGH (n × d): kNN recall@k,
    /// trustworthiness@k, continuity@k, kNN-classifier accuracy (with LABELS) and the Spearman
    /// correlation of pairwise distances. Scores ours and the peers' layouts alike.
    Metrics {
        #[arg(long)]
        high: PathBuf,
        #[arg(long)]
        low: PathBuf,
        /// One integer class label per row.
        #[arg(long)]
        labels: Option<PathBuf>,
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Metric of HIGH: euclidean, cosine or inner_product.
        #[arg(long, default_value = "euclidean")]
        metric: String,
        /// Query rows the neighbourhood metrics are averaged over (seeded sample; all rows
        /// when the table has fewer; 0 = all rows).
        #[arg(long, default_value_t = 5000)]
        sample: usize,
        /// Random pairs for the distance rank correlation.
        #[arg(long, default_value_t = 100_000)]
        pairs: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Recall of one kNN index file against another (both n_rows × k, self excluded).
    KnnRecall {
        #[arg(long)]
        truth: PathBuf,
        #[arg(long)]
        pred: PathBuf,
        /// Score the first K columns of each (default: all columns of the narrower file).
        #[arg(long)]
        k: Option<usize>,
        /// The rows both graphs were built from: also reports recall with ties counted (a
        /// predicted neighbour no farther than the true k-th one is a hit), as ann-benchmarks
        /// does, since rows at equal distance make the set-based recall depend on tie order.
        #[arg(long)]
        input: Option<PathBuf>,
    },
}

fn main() {
    if let Err(err) = run() {
        eprintln!("flatspace-bench: error: {err:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    if let Some(threads) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .context("configuring the thread pool")?;
    }
    let line = match cli.command {
        Command::Capabilities => json!({
            "tasks": ["pca", "knn", "umap", "tsne", "knn-recall", "metrics"],
            "version": env!("CARGO_PKG_VERSION"),
        }),
        Command::Pca {
            input,
            n_components,
            solver,
            seed,
            out,
        } => run_pca(&input, n_components, &solver, seed, out.as_deref())?,
        Command::Knn {
            input,
            k,
            metric,
            method,
            seed,
            out,
            truth,
        } => run_knn(
            &input,
            k,
            &metric,
            &method,
            seed,
            out.as_deref(),
            truth.as_deref(),
        )?,
        Command::Umap {
            input,
            n_neighbors,
            min_dist,
            spread,
            n_components,
            metric,
            n_epochs,
            init,
            mode,
            seed,
            out,
        } => {
            use flatspace_compute::umap::UmapParams;
            let params = UmapParams {
                n_neighbors,
                min_dist,
                spread,
                n_components,
                metric: metric.parse().context("--metric")?,
                n_epochs,
                init: init.parse().context("--init")?,
                mode: mode.parse().context("--mode")?,
                seed,
                ..Default::default()
            };
            run_umap(&input, &params, out.as_deref())?
        }
        Command::Tsne {
            input,
            perplexity,
            n_iter,
            n_components,
            metric,
            negative_gradient_method,
            seed,
            knn_method,
            out,
        } => {
            use flatspace_compute::tsne::TsneParams;
            let params = TsneParams {
                perplexity,
                n_iter,
                n_components,
                metric: metric.parse().context("--metric")?,
                negative_gradient_method: negative_gradient_method
                    .parse()
                    .context("--negative-gradient-method")?,
                seed,
                knn_method: knn_method_named(&knn_method)?,
                ..Default::default()
            };
            run_tsne(&input, &params, out.as_deref())?
        }
        Command::Metrics {
            high,
            low,
            labels,
            k,
            metric,
            sample,
            pairs,
            seed,
        } => run_metrics(
            &high,
            &low,
            labels.as_deref(),
            k,
            &metric,
            sample,
            pairs,
            seed,
        )?,
        Command::KnnRecall {
            truth,
            pred,
            k,
            input,
        } => {
            let (n_t, k_t, t) = npy::read_indices(&truth, None)?;
            let (n_p, k_p, p) = npy::read_indices(&pred, Some(n_t))?;
            if n_t != n_p {
                bail!(
                    "{} has {n_t} rows but {} has {n_p}",
                    truth.display(),
                    pred.display()
                );
            }
            let k = k.unwrap_or(k_t.min(k_p));
            if k == 0 || k > k_t || k > k_p {
                bail!("--k {k} must be between 1 and both files' widths ({k_t}, {k_p})");
            }
            let strict = graph_recall(&t, k_t, &p, k_p, k);
            let with_ties = match input {
                Some(path) => {
                    let m = npy::read_matrix(&path)?;
                    if m.n_rows != n_t {
                        bail!("{} has {} rows, the graphs {n_t}", path.display(), m.n_rows);
                    }
                    Some(tie_aware_recall(&m, &t, k_t, &p, k_p, k))
                }
                None => None,
            };
            json!({
                "task": "knn-recall",
                "k": k,
                "n_rows": n_t,
                "recall_strict": strict,
                "recall": with_ties.unwrap_or(strict),
                "ties_counted": with_ties.is_some(),
            })
        }
    };
    println!("{line}");
    Ok(())
}

/// Loads INPUT as a matrix and reports how long loading took (left out of the measured call).
fn load(input: &Path) -> Result<(npy::Matrix, f64)> {
    let t0 = std::time::Instant::now();
    let m = npy::read_matrix(input)?;
    Ok((m, t0.elapsed().as_secs_f64()))
}

fn view(m: &npy::Matrix) -> Result<MatrixView<'_>> {
    MatrixView::new(&m.data, m.n_rows, m.dim).context("input matrix shape")
}

/// The fields every run line carries.
fn header(task: &str, input: &Path, m: &npy::Matrix, load_s: f64, cost: Cost) -> Value {
    json!({
        "task": task,
        "impl": "flatspace",
        "input": input.display().to_string(),
        "n_rows": m.n_rows,
        "dim": m.dim,
        "threads": rayon::current_num_threads(),
        "load_s": load_s,
        "wall_s": cost.wall_s,
        "cpu_s": cost.cpu_s,
        "user_s": cost.user_s,
        "sys_s": cost.sys_s,
        "peak_rss_mib": peak_rss_mib(),
    })
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    base
}

fn run_pca(
    input: &Path,
    n_components: usize,
    solver: &str,
    seed: u64,
    out: Option<&Path>,
) -> Result<Value> {
    use flatspace_compute::pca::{PcaParams, PcaSolver, pca};
    let solver = match solver {
        "auto" => PcaSolver::Auto,
        "covariance" => PcaSolver::Covariance,
        "randomized" => PcaSolver::Randomized,
        other => bail!("--solver {other:?}: expected auto, covariance or randomized"),
    };
    let (m, load_s) = load(input)?;
    let x = view(&m)?;
    let params = PcaParams {
        n_components,
        solver,
        seed,
        ..Default::default()
    };
    let (result, cost) = measure(|| pca(x, &params, &RunContext::silent()));
    let result = result.with_context(|| format!("PCA of {}", input.display()))?;
    if let Some(out) = out {
        npy::write_f32(out, &result.coords, result.n_rows, result.n_components)?;
    }
    Ok(merge(
        header("pca", input, &m, load_s, cost),
        json!({
            "params": {"n_components": n_components, "solver": format!("{solver:?}").to_lowercase(), "seed": seed},
            "explained_variance_ratio": result.explained_variance_ratio,
        }),
    ))
}

fn knn_method_named(name: &str) -> Result<flatspace_compute::knn::KnnMethod> {
    use flatspace_compute::knn::KnnMethod;
    Ok(match name {
        "auto" => KnnMethod::Auto,
        "exact" => KnnMethod::Exact,
        "approx" | "nndescent" => KnnMethod::NnDescent,
        other => bail!("kNN method {other:?}: expected auto, exact or approx"),
    })
}

#[allow(clippy::too_many_arguments)]
fn run_knn(
    input: &Path,
    k: usize,
    metric: &str,
    method: &str,
    seed: u64,
    out: Option<&Path>,
    truth: Option<&Path>,
) -> Result<Value> {
    use flatspace_compute::knn::{KnnParams, knn_graph};
    let metric: Metric = metric.parse().context("--metric")?;
    let method = knn_method_named(method)?;
    let (m, load_s) = load(input)?;
    let x = view(&m)?;
    let params = KnnParams {
        k,
        metric,
        method,
        seed,
    };
    let (graph, cost) = measure(|| knn_graph(x, &params, &RunContext::silent()));
    let graph = graph.with_context(|| format!("kNN graph of {}", input.display()))?;
    if let Some(out) = out {
        npy::write_indices(out, &graph.indices, graph.n_rows, graph.k)?;
    }
    let recall = match truth {
        Some(path) => {
            let (n_t, k_t, t) = npy::read_indices(path, Some(m.n_rows))?;
            if n_t != graph.n_rows {
                bail!(
                    "{} has {n_t} rows, the input has {}",
                    path.display(),
                    graph.n_rows
                );
            }
            let kk = k_t.min(graph.k);
            json!(graph_recall(&t, k_t, &graph.indices, graph.k, kk))
        }
        None => Value::Null,
    };
    Ok(merge(
        header("knn", input, &m, load_s, cost),
        json!({
            "params": {"k": graph.k, "metric": format!("{metric:?}").to_lowercase(), "method": format!("{method:?}").to_lowercase(), "seed": seed},
            "recall": recall,
        }),
    ))
}

fn run_umap(
    input: &Path,
    params: &flatspace_compute::umap::UmapParams,
    out: Option<&Path>,
) -> Result<Value> {
    let (m, load_s) = load(input)?;
    let x = view(&m)?;
    let clock = StageClock::default();
    let cancel = CancelToken::new();
    let (model, cost) =
        measure(|| flatspace_compute::umap::fit(x, params, &RunContext::new(&clock, &cancel)));
    let model = model.with_context(|| format!("UMAP of {}", input.display()))?;
    if let Some(out) = out {
        npy::write_f32(out, &model.embedding, model.n_rows, model.n_components)?;
    }
    Ok(merge(
        header("umap", input, &m, load_s, cost),
        json!({
            "params": {
                "n_neighbors": params.n_neighbors,
                "min_dist": params.min_dist,
                "spread": params.spread,
                "n_components": params.n_components,
                "metric": format!("{:?}", params.metric).to_lowercase(),
                "n_epochs": model.n_epochs,
                "init": format!("{:?}", params.init).to_lowercase(),
                "mode": format!("{:?}", params.mode).to_lowercase(),
                "a": model.a,
                "b": model.b,
                "seed": params.seed,
            },
            "stages": clock.summary(),
        }),
    ))
}

fn run_tsne(
    input: &Path,
    params: &flatspace_compute::tsne::TsneParams,
    out: Option<&Path>,
) -> Result<Value> {
    let (m, load_s) = load(input)?;
    let x = view(&m)?;
    let clock = StageClock::default();
    let cancel = CancelToken::new();
    let (model, cost) =
        measure(|| flatspace_compute::tsne::fit(x, params, &RunContext::new(&clock, &cancel)));
    let model = model.with_context(|| format!("t-SNE of {}", input.display()))?;
    if let Some(out) = out {
        npy::write_f32(out, &model.embedding, model.n_rows, model.n_components)?;
    }
    Ok(merge(
        header("tsne", input, &m, load_s, cost),
        json!({
            "params": {
                "perplexity": model.perplexity,
                "n_iter": params.n_iter,
                "n_components": params.n_components,
                "metric": format!("{:?}", params.metric).to_lowercase(),
                "negative_gradient_method": format!("{:?}", model.method).to_lowercase(),
                "seed": params.seed,
            },
            "kl_divergence": model.kl_divergence,
            "stages": clock.summary(),
        }),
    ))
}

#[allow(clippy::too_many_arguments)]
fn run_metrics(
    high: &Path,
    low: &Path,
    labels: Option<&Path>,
    k: usize,
    metric: &str,
    sample: usize,
    pairs: usize,
    seed: u64,
) -> Result<Value> {
    use flatspace_compute::metrics::{QualityParams, quality_report};
    let metric: Metric = metric.parse().context("--metric")?;
    let (h, _) = load(high)?;
    let (l, _) = load(low)?;
    if h.n_rows != l.n_rows {
        bail!(
            "{} has {} rows but {} has {}",
            high.display(),
            h.n_rows,
            low.display(),
            l.n_rows
        );
    }
    let labels = match labels {
        Some(path) => {
            let raw = npy::read_labels(path)?;
            if raw.len() != h.n_rows {
                bail!(
                    "{} holds {} labels for {} rows",
                    path.display(),
                    raw.len(),
                    h.n_rows
                );
            }
            Some(dense_codes(&raw))
        }
        None => None,
    };
    let params = QualityParams {
        k,
        metric,
        max_query_rows: if sample == 0 { h.n_rows } else { sample },
        n_pairs: pairs,
        seed,
    };
    let (report, cost) = measure(|| {
        quality_report(
            view(&h)?,
            view(&l)?,
            labels.as_deref(),
            &params,
            &RunContext::silent(),
        )
        .context("quality metrics")
    });
    let report = report?;
    Ok(json!({
        "task": "metrics",
        "high": high.display().to_string(),
        "low": low.display().to_string(),
        "n_rows": report.n_rows,
        "k": report.k,
        "n_query_rows": report.n_query_rows,
        "seed": seed,
        "knn_recall": report.knn_recall,
        "trustworthiness": report.trustworthiness,
        "continuity": report.continuity,
        "knn_accuracy": report.knn_accuracy,
        "distance_spearman": report.distance_spearman,
        "wall_s": cost.wall_s,
    }))
}

/// Labels as dense codes 0..n_classes in order of value (negative labels are fine).
fn dense_codes(labels: &[i64]) -> Vec<u32> {
    let mut distinct = labels.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    labels
        .iter()
        .map(|v| distinct.binary_search(v).map_or(u32::MAX, |c| c as u32))
        .collect()
}

/// Mean over rows of |truth_k ∩ pred_k| / k, comparing the first `k` columns of each.
fn graph_recall(truth: &[u32], k_truth: usize, pred: &[u32], k_pred: usize, k: usize) -> f64 {
    let n = truth.len() / k_truth.max(1);
    if n == 0 || k == 0 {
        return f64::NAN;
    }
    let mut hits = 0usize;
    let mut row_truth: Vec<u32> = Vec::with_capacity(k);
    for i in 0..n {
        row_truth.clear();
        row_truth.extend_from_slice(&truth[i * k_truth..i * k_truth + k]);
        row_truth.sort_unstable();
        hits += pred[i * k_pred..i * k_pred + k]
            .iter()
            .filter(|j| row_truth.binary_search(j).is_ok())
            .count();
    }
    hits as f64 / (n * k) as f64
}

/// Euclidean distance in f64, so equal distances compare equal whatever the summation order.
fn exact_distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = x as f64 - y as f64;
            d * d
        })
        .sum::<f64>()
        .sqrt()
}

/// Share of predicted neighbours (first `k` columns, never the row itself) no farther from their
/// row than the farthest of its first `k` true neighbours (relative slack 1e-6).
fn tie_aware_recall(
    x: &npy::Matrix,
    truth: &[u32],
    k_truth: usize,
    pred: &[u32],
    k_pred: usize,
    k: usize,
) -> f64 {
    use rayon::prelude::*;
    let n = x.n_rows;
    if n == 0 || k == 0 {
        return f64::NAN;
    }
    let row = |i: usize| &x.data[i * x.dim..(i + 1) * x.dim];
    let hits: usize = (0..n)
        .into_par_iter()
        .map(|i| {
            let kth = truth[i * k_truth..i * k_truth + k]
                .iter()
                .map(|&j| exact_distance(row(i), row(j as usize)))
                .fold(0.0, f64::max);
            pred[i * k_pred..i * k_pred + k]
                .iter()
                .filter(|&&j| {
                    j as usize != i && exact_distance(row(i), row(j as usize)) <= kth * (1.0 + 1e-6)
                })
                .count()
        })
        .sum();
    hits as f64 / (n * k) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_recall_counts_shared_neighbours_per_row() {
        // Row 0 shares {1, 2} of {1, 2}; row 1 shares {2} of {0, 2}; order does not matter.
        let truth = [1, 2, 0, 2];
        let pred = [2, 1, 3, 2];
        assert!((graph_recall(&truth, 2, &pred, 2, 2) - 0.75).abs() < 1e-12);
        // Only the first column of a wider prediction.
        let wide = [1, 9, 9, 9, 2, 9];
        assert!((graph_recall(&[1, 2], 1, &wide, 3, 1) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn tie_aware_recall_accepts_equidistant_neighbours_only() {
        // Points on a line: 0, 1, -1, 2. Row 0's nearest is at distance 1, twice (rows 1 and 2).
        let x = npy::Matrix {
            n_rows: 4,
            dim: 1,
            data: vec![0.0, 1.0, -1.0, 2.0],
        };
        let truth = [1, 0, 0, 1]; // k = 1; row 2's true nearest is 0, row 3's is 1
        let tied = [2, 0, 0, 1]; // row 0 names the other equidistant point
        assert!((tie_aware_recall(&x, &truth, 1, &tied, 1, 1) - 1.0).abs() < 1e-12);
        assert!((graph_recall(&truth, 1, &tied, 1, 1) - 0.75).abs() < 1e-12);
        let wrong = [3, 0, 0, 3]; // row 0 names a farther point; row 3 names itself
        assert!((tie_aware_recall(&x, &truth, 1, &wrong, 1, 1) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn dense_codes_keep_classes_apart_and_ordered() {
        assert_eq!(dense_codes(&[7, -1, 7, 3]), vec![2, 0, 2, 1]);
    }
}
