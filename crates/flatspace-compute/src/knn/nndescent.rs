//! Approximate kNN by NN-descent (Dong, Moses & Li 2011) seeded by a random-projection forest.
//!
//! Rows are first copied in the leaf order of one tree so that neighbours tend to sit close in
//! memory (long rows also get their columns reordered, largest variance first, so the
//! early-abandoning distance gives up sooner). Each round: every row samples up to
//! `max_candidates` "new" and "old" neighbours (forward and reverse edges, chosen by a seeded
//! hash priority of the pair) into flat per-row lists, the local join measures every new–new and
//! new–old pair among them with a one-to-many kernel, and pairs that beat an endpoint's current
//! k-th distance become updates. Updates are bucketed by row range and applied in parallel. A
//! neighbour list is "the k smallest (distance, index) of everything offered", which does not
//! depend on the order updates arrive in, so the graph is the same for any thread count. Rounds
//! stop when fewer than `delta · n · k` entries change.

use rayon::prelude::*;

use super::kernels::{dot, prefetch, squared_l2_bounded, squared_l2_bounded_rows};
use super::rptree::rp_leaves;
use super::topk::{EMPTY, insert_unique_flagged};
use crate::rng::Rng;
use crate::{MatrixView, Result, RunContext};

/// Tunables; the defaults come from the measurements noted in the README.
#[derive(Debug, Clone)]
pub(crate) struct NnDescentConfig {
    pub n_trees: usize,
    pub leaf_size: usize,
    pub max_candidates: usize,
    pub max_rounds: usize,
    pub delta: f64,
}

impl NnDescentConfig {
    pub fn for_problem(n: usize, dim: usize, k: usize) -> Self {
        // Trees are cheap next to the rounds they save (small sets keep 8: they cost little
        // there either): 50 dimensions, and long rows split in
        // a 48-dimensional projection (`TREE_DIM`). Measured 2026-11-29 (one thread, CPU s,
        // 70,000 rows, two runs each): mixture 50-d k = 15: 4 trees 2.0–2.5, 6 trees with
        // delta 0.003 2.0, same recall 0.982; MNIST 784-d k = 15: 4 trees 7.1–7.7, 8 trees
        // 6.2–6.5, 8 trees and delta 0.003 6.2–6.3, recall 0.986 throughout; mixture k = 90:
        // 4 trees 15.1, 8 trees 14.1–14.6, 8 trees with 96-row leaves and delta 0.003 12.7–13.3,
        // recall 0.9989 → 0.9985.
        let n_trees = if n < 20_000 || k > 40 || dim > 2 * TREE_DIM {
            8
        } else {
            6
        };
        Self {
            n_trees,
            leaf_size: if k <= 40 {
                (2 * k).clamp(16, 64)
            } else {
                k.next_multiple_of(32).min(128)
            },
            // Above 40 neighbours (t-SNE asks for 3 × perplexity = 90) fewer candidates per
            // round and a few more rounds cost less for the same graph (measured on 70,000 × 50,
            // k = 90: 40 candidates 32 CPU s, recall 0.99997; 17 candidates 22 CPU s, 0.9987).
            max_candidates: if k <= 40 {
                k.max(8)
            } else {
                (1600 / k).max(16)
            },
            max_rounds: 12 + (n.max(2) as f64).log2() as usize / 2,
            // Rounds stop once fewer than 0.3% of all list entries change: on MNIST, k = 15, 4
            // trees, stopping at 0.2% instead of 0.1% took 7.1–7.7 → 6.2–6.3 CPU s at the same
            // recall (0.986); the figures above are at 0.3%.
            delta: 0.003,
        }
    }
}

/// Rows per update bucket: updates are grouped by the destination row's bucket so buckets can be
/// applied in parallel without locks.
const BUCKET_ROWS: usize = 1024;

struct Graph {
    k: usize,
    dist: Vec<f32>,
    idx: Vec<u32>,
    new: Vec<bool>,
}

impl Graph {
    fn threshold(&self, row: usize) -> f32 {
        self.dist[row * self.k + self.k - 1]
    }
}

/// Candidate updates (a, b, distance) grouped by the bucket of each endpoint.
type Buckets = Vec<Vec<(u32, u32, f32)>>;

