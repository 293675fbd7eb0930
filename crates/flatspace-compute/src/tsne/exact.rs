//! All-pairs repulsion: the reference the approximations are tested against, and the fastest
//! choice for a few hundred rows.

// Coordinates of 2 or 3 dimensions are indexed together across several arrays.
#![allow(clippy::needless_range_loop)]

use rayon::prelude::*;

use super::kernel::Kernel;

/// Writes Σ_j w^(1+1/α)(y_i − y_j) for every row into `out` and returns Z = Σ_{i≠j} w_ij.
pub(crate) fn repulsion(y: &[f64], dim: usize, kernel: Kernel, out: &mut [f64]) -> f64 {
    let n = y.len() / dim;
    let z_rows: Vec<f64> = out
        .par_chunks_mut(dim)
        .enumerate()
        .map(|(i, force)| {
            let yi = &y[i * dim..(i + 1) * dim];
            force.iter_mut().for_each(|f| *f = 0.0);
            let mut z = 0.0;
            for j in 0..n {
                if j == i {
                    continue;
                }
                let yj = &y[j * dim..(j + 1) * dim];
                let mut d2 = 0.0;
                for c in 0..dim {
                    let d = yi[c] - yj[c];
                    d2 += d * d;
                }
                z += kernel.similarity(d2);
                let r = kernel.repulsion(d2);
                for c in 0..dim {
                    force[c] += r * (yi[c] - yj[c]);
                }
            }
            z
        })
        .collect();
    z_rows.iter().sum()
}
