//! Barnes-Hut repulsion over a space-partitioning tree (quadtree for D = 2, octree for D = 3):
//! a cell far enough away (side / distance < θ) acts as one point at its centre of mass.
//! The tree is built by partitioning the row order, so its shape depends only on the positions.

// Coordinates of 2 or 3 dimensions are indexed together across several arrays.
#![allow(clippy::needless_range_loop)]

use rayon::prelude::*;

use super::kernel::Kernel;

/// Cells with at most this many points are leaves, evaluated point by point.
const LEAF_SIZE: usize = 4;
/// Deeper than this, identical or nearly identical points stay together in one leaf.
const MAX_DEPTH: usize = 40;
/// Traversal stack: MAX_DEPTH levels × (2^3 − 1) pending siblings, rounded up.
const STACK: usize = 384;

#[derive(Debug, Clone)]
struct Node<const D: usize> {
    center_of_mass: [f64; D],
    count: u32,
    /// Side length of the cell.
    side: f64,
    /// Index of the first of 2^D consecutive children; 0 for a leaf.
    first_child: u32,
    /// Range in `order` of the points below this node.
    start: u32,
    end: u32,
}

/// A tree over a set of D-dimensional points.
#[derive(Debug, Clone)]
pub(crate) struct SpaceTree<const D: usize> {
    nodes: Vec<Node<D>>,
    order: Vec<u32>,
    points: Vec<[f64; D]>,
}

impl<const D: usize> SpaceTree<D> {
    /// Builds the tree over `y` (row-major, D columns).
    pub(crate) fn build(y: &[f64]) -> Self {
        let n = y.len() / D;
        let points: Vec<[f64; D]> = (0..n)
            .map(|i| {
                let mut p = [0.0; D];
                p.copy_from_slice(&y[i * D..(i + 1) * D]);
                p
            })
            .collect();
        let mut lo = [f64::INFINITY; D];
        let mut hi = [f64::NEG_INFINITY; D];
        for p in &points {
            for c in 0..D {
                lo[c] = lo[c].min(p[c]);
                hi[c] = hi[c].max(p[c]);
            }
        }
        let mut center = [0.0; D];
        let mut side: f64 = 0.0;
        for c in 0..D {
            center[c] = 0.5 * (lo[c] + hi[c]);
            side = side.max(hi[c] - lo[c]);
        }
        let side = if side.is_finite() && side > 0.0 {
            side * (1.0 + 1e-9)
        } else {
            1.0
        };
        let mut tree = Self {
            nodes: Vec::with_capacity(2 * n / LEAF_SIZE + 1),
            order: (0..n as u32).collect(),
            points,
        };
        let mut scratch = vec![0u32; n];
        tree.nodes.push(Node {
            center_of_mass: [0.0; D],
            count: 0,
            side,
            first_child: 0,
            start: 0,
            end: n as u32,
        });
        tree.split(0, center, 0, &mut scratch);
        tree
    }