/// Files the pair (a, b) at distance `d` for each endpoint whose list it can enter (`d` below
/// that endpoint's k-th distance `ta` / `tb` as of the round's start; a list only improves
/// during a round, so the other direction could never be kept). Pairs already listed are
/// left to the apply step: checking them here was measured slower.
#[inline]
fn push_update(buckets: &mut Buckets, a: u32, b: u32, d: f32, ta: f32, tb: f32) {
    if d < ta {
        buckets[a as usize / BUCKET_ROWS].push((a, b, d));
    }
    if d < tb {
        buckets[b as usize / BUCKET_ROWS].push((b, a, d));
    }
}

/// Rows a local-join task covers: a few tasks a thread, so the per-task bucket lists stay few.
/// (Updates are applied task after task, so the graph does not depend on this split.)
fn join_chunk_rows(n: usize) -> usize {
    n.div_ceil(4 * rayon::current_num_threads().max(1)).max(256)
}

/// Applies every producer's updates; returns the number of list changes.
fn apply(graph: &mut Graph, producers: Vec<Buckets>) -> u64 {
    let k = graph.k;
    let chunk = k * BUCKET_ROWS;
    graph
        .dist
        .par_chunks_mut(chunk)
        .zip(graph.idx.par_chunks_mut(chunk))
        .zip(graph.new.par_chunks_mut(chunk))
        .enumerate()
        .map(|(bucket, ((dist, idx), new))| {
            let base = bucket * BUCKET_ROWS;
            let mut changes = 0u64;
            for producer in &producers {
                if bucket >= producer.len() {
                    continue;
                }
                for &(target, other, d) in &producer[bucket] {
                    let r = target as usize - base;
                    let sl = r * k..(r + 1) * k;
                    if insert_unique_flagged(
                        &mut dist[sl.clone()],
                        &mut idx[sl.clone()],
                        &mut new[sl],
                        d,
                        other,
                        true,
                    ) {
                        changes += 1;
                    }
                }
            }
            changes
        })
        .sum()
}

/// The sampling priority of the edge {a, b}: the same from either end, so a row offered the
/// same neighbour as a forward and a reverse edge sees one (priority, id) pair.
#[inline]
fn priority(seed: u64, round: u64, a: u32, b: u32) -> u32 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let mut z = seed
        ^ round.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ ((lo as u64) << 32 | hi as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as u32
}

/// Every row's sampled candidates, `cap` slots a row in flat arrays: row i's list is
/// `ids[i * cap..][..len[i]]`, sorted by (priority, id).
struct CandidateLists {
    cap: usize,
    ids: Vec<u32>,
    pri: Vec<u32>,
    len: Vec<u32>,
}

impl CandidateLists {
    fn new(n: usize, cap: usize) -> Self {
        Self {
            cap,
            ids: vec![0; n * cap],
            pri: vec![0; n * cap],
            len: vec![0; n],
        }
    }
    fn list(&self, row: usize) -> &[u32] {
        &self.ids[row * self.cap..row * self.cap + self.len[row] as usize]
    }
}

/// The "new" and "old" candidate lists of one round; reused across rounds.
struct CandidatePool {
    new: CandidateLists,
    old: CandidateLists,
}

