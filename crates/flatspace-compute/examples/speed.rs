use flatspace_compute::knn::{KnnMethod, KnnParams, knn_graph};
use flatspace_compute::pca::{PcaParams, PcaSolver, pca};
use flatspace_compute::{KnnGraph, MatrixView, Metric, RunContext};
use std::time::Instant;

fn load(path: &str) -> (Vec<f32>, usize, usize) {
    let bytes = std::fs::read(path).expect("read");
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + hlen]).expect("hdr");
    let shape = &header[header.find("'shape': (").expect("shape") + 10..];
    let shape = &shape[..shape.find(')').expect(")")];
    let dims: Vec<usize> = shape
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().expect("n"))
        .collect();
    let data: Vec<f32> = bytes[10 + hlen..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (data, dims[0], dims[1])
}

fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").expect("stat");
    let f: Vec<&str> = s[s.rfind(')').expect(")") + 2..].split(' ').collect();
    (f[11].parse::<f64>().expect("u") + f[12].parse::<f64>().expect("s")) / 100.0
}

fn recall(t: &KnnGraph, a: &KnnGraph) -> f64 {
    let mut hits = 0;
    for i in 0..t.n_rows {
        hits += t
            .neighbors(i)
            .iter()
            .filter(|j| a.neighbors(i).contains(j))
            .count();
    }
    hits as f64 / (t.n_rows * t.k) as f64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (data, n, d) = load(&args[2]);
    let x = MatrixView::new(&data, n, d).expect("view");
    let ctx = RunContext::silent();
    match args[1].as_str() {
        "knn" => {
            let k: usize = args[3].parse().expect("k");
            let method = match args[4].as_str() {
                "exact" => KnnMethod::Exact,
                "nnd" => KnnMethod::NnDescent,
                _ => KnnMethod::Auto,
            };
            let metric: Metric = args
                .get(5)
                .map(|s| s.parse().expect("metric"))
                .unwrap_or_default();
            let p = KnnParams {
                k,
                metric,
                method,
                seed: 42,
            };
            let (w, c) = (Instant::now(), cpu());
            let g = knn_graph(x, &p, &ctx).expect("knn");
            println!(
                "{} {:?} n={n} d={d} k={k}: wall {:.2}s cpu {:.2}s",
                args[1],
                method,
                w.elapsed().as_secs_f64(),
                cpu() - c
            );
            let truth_path = format!("{}.truth{k}.{:?}.bin", args[2], metric);
            if method == KnnMethod::Exact {
                let bytes: Vec<u8> = g.indices.iter().flat_map(|v| v.to_le_bytes()).collect();
                std::fs::write(&truth_path, bytes).expect("write");
            } else if args.get(6).map(String::as_str) == Some("sample") {
                let mut hits = 0;
                let rows: Vec<usize> = (0..500).map(|i| i * (n / 500)).collect();
                for &i in &rows {
                    let mut c: Vec<(f32, u32)> = (0..n)
                        .filter(|&j| j != i)
                        .map(|j| {
                            (
                                flatspace_compute::knn::distance(metric, x.row(i), x.row(j)),
                                j as u32,
                            )
                        })
                        .collect();
                    c.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    hits += c[..k]
                        .iter()
                        .filter(|(_, j)| g.neighbors(i).contains(j))
                        .count();
                }
                println!("sampled recall {:.4}", hits as f64 / (500 * k) as f64);
            } else if let Ok(b) = std::fs::read(&truth_path) {
                let idx: Vec<u32> = b
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                let t = KnnGraph {
                    n_rows: n,
                    k,
                    indices: idx,
                    distances: vec![0.0; n * k],
                };
                println!("recall {:.4}", recall(&t, &g));
            }
        }
        "pca" => {
            let comps: usize = args[3].parse().expect("c");
            let solver = match args[4].as_str() {
                "cov" => PcaSolver::Covariance,
                "rand" => PcaSolver::Randomized,
                _ => PcaSolver::Auto,
            };
            let p = PcaParams {
                n_components: comps,
                solver,
                ..Default::default()
            };
            let (w, c) = (Instant::now(), cpu());
            let r = pca(x, &p, &ctx).expect("pca");
            println!(
                "pca {solver:?} n={n} d={d}: wall {:.3}s cpu {:.3}s evr {:?}",
                w.elapsed().as_secs_f64(),
                cpu() - c,
                r.explained_variance_ratio
            );
        }
        _ => panic!("mode"),
    }
}