    fn split(&mut self, node: usize, center: [f64; D], depth: usize, scratch: &mut [u32]) {
        let (start, end, side) = {
            let nd = &self.nodes[node];
            (nd.start as usize, nd.end as usize, nd.side)
        };
        let mut com = [0.0; D];
        for &i in &self.order[start..end] {
            let p = &self.points[i as usize];
            for c in 0..D {
                com[c] += p[c];
            }
        }
        let count = end - start;
        if count > 0 {
            for v in com.iter_mut() {
                *v /= count as f64;
            }
        }
        self.nodes[node].center_of_mass = com;
        self.nodes[node].count = count as u32;
        if count <= LEAF_SIZE || depth >= MAX_DEPTH || side < 1e-12 {
            return;
        }
        // Counting sort of the node's points by child cell.
        let n_children = 1usize << D;
        let child_of = |p: &[f64; D]| -> usize {
            let mut id = 0;
            for c in 0..D {
                if p[c] >= center[c] {
                    id |= 1 << c;
                }
            }
            id
        };
        let mut child_counts = [0usize; 8];
        for &i in &self.order[start..end] {
            child_counts[child_of(&self.points[i as usize])] += 1;
        }
        let mut offsets = [0usize; 8];
        for ch in 1..n_children {
            offsets[ch] = offsets[ch - 1] + child_counts[ch - 1];
        }
        let mut cursor = offsets;
        for &i in &self.order[start..end] {
            let ch = child_of(&self.points[i as usize]);
            scratch[cursor[ch]] = i;
            cursor[ch] += 1;
        }
        self.order[start..end].copy_from_slice(&scratch[..count]);

        let first = self.nodes.len();
        self.nodes[node].first_child = first as u32;
        let half = 0.5 * side;
        for ch in 0..n_children {
            self.nodes.push(Node {
                center_of_mass: [0.0; D],
                count: 0,
                side: half,
                first_child: 0,
                start: (start + offsets[ch]) as u32,
                end: (start + offsets[ch] + child_counts[ch]) as u32,
            });
        }
        for ch in 0..n_children {
            if child_counts[ch] == 0 {
                continue;
            }
            let mut child_center = center;
            for c in 0..D {
                child_center[c] += if ch & (1 << c) != 0 {
                    0.25 * side
                } else {
                    -0.25 * side
                };
            }
            self.split(first + ch, child_center, depth + 1, scratch);
        }
    }

    /// Z contribution Σ_j w(q, y_j) and force Σ_j w^(1+1/α)(q − y_j) over every point except
    /// `skip`, approximating cells with side / distance < θ.
    pub(crate) fn query(
        &self,
        q: &[f64],
        skip: usize,
        kernel: Kernel,
        theta: f64,
        force: &mut [f64],
    ) -> f64 {
        force.iter_mut().for_each(|f| *f = 0.0);
        let mut z = 0.0;
        if self.points.is_empty() {
            return 0.0;
        }
        let theta2 = theta * theta;
        let mut stack = [0u32; STACK];
        let mut top = 1usize;
        stack[0] = 0;
        while top > 0 {
            top -= 1;
            let node = &self.nodes[stack[top] as usize];
            if node.count == 0 {
                continue;
            }
            let mut d2 = 0.0;
            for c in 0..D {
                let d = q[c] - node.center_of_mass[c];
                d2 += d * d;
            }
            if node.first_child == 0 {
                for &j in &self.order[node.start as usize..node.end as usize] {
                    if j as usize == skip {
                        continue;
                    }
                    let p = &self.points[j as usize];
                    let mut e2 = 0.0;
                    for c in 0..D {
                        let d = q[c] - p[c];
                        e2 += d * d;
                    }
                    z += kernel.similarity(e2);
                    let r = kernel.repulsion(e2);
                    for c in 0..D {
                        force[c] += r * (q[c] - p[c]);
                    }
                }
            } else if node.side * node.side < theta2 * d2 {
                let m = f64::from(node.count);
                z += m * kernel.similarity(d2);
                let r = m * kernel.repulsion(d2);
                for c in 0..D {
                    force[c] += r * (q[c] - node.center_of_mass[c]);
                }
            } else if top + (1 << D) <= STACK {
                for ch in (0..(1u32 << D)).rev() {
                    stack[top] = node.first_child + ch;
                    top += 1;
                }
            } else {
                // Unreachable with MAX_DEPTH; approximate rather than overflow.
                let m = f64::from(node.count);
                z += m * kernel.similarity(d2);
                let r = m * kernel.repulsion(d2);
                for c in 0..D {
                    force[c] += r * (q[c] - node.center_of_mass[c]);
                }
            }
        }
        z
    }
}

/// Barnes-Hut estimate of the unnormalised repulsion of every row of `y` (D columns) into `out`;
/// returns Z.
pub(crate) fn repulsion<const D: usize>(
    y: &[f64],
    kernel: Kernel,
    theta: f64,
    out: &mut [f64],
) -> f64 {
    let tree = SpaceTree::<D>::build(y);
    let z_rows: Vec<f64> = out
        .par_chunks_mut(D)
        .enumerate()
        .map(|(i, force)| tree.query(&y[i * D..(i + 1) * D], i, kernel, theta, force))
        .collect();
    z_rows.iter().sum()
}