/// The candidate lists of the rows `lo..lo + len.len()`, filled by one task.
struct PoolPart<'a> {
    lo: usize,
    cap: usize,
    new: (&'a mut [u32], &'a mut [u32], &'a mut [u32]),
    old: (&'a mut [u32], &'a mut [u32], &'a mut [u32]),
}

/// Consecutive row ranges, one a thread: each range's task scans all edges, so more ranges
/// than threads would only repeat the scan.
fn candidate_ranges(n: usize) -> Vec<usize> {
    let parts = rayon::current_num_threads().clamp(1, n.max(1));
    (0..=parts).map(|p| p * n / parts).collect()
}

impl CandidatePool {
    fn new(n: usize, cap: usize) -> Self {
        Self {
            new: CandidateLists::new(n, cap),
            old: CandidateLists::new(n, cap),
        }
    }

    fn clear(&mut self) {
        self.new.len.fill(0);
        self.old.len.fill(0);
    }

    /// Splits the pool at the row `bounds` (ascending, from 0 to n) into disjoint parts.
    fn split_mut(&mut self, bounds: &[usize]) -> Vec<PoolPart<'_>> {
        let cap = self.new.cap;
        let (mut ni, mut np, mut nl) = (
            &mut self.new.ids[..],
            &mut self.new.pri[..],
            &mut self.new.len[..],
        );
        let (mut oi, mut op, mut ol) = (
            &mut self.old.ids[..],
            &mut self.old.pri[..],
            &mut self.old.len[..],
        );
        let mut parts = Vec::with_capacity(bounds.len().saturating_sub(1));
        for w in bounds.windows(2) {
            let rows = w[1] - w[0];
            let (a, rest) = std::mem::take(&mut ni).split_at_mut(rows * cap);
            ni = rest;
            let (b, rest) = std::mem::take(&mut np).split_at_mut(rows * cap);
            np = rest;
            let (c, rest) = std::mem::take(&mut nl).split_at_mut(rows);
            nl = rest;
            let (d, rest) = std::mem::take(&mut oi).split_at_mut(rows * cap);
            oi = rest;
            let (e, rest) = std::mem::take(&mut op).split_at_mut(rows * cap);
            op = rest;
            let (f, rest) = std::mem::take(&mut ol).split_at_mut(rows);
            ol = rest;
            parts.push(PoolPart {
                lo: w[0],
                cap,
                new: (a, b, c),
                old: (d, e, f),
            });
        }
        parts
    }
}

impl PoolPart<'_> {
    /// Offers every edge of the graph that touches this part's rows: i → j as a forward
    /// candidate of i, and as a reverse candidate of j, in the list matching the edge's flag.
    fn fill(&mut self, g: &Graph, seed: u64, round: u64) {
        let (lo, hi) = (self.lo, self.lo + self.new.2.len());
        let k = g.k;
        let n = g.idx.len() / k.max(1);
        for i in 0..n {
            // Reverse offers land in rows all over memory: start loading the lists the next
            // row's edges will touch.
            if i + 1 < n {
                for s in 0..k {
                    let j = g.idx[(i + 1) * k + s] as usize;
                    if (lo..hi).contains(&j) {
                        let lists = if g.new[(i + 1) * k + s] {
                            &self.new
                        } else {
                            &self.old
                        };
                        let at = (j - lo) * self.cap;
                        prefetch(&lists.1[at..at + 1], 1);
                        prefetch(&lists.0[at..at + 1], 1);
                    }
                }
            }
            let i_here = (lo..hi).contains(&i);
            for s in 0..k {
                let j = g.idx[i * k + s];
                if j == EMPTY {
                    continue;
                }
                let j_here = (lo..hi).contains(&(j as usize));
                if !i_here && !j_here {
                    continue;
                }
                let p = priority(seed, round, i as u32, j);
                let lists = if g.new[i * k + s] {
                    &mut self.new
                } else {
                    &mut self.old
                };
                if i_here {
                    offer(lists, self.cap, i - lo, p, j);
                }
                if j_here {
                    offer(lists, self.cap, j as usize - lo, p, i as u32);
                }
            }
        }
    }
}

/// Keeps the `cap` smallest (priority, id) pairs of a row, sorted; ignores an id already there
/// (which always comes with the same priority).
#[inline(always)]
fn offer(
    lists: &mut (&mut [u32], &mut [u32], &mut [u32]),
    cap: usize,
    row: usize,
    p: u32,
    id: u32,
) {
    let (ids_all, pri_all, lens) = lists;
    let ids = &mut ids_all[row * cap..(row + 1) * cap];
    let pri = &mut pri_all[row * cap..(row + 1) * cap];
    let len = lens[row] as usize;
    if len == cap && (p, id) >= (pri[len - 1], ids[len - 1]) {
        return;
    }
    let mut pos = pri[..len].partition_point(|&q| q < p);
    while pos < len && pri[pos] == p && ids[pos] < id {
        pos += 1;
    }
    if pos < len && pri[pos] == p && ids[pos] == id {
        return;
    }
    let end = len.min(cap - 1);
    ids.copy_within(pos..end, pos + 1);
    pri.copy_within(pos..end, pos + 1);
    ids[pos] = id;
    pri[pos] = p;
    lens[row] = (len + 1).min(cap) as u32;
}

/// Rows longer than `2 · TREE_DIM` are split by the trees in a `TREE_DIM`-dimensional random
/// projection: a tree level costs one dot product a row, which on 784 dimensions made the
/// trees a sixth of the whole search, and random projections keep near rows near (Johnson–
/// Lindenstrauss), which is all the seeding needs. Leaf pairs are still measured in full.
const TREE_DIM: usize = 48;

