//! `a` and `b` of the low-dimensional similarity `1 / (1 + a·d^(2b))`, fitted by least squares
//! to the target curve the reference uses: 1 up to `min_dist`, then `exp(-(d - min_dist) /
//! spread)`, sampled at 300 points on `[0, 3·spread]`. Solved by Levenberg–Marquardt from
//! `(1, 1)`, the same problem and start as umap-learn's `curve_fit`.

/// Fitted `(a, b)`; `None` when the fit does not converge to positive values.
pub fn find_ab_params(spread: f64, min_dist: f64) -> Option<(f64, f64)> {
    const N: usize = 300;
    let xs: Vec<f64> = (0..N)
        .map(|i| 3.0 * spread * i as f64 / (N - 1) as f64)
        .collect();
    let ys: Vec<f64> = xs
        .iter()
        .map(|&x| {
            if x < min_dist {
                1.0
            } else {
                (-(x - min_dist) / spread).exp()
            }
        })
        .collect();
    let cost = |a: f64, b: f64| -> f64 {
        xs.iter()
            .zip(&ys)
            .map(|(&x, &y)| {
                let r = 1.0 / (1.0 + a * x.powf(2.0 * b)) - y;
                r * r
            })
            .sum()
    };
    let (mut a, mut b) = (1.0f64, 1.0f64);
    let mut lambda = 1e-3;
    let mut current = cost(a, b);
    for _ in 0..500 {
        // Normal equations J^T J δ = -J^T r for the two parameters.
        let (mut jaa, mut jab, mut jbb, mut ga, mut gb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&x, &y) in xs.iter().zip(&ys) {
            if x <= 0.0 {
                continue; // f = 1 at x = 0 whatever a, b: no gradient
            }
            let u = x.powf(2.0 * b);
            let denom = 1.0 + a * u;
            let f = 1.0 / denom;
            let r = f - y;
            let da = -u / (denom * denom);
            let db = -a * u * 2.0 * x.ln() / (denom * denom);
            jaa += da * da;
            jab += da * db;
            jbb += db * db;
            ga += da * r;
            gb += db * r;
        }
        let mut improved = false;
        for _ in 0..60 {
            let (maa, mbb) = (jaa * (1.0 + lambda), jbb * (1.0 + lambda));
            let det = maa * mbb - jab * jab;
            if det.abs() < 1e-300 {
                lambda *= 10.0;
                continue;
            }
            let step_a = -(mbb * ga - jab * gb) / det;
            let step_b = -(maa * gb - jab * ga) / det;
            let (na, nb) = (a + step_a, b + step_b);
            if na > 0.0 && nb > 0.0 {
                let c = cost(na, nb);
                if c <= current {
                    let converged = (step_a.abs() <= 1e-12 * (1.0 + a.abs()))
                        && (step_b.abs() <= 1e-12 * (1.0 + b.abs()));
                    a = na;
                    b = nb;
                    let rel = (current - c) / current.max(1e-300);
                    current = c;
                    lambda = (lambda / 10.0).max(1e-12);
                    improved = true;
                    if converged || rel < 1e-15 {
                        return Some((a, b));
                    }
                    break;
                }
            }
            lambda *= 10.0;
        }
        if !improved {
            break;
        }
    }
    (a.is_finite() && b.is_finite() && a > 0.0 && b > 0.0).then_some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_umap_learn_defaults() {
        // umap-learn 0.5: find_ab_params(1.0, 0.1) = (1.5769434603113077, 0.8950608779109733).
        let (a, b) = find_ab_params(1.0, 0.1).expect("fit");
        assert!((a - 1.576_943_460_311_307_7).abs() < 1e-4, "a = {a}");
        assert!((b - 0.895_060_877_910_973_3).abs() < 1e-4, "b = {b}");
    }

    #[test]
    fn smaller_min_dist_gives_steeper_curve_near_zero() {
        let (a_small, b_small) = find_ab_params(1.0, 0.001).expect("fit");
        let (a_big, b_big) = find_ab_params(1.0, 0.5).expect("fit");
        // The similarity at d = 0.3 is lower when min_dist is small (points pack tighter).
        let sim = |a: f64, b: f64| 1.0 / (1.0 + a * 0.3f64.powf(2.0 * b));
        assert!(sim(a_small, b_small) < sim(a_big, b_big));
    }
}
