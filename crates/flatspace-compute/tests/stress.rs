//! Algorithms under stress: one row, two rows, all-identical rows, duplicated points, dimension 1,
//! values near the f32 limits (huge, tiny, subnormal, mixed scales), NaN and infinity. Every call
//! of PCA, kNN (exact and NN-descent, euclidean and cosine), UMAP and t-SNE must return either a
//! result whose every number is finite and whose shape is right, or `InvalidInput` with a message;
//! never panic. Where the answer is known (duplicates are at distance 0, identical rows project to
//! one point) it is checked.

use std::panic::{AssertUnwindSafe, catch_unwind};

use flatspace_compute::knn::{KnnMethod, KnnParams, knn_graph};
use flatspace_compute::pca::{PcaParams, pca};
use flatspace_compute::tsne::{TsneParams, fit as tsne_fit};
use flatspace_compute::umap::{UmapParams, fit as umap_fit};
use flatspace_compute::{ComputeError, MatrixView, Metric, RunContext};

struct Case {
    name: &'static str,
    n: usize,
    d: usize,
    data: Vec<f32>,
}

/// Deterministic values in [-1, 1).
fn noise(n: usize, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32) * 2.0 - 1.0
        })
        .collect()
}

fn cases() -> Vec<Case> {
    let base = noise(30 * 4, 7);
    let duplicated: Vec<f32> = (0..3).flat_map(|_| base.iter().copied()).collect();
    vec![
        Case {
            name: "one row",
            n: 1,
            d: 5,
            data: noise(5, 1),
        },
        Case {
            name: "two rows",
            n: 2,
            d: 3,
            data: noise(6, 2),
        },
        Case {
            name: "all identical rows",
            n: 50,
            d: 4,
            data: vec![1.5; 200],
        },
        Case {
            name: "all zero rows",
            n: 40,
            d: 3,
            data: vec![0.0; 120],
        },
        Case {
            name: "each point three times",
            n: 90,
            d: 4,
            data: duplicated,
        },
        Case {
            name: "two distinct points",
            n: 60,
            d: 2,
            data: (0..60).flat_map(|i| [(i % 2) as f32, 0.0]).collect(),
        },
        Case {
            name: "dimension 1",
            n: 80,
            d: 1,
            data: noise(80, 3),
        },
        Case {
            name: "huge values (1e30)",
            n: 60,
            d: 3,
            data: noise(180, 4).iter().map(|v| v * 1e30).collect(),
        },
        Case {
            name: "near f32::MAX",
            n: 60,
            d: 2,
            data: noise(120, 5).iter().map(|v| v * 3.0e38).collect(),
        },
        Case {
            name: "tiny values (1e-30)",
            n: 60,
            d: 3,
            data: noise(180, 6).iter().map(|v| v * 1e-30).collect(),
        },
        Case {
            name: "subnormal values",
            n: 60,
            d: 3,
            data: noise(180, 8).iter().map(|v| v * 1e-40).collect(),
        },
        Case {
            name: "mixed scales",
            n: 60,
            d: 2,
            data: noise(120, 9)
                .chunks(2)
                .flat_map(|p| [p[0] * 1e30, p[1] * 1e-30])
                .collect(),
        },
    ]
}

/// A call's outcome, checked: Ok(numbers) must all be finite and `expected_len` long.
fn check(
    failures: &mut Vec<String>,
    what: &str,
    expected_len: usize,
    run: impl FnOnce() -> Result<Vec<f32>, ComputeError>,
) -> Option<Vec<f32>> {
    match catch_unwind(AssertUnwindSafe(run)) {
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!("{what}: panicked: {message}"));
            None
        }
        Ok(Err(ComputeError::InvalidInput(message))) => {
            if message.trim().is_empty() {
                failures.push(format!("{what}: an error without a message"));
            }
            None
        }
        Ok(Err(e)) => {
            failures.push(format!("{what}: unexpected error {e}"));
            None
        }
        Ok(Ok(values)) => {
            // usize::MAX: the caller checks the length itself.
            if expected_len != usize::MAX && values.len() != expected_len {
                failures.push(format!(
                    "{what}: {} values, expected {expected_len}",
                    values.len()
                ));
            }
            if let Some(bad) = values.iter().position(|v| !v.is_finite()) {
                failures.push(format!("{what}: value {bad} is {}", values[bad]));
            }
            Some(values)
        }
    }
}

fn spread(coords: &[f32]) -> f32 {
    let lo = coords.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = coords.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    hi - lo
}