/// The rows of `x` times a seeded Gaussian d × `TREE_DIM` matrix, or `None` for short rows.
/// Row by row with the dispatched dot kernel, so the bits do not depend on the thread count.
fn tree_space(x: MatrixView<'_>, seed: u64) -> Option<Vec<f32>> {
    let d = x.dim();
    if d <= 2 * TREE_DIM {
        return None;
    }
    let mut rng = Rng::derive(seed ^ 0x7EE5_9ACE, 0);
    let dirs: Vec<f32> = (0..TREE_DIM * d).map(|_| rng.normal() as f32).collect();
    let mut out = vec![0.0f32; x.n_rows() * TREE_DIM];
    out.par_chunks_mut(TREE_DIM).enumerate().for_each(|(i, o)| {
        let r = x.row(i);
        for (c, v) in o.iter_mut().enumerate() {
            *v = dot(r, &dirs[c * d..(c + 1) * d]);
        }
    });
    Some(out)
}

/// Per-column (sum, sum of squares, min, max) over a block of rows.
type ColumnStats = (Vec<f64>, Vec<f64>, Vec<f32>, Vec<f32>);

/// The rows of `x` in the order `perm`, with their columns reordered for the early-abandoning
/// kernel: columns of largest variance first (so a partial sum over the first 128-column block
/// passes the bound sooner; on MNIST the first pixels are the blank top of the image), and
/// constant columns, which add nothing to any distance, dropped. Returns the rows and their
/// width. Squared distances are the same sums in another order.
fn search_columns(x: MatrixView<'_>, perm: &[u32]) -> (Vec<f32>, usize) {
    let (n, d) = (x.n_rows(), x.dim());
    // Per-column sums, min and max over fixed row blocks, combined in block order: the same
    // bits for any thread count.
    let blocks: Vec<ColumnStats> = (0..n)
        .into_par_iter()
        .chunks(4096)
        .map(|rows| {
            let (mut sum, mut sq) = (vec![0.0f64; d], vec![0.0f64; d]);
            let (mut lo, mut hi) = (vec![f32::INFINITY; d], vec![f32::NEG_INFINITY; d]);
            for i in rows {
                for (c, &v) in x.row(i).iter().enumerate() {
                    sum[c] += v as f64;
                    sq[c] += v as f64 * v as f64;
                    lo[c] = lo[c].min(v);
                    hi[c] = hi[c].max(v);
                }
            }
            (sum, sq, lo, hi)
        })
        .collect();
    let mut variance = vec![0.0f64; d];
    let mut constant = vec![true; d];
    for c in 0..d {
        let (mut s, mut q) = (0.0f64, 0.0f64);
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for b in &blocks {
            s += b.0[c];
            q += b.1[c];
            lo = lo.min(b.2[c]);
            hi = hi.max(b.3[c]);
        }
        variance[c] = q / n as f64 - (s / n as f64).powi(2);
        constant[c] = lo == hi;
    }
    let mut columns: Vec<usize> = (0..d).filter(|&c| !constant[c]).collect();
    columns.sort_by(|&a, &b| variance[b].total_cmp(&variance[a]).then(a.cmp(&b)));
    let w = columns.len();
    let mut out = vec![0.0f32; n * w];
    if w > 0 {
        out.par_chunks_mut(w)
            .zip(perm.par_iter())
            .for_each(|(dst, &from)| {
                let src = x.row(from as usize);
                for (o, &c) in dst.iter_mut().zip(&columns) {
                    *o = src[c];
                }
            });
    }
    (out, w)
}

/// Every distance NN-descent keeps goes through the one (early-abandoning) kernel, so a pair
/// measured twice gets a bit-identical value: the neighbour lists' duplicate check relies on it.
#[inline]
fn full_distance(a: &[f32], b: &[f32]) -> f32 {
    squared_l2_bounded(a, b, f32::INFINITY)
}

