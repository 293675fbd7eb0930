//! Random-projection trees: recursive median splits along the direction between two random rows
//! of the node. Leaves group nearby rows; they seed NN-descent and tile the exact search.
//! Each node draws from its own stream (seed, node number), so the tree does not depend on the
//! thread schedule.

use super::kernels::{dot, prefetch};
use crate::MatrixView;
use crate::rng::Rng;

/// A partition of rows into leaves: `order` lists row ids leaf after leaf; leaf `l` is
/// `order[bounds[l]..bounds[l + 1]]`.
pub(crate) struct Leaves {
    pub order: Vec<u32>,
    pub bounds: Vec<usize>,
}

impl Leaves {
    pub fn n_leaves(&self) -> usize {
        self.bounds.len() - 1
    }
    pub fn leaf(&self, l: usize) -> &[u32] {
        &self.order[self.bounds[l]..self.bounds[l + 1]]
    }
}

/// Splits all rows of `x` into leaves of at most `max_leaf` rows (and more than `max_leaf / 2`
/// when n allows), balanced by median splits.
pub(crate) fn rp_leaves(x: MatrixView<'_>, max_leaf: usize, seed: u64) -> Leaves {
    let n = x.n_rows();
    let mut order: Vec<u32> = (0..n as u32).collect();
    let max_leaf = max_leaf.max(1);
    let mut sizes = Vec::new();
    split(x, &mut order, max_leaf, seed, 1, &mut sizes);
    let mut bounds = Vec::with_capacity(sizes.len() + 1);
    bounds.push(0);
    let mut acc = 0;
    for s in sizes {
        acc += s;
        bounds.push(acc);
    }
    Leaves { order, bounds }
}

fn split(
    x: MatrixView<'_>,
    ids: &mut [u32],
    max_leaf: usize,
    seed: u64,
    node: u64,
    sizes: &mut Vec<usize>,
) {
    let n = ids.len();
    if n <= max_leaf {
        sizes.push(n);
        return;
    }
    let mut rng = Rng::derive(seed, node);
    let a = ids[rng.below(n)] as usize;
    let mut b = ids[rng.below(n)] as usize;
    for _ in 0..8 {
        if b != a {
            break;
        }
        b = ids[rng.below(n)] as usize;
    }
    let dir: Vec<f32> = x
        .row(a)
        .iter()
        .zip(x.row(b))
        .map(|(&p, &q)| p - q)
        .collect();
    // Rows of later trees sit all over memory: start loading a few rows ahead.
    const AHEAD: usize = 8;
    let mut keyed: Vec<(f32, u32)> = ids
        .iter()
        .enumerate()
        .map(|(p, &i)| {
            if let Some(&next) = ids.get(p + AHEAD) {
                prefetch(x.row(next as usize), 4);
            }
            (dot(x.row(i as usize), &dir), i)
        })
        .collect();
    let half = n / 2;
    keyed.select_nth_unstable_by(half, |p, q| p.0.total_cmp(&q.0).then(p.1.cmp(&q.1)));
    for (slot, &(_, i)) in ids.iter_mut().zip(&keyed) {
        *slot = i;
    }
    drop(keyed);
    let (left, right) = ids.split_at_mut(half);
    if n > 8192 {
        let mut right_sizes = Vec::new();
        rayon::join(
            || split(x, left, max_leaf, seed, 2 * node, sizes),
            || split(x, right, max_leaf, seed, 2 * node + 1, &mut right_sizes),
        );
        sizes.extend(right_sizes);
    } else {
        split(x, left, max_leaf, seed, 2 * node, sizes);
        split(x, right, max_leaf, seed, 2 * node + 1, sizes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_partition_all_rows_within_size() {
        let mut rng = Rng::new(1);
        let (n, d) = (1000, 5);
        let data: Vec<f32> = (0..n * d).map(|_| rng.normal() as f32).collect();
        let x = MatrixView::new(&data, n, d).expect("shape");
        let leaves = rp_leaves(x, 64, 7);
        let mut seen = leaves.order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..n as u32).collect::<Vec<_>>());
        for l in 0..leaves.n_leaves() {
            assert!((32..=64).contains(&leaves.leaf(l).len()));
        }
        let again = rp_leaves(x, 64, 7);
        assert_eq!(again.order, leaves.order);
    }
}