#[test]
fn every_algorithm_survives_degenerate_inputs() {
    let ctx = RunContext::silent();
    let mut failures = Vec::new();
    for case in cases() {
        let x = MatrixView::new(&case.data, case.n, case.d).expect("view");
        let name = case.name;

        let coords = check(&mut failures, &format!("{name}: pca"), case.n * 2, || {
            pca(x, &PcaParams::default(), &ctx).map(|r| r.coords)
        });
        if name == "all identical rows"
            && let Some(c) = coords
            && spread(&c) > 1e-5
        {
            failures.push(format!("{name}: pca spread {} for one point", spread(&c)));
        }

        for method in [KnnMethod::Exact, KnnMethod::NnDescent] {
            for metric in [Metric::Euclidean, Metric::Cosine] {
                let k = 5;
                let params = KnnParams {
                    k,
                    metric,
                    method,
                    seed: 1,
                };
                let what = format!("{name}: knn {method:?} {metric:?}");
                let mut graph = None;
                let distances = check(&mut failures, &what, usize::MAX, || {
                    knn_graph(x, &params, &ctx).map(|g| {
                        let d = g.distances.clone();
                        graph = Some(g);
                        d
                    })
                });
                if let (Some(g), Some(d)) = (&graph, &distances) {
                    // One row has no neighbours (k = 0); otherwise 1 ≤ k < n.
                    let k_ok = if case.n == 1 {
                        g.k == 0
                    } else {
                        g.k >= 1 && g.k < case.n
                    };
                    if g.n_rows != case.n || d.len() != g.n_rows * g.k || !k_ok {
                        failures.push(format!(
                            "{what}: graph of {} rows × k {} with {} distances",
                            g.n_rows,
                            g.k,
                            d.len()
                        ));
                    }
                    if let Some(i) = g.indices.iter().position(|&j| j as usize >= case.n) {
                        failures.push(format!(
                            "{what}: neighbour index {} out of range",
                            g.indices[i]
                        ));
                    }
                    if d.iter().any(|&v| v < 0.0) {
                        failures.push(format!("{what}: a negative distance"));
                    }
                    // Every point has two exact copies: its nearest neighbour is at distance 0.
                    if name == "each point three times"
                        && method == KnnMethod::Exact
                        && metric == Metric::Euclidean
                    {
                        for row in 0..case.n {
                            if g.neighbor_distances(row)[0] > 1e-6 {
                                failures.push(format!(
                                    "{what}: row {row}'s nearest copy is at {}",
                                    g.neighbor_distances(row)[0]
                                ));
                                break;
                            }
                        }
                    }
                }
            }
        }

        let umap = UmapParams {
            n_neighbors: 10,
            n_epochs: Some(60),
            ..Default::default()
        };
        check(&mut failures, &format!("{name}: umap"), case.n * 2, || {
            umap_fit(x, &umap, &ctx).map(|m| m.embedding)
        });

        let tsne = TsneParams {
            perplexity: 10.0,
            early_exaggeration_iter: 40,
            n_iter: 40,
            ..Default::default()
        };
        check(&mut failures, &format!("{name}: t-sne"), case.n * 2, || {
            tsne_fit(x, &tsne, &ctx).map(|m| m.embedding)
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn values_whose_squares_overflow_are_refused_with_the_row() {
    let ctx = RunContext::silent();
    let mut data = noise(40 * 3, 12);
    data[9 * 3 + 1] = 2e30;
    let x = MatrixView::new(&data, 40, 3).expect("view");
    for (algorithm, outcome) in [
        ("pca", pca(x, &PcaParams::default(), &ctx).map(|_| ())),
        ("knn", knn_graph(x, &KnnParams::default(), &ctx).map(|_| ())),
    ] {
        match outcome {
            Err(ComputeError::InvalidInput(message)) => assert!(
                message.contains("row 9") && message.contains("too large"),
                "{algorithm}: {message:?}"
            ),
            other => panic!("{algorithm}: expected InvalidInput, got {other:?}"),
        }
    }
    // Just inside the bound everything is finite.
    let limit = x.max_abs_value();
    let edge: Vec<f32> = noise(40 * 3, 13).iter().map(|v| v * limit).collect();
    let x = MatrixView::new(&edge, 40, 3).expect("view");
    let g = knn_graph(x, &KnnParams::default(), &ctx).expect("knn at the bound");
    assert!(g.distances.iter().all(|d| d.is_finite()));
    let p = pca(x, &PcaParams::default(), &ctx).expect("pca at the bound");
    assert!(p.coords.iter().all(|c| c.is_finite()));

    // PCA is linear: scaling the input by 1e15 scales the coordinates by 1e15.
    let small = noise(40 * 3, 14);
    let big: Vec<f32> = small.iter().map(|v| v * 1e15).collect();
    let a = pca(
        MatrixView::new(&small, 40, 3).expect("view"),
        &PcaParams::default(),
        &ctx,
    )
    .expect("pca");
    let b = pca(
        MatrixView::new(&big, 40, 3).expect("view"),
        &PcaParams::default(),
        &ctx,
    )
    .expect("pca of scaled");
    for (u, v) in a.coords.iter().zip(&b.coords) {
        assert!((u * 1e15 - v).abs() <= 1e-3 * 1e15, "{u} × 1e15 vs {v}");
    }
    assert!((a.explained_variance_ratio[0] - b.explained_variance_ratio[0]).abs() < 1e-5);
}

#[test]
fn nan_and_infinity_are_refused_with_the_row() {
    let ctx = RunContext::silent();
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut data = noise(40 * 3, 11);
        data[17 * 3 + 2] = bad;
        let x = MatrixView::new(&data, 40, 3).expect("view");
        let outcomes: Vec<(&str, Result<(), ComputeError>)> = vec![
            ("pca", pca(x, &PcaParams::default(), &ctx).map(|_| ())),
            ("knn", knn_graph(x, &KnnParams::default(), &ctx).map(|_| ())),
            (
                "umap",
                umap_fit(
                    x,
                    &UmapParams {
                        n_epochs: Some(10),
                        ..Default::default()
                    },
                    &ctx,
                )
                .map(|_| ()),
            ),
            (
                "t-sne",
                tsne_fit(
                    x,
                    &TsneParams {
                        n_iter: 10,
                        early_exaggeration_iter: 10,
                        ..Default::default()
                    },
                    &ctx,
                )
                .map(|_| ()),
            ),
        ];
        for (algorithm, outcome) in outcomes {
            match outcome {
                Err(ComputeError::InvalidInput(message)) => assert!(
                    message.contains("17"),
                    "{algorithm} with {bad}: {message:?} does not name row 17"
                ),
                other => panic!("{algorithm} with {bad}: expected InvalidInput, got {other:?}"),
            }
        }
    }
}