/// Squared-L2 kNN of the rows of `x` (row ids in the original order), sorted by (distance, id).
pub(crate) fn nn_descent(
    x: MatrixView<'_>,
    k: usize,
    seed: u64,
    config: &NnDescentConfig,
    ctx: &RunContext<'_>,
) -> Result<(Vec<u32>, Vec<f32>)> {
    let n = x.n_rows();
    let d = x.dim();
    let n_buckets = n.div_ceil(BUCKET_ROWS);

    // Trees split a random projection of long rows (see `tree_space`).
    let projected = tree_space(x, seed);
    let tree_input = match &projected {
        Some(p) => MatrixView::new(p, n, TREE_DIM)?,
        None => x,
    };

    // Locality: copy rows in the first tree's leaf order; work in that index space.
    let first = rp_leaves(tree_input, config.leaf_size, seed);
    let perm = first.order.clone();
    let permute = |src: MatrixView<'_>| -> Vec<f32> {
        let w = src.dim();
        let mut out = vec![0.0f32; n * w];
        out.par_chunks_mut(w.max(1))
            .zip(perm.par_iter())
            .for_each(|(dst, &from)| dst.copy_from_slice(src.row(from as usize)));
        out
    };
    let (xs, d) = match &projected {
        Some(_) => search_columns(x, &perm),
        None => (permute(x), d),
    };
    let tree_rows = match &projected {
        Some(_) => permute(tree_input),
        None => Vec::new(),
    };
    let tree_rows_view = if projected.is_some() {
        MatrixView::new(&tree_rows, n, TREE_DIM)?
    } else {
        MatrixView::new(&xs, n, d)?
    };
    drop(projected);
    let row = |i: u32| -> &[f32] { &xs[i as usize * d..(i as usize + 1) * d] };

    let mut graph = Graph {
        k,
        dist: vec![f32::INFINITY; n * k],
        idx: vec![EMPTY; n * k],
        new: vec![true; n * k],
    };

    // Forest initialisation: all pairs within each leaf.
    for tree in 0..config.n_trees {
        ctx.check_cancelled()?;
        let leaves = if tree == 0 {
            // The first tree in the permuted space is the identity partition.
            super::rptree::Leaves {
                order: (0..n as u32).collect(),
                bounds: first.bounds.clone(),
            }
        } else {
            rp_leaves(
                tree_rows_view,
                config.leaf_size,
                seed.wrapping_add(tree as u64 * 7919),
            )
        };
        let g = &graph;
        let n_leaves = leaves.n_leaves();
        let producers: Vec<Buckets> = (0..n_leaves)
            .into_par_iter()
            .chunks(
                n_leaves
                    .div_ceil(4 * rayon::current_num_threads().max(1))
                    .max(16),
            )
            .map(|ls| {
                let mut buckets: Buckets = vec![Vec::new(); n_buckets];
                let (mut bounds, mut dists) = (Vec::new(), Vec::new());
                for l in ls {
                    let leaf = leaves.leaf(l);
                    for (p, &a) in leaf.iter().enumerate() {
                        let others = &leaf[p + 1..];
                        bounds.clear();
                        bounds.resize(others.len(), f32::INFINITY);
                        dists.resize(others.len(), 0.0);
                        squared_l2_bounded_rows(row(a), &xs, d, others, &bounds, &mut dists);
                        let ta = g.threshold(a as usize);
                        for (&b, &dd) in others.iter().zip(&dists) {
                            if a != b {
                                push_update(&mut buckets, a, b, dd, ta, g.threshold(b as usize));
                            }
                        }
                    }
                }
                buckets
            })
            .collect();
        apply(&mut graph, producers);
        ctx.report("knn:trees", tree as u64 + 1, config.n_trees as u64);
    }

    // Rows the forest left short (tiny leaves, duplicates) get random neighbours.
    graph
        .dist
        .par_chunks_mut(k)
        .zip(graph.idx.par_chunks_mut(k))
        .zip(graph.new.par_chunks_mut(k))
        .enumerate()
        .for_each(|(i, ((dist, idx), new))| {
            if idx[k - 1] != EMPTY {
                return;
            }
            let mut rng = Rng::derive(seed ^ 0xA5A5, i as u64);
            let mut tries = 0;
            while idx[k - 1] == EMPTY && tries < 4 * k + 16 {
                tries += 1;
                let j = rng.below(n) as u32;
                if j as usize != i {
                    let dd = full_distance(&xs[i * d..(i + 1) * d], row(j));
                    insert_unique_flagged(dist, idx, new, dd, j, true);
                }
            }
            // Still short only if n is tiny: fill in index order.
            let mut j = 0u32;
            while idx[k - 1] == EMPTY && (j as usize) < n {
                if j as usize != i {
                    let dd = full_distance(&xs[i * d..(i + 1) * d], row(j));
                    insert_unique_flagged(dist, idx, new, dd, j, true);
                }
                j += 1;
            }
        });

    let mc = config.max_candidates;
    let mut pool = CandidatePool::new(n, mc);
    let stop_below = (config.delta * (n * k) as f64) as u64;
    for round in 0..config.max_rounds {
        ctx.check_cancelled()?;
        // Candidate lists: each range of target rows is filled by one task that scans every
        // edge, so no reverse-edge buffers are needed; a list keeps the `mc` smallest
        // (priority, id) offered, which does not depend on the order of the offers.
        let g = &graph;
        let ranges = candidate_ranges(n);
        pool.clear();
        pool.split_mut(&ranges)
            .into_par_iter()
            .for_each(|mut part| part.fill(g, seed, round as u64));
        // Sampled forward "new" entries become old.
        let new_lists = &pool.new;
        graph
            .idx
            .par_chunks(k)
            .zip(graph.new.par_chunks_mut(k))
            .enumerate()
            .for_each(|(i, (idx, new))| {
                let nw = new_lists.list(i);
                for (s, &j) in idx.iter().enumerate() {
                    if new[s] && nw.contains(&j) {
                        new[s] = false;
                    }
                }
            });

        // Local join.
        let g = &graph;
        let (new_lists, old_lists) = (&pool.new, &pool.old);
        let producers: Vec<Buckets> = (0..n)
            .into_par_iter()
            .chunks(join_chunk_rows(n))
            .map(|rows| {
                let mut buckets: Buckets = vec![Vec::new(); n_buckets];
                let (mut cand, mut thr) = (Vec::new(), Vec::new());
                let (mut bounds, mut dists) = (Vec::new(), Vec::new());
                for v in rows {
                    // The next row's candidates come from all over memory: start loading them.
                    if v + 1 < n {
                        for &c in new_lists.list(v + 1).iter().chain(old_lists.list(v + 1)) {
                            prefetch(row(c), 8);
                            prefetch(&g.dist[c as usize * k + k - 1..][..1], 1);
                        }
                    }
                    let nw = new_lists.list(v);
                    cand.clear();
                    cand.extend_from_slice(nw);
                    cand.extend_from_slice(old_lists.list(v));
                    thr.clear();
                    thr.extend(cand.iter().map(|&c| g.threshold(c as usize)));
                    for p in 0..nw.len() {
                        let (a, ta) = (cand[p], thr[p]);
                        let others = &cand[p + 1..];
                        bounds.clear();
                        bounds.extend(thr[p + 1..].iter().map(|&tb| ta.max(tb)));
                        dists.resize(others.len(), 0.0);
                        squared_l2_bounded_rows(row(a), &xs, d, others, &bounds, &mut dists);
                        for ((&b, &tb), &dd) in others.iter().zip(&thr[p + 1..]).zip(&dists) {
                            if a != b {
                                push_update(&mut buckets, a, b, dd, ta, tb);
                            }
                        }
                    }
                }
                buckets
            })
            .collect();
        let changes = apply(&mut graph, producers);
        ctx.report("knn:nndescent", round as u64 + 1, config.max_rounds as u64);
        if changes <= stop_below {
            break;
        }
    }

    // Back to original row ids, ties ordered by original id.
    let mut indices = vec![0u32; n * k];
    let mut values = vec![0.0f32; n * k];
    let mut inverse = vec![0u32; n];
    for (pos, &orig) in perm.iter().enumerate() {
        inverse[orig as usize] = pos as u32;
    }
    indices
        .par_chunks_mut(k)
        .zip(values.par_chunks_mut(k))
        .enumerate()
        .for_each(|(orig, (io, vo))| {
            let pos = inverse[orig] as usize;
            let mut pairs: Vec<(f32, u32)> = (0..k)
                .map(|s| {
                    let j = graph.idx[pos * k + s];
                    (graph.dist[pos * k + s], perm[j as usize])
                })
                .collect();
            pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (s, (dv, j)) in pairs.into_iter().enumerate() {
                io[s] = j;
                vo[s] = dv;
            }
        });
    Ok((indices, values))
}
