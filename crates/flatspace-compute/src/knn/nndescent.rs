//! Approximate kNN by NN-descent (Dong, Moses & Li 2011) seeded by a random-projection forest.
//!
//! Rows are first copied in the leaf order of one tree so that neighbours tend to sit close in
//! memory (long rows also lose their constant columns and get the rest reordered, largest
//! variance first, so the early-abandoning distance gives up sooner; their trees split the
//! leading principal coordinates, see `TREE_DIM`; and when half precision holds every value
//! exactly they are stored in it, see `SearchRows`). Each round: every row samples up to
//! `max_candidates` "new" and "old" neighbours (forward and reverse edges, chosen by a seeded
//! hash priority of the pair; reverse edges are filed by target bucket, as updates are) into
//! flat per-row lists, the local join measures every new–new and new–old pair among them with a
//! one-to-many kernel (skipping pairs that already shared a tree leaf, see `LeafMemory`), and
//! pairs that beat an endpoint's current k-th distance become updates. Updates are bucketed by
//! row range and applied in parallel. A neighbour list is "the k smallest (distance, index) of
//! everything offered", which does not depend on the order updates arrive in, so the graph is
//! the same for any thread count. Rounds stop when fewer than `delta · n · k` list entries are
//! new after a round (a count that does not depend on that order either).

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;

use super::kernels::{
    HalfRowsKernel, prefetch, rows_to_half_exact, squared_l2_bounded, squared_l2_bounded_rows,
};
use super::rptree::rp_leaves;
use super::topk::{EMPTY, before, insert_all_unique_flagged, insert_unique_flagged};
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
    /// Store long rows in half precision when that is exact (see `SearchRows`); the graph is
    /// the same either way, so this only exists for the test that checks it.
    pub half_precision: bool,
    /// Skip pairs that shared a tree leaf (see [`LeafMemory`]); the graph is the same either
    /// way, so this only exists for the test that checks it.
    pub skip_leaf_pairs: bool,
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
            half_precision: true,
            skip_leaf_pairs: true,
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

/// Trees whose leaves are remembered (see [`LeafMemory`]).
const REMEMBERED_TREES: usize = 8;

/// Which leaf each row fell in, for the first [`REMEMBERED_TREES`] trees.
///
/// Two rows that shared a leaf were measured against each other by that tree, and each was
/// offered to the other's list if it beat that list's k-th distance then. Lists only improve,
/// and a list keeps the k smallest of everything ever offered, so offering the pair again can
/// never change a list: such pairs are skipped, in later trees and in every round, with the
/// graph unchanged. They are many: candidates mostly came from the trees, so on MNIST 27% of
/// the local join's pairs (half of them under the bound, so updates too) and 20% on the
/// 70,000 × 50 mixture.
struct LeafMemory {
    /// Per row, its leaf in each remembered tree; lanes of trees not yet grown hold a value no
    /// other row holds.
    leaves: Vec<[u32; REMEMBERED_TREES]>,
}

impl LeafMemory {
    fn new(n: usize) -> Self {
        // Leaf ids are below n; these sentinels are above u32::MAX / 2 and differ by row (for
        // n below 2³¹, far beyond what fits in memory here).
        let unset = |r: usize| [u32::MAX - (r as u32 & (u32::MAX >> 1)); REMEMBERED_TREES];
        Self {
            leaves: (0..n).map(unset).collect(),
        }
    }

    /// Notes the leaves of tree `tree` (no-op past the remembered ones).
    fn remember(&mut self, tree: usize, leaves: &super::rptree::Leaves) {
        if tree >= REMEMBERED_TREES {
            return;
        }
        for l in 0..leaves.n_leaves() {
            for &r in leaves.leaf(l) {
                self.leaves[r as usize][tree] = l as u32;
            }
        }
    }

    /// Whether rows `a` and `b` shared a leaf of a remembered tree.
    #[inline]
    fn shared(&self, a: u32, b: u32) -> bool {
        let (la, lb) = (&self.leaves[a as usize], &self.leaves[b as usize]);
        // Fixed width, no early exit: a few vector compares.
        la.iter()
            .zip(lb)
            .fold(false, |seen, (x, y)| seen | (x == y))
    }
}

/// The buffers of [`measure_and_file`], reused row after row.
#[derive(Default)]
struct PairScratch {
    ids: Vec<u32>,
    kth: Vec<f32>,
    bounds: Vec<f32>,
    dists: Vec<f32>,
}

/// Measures row `a` (k-th distance `ta`) against each of `others` (k-th distances `others_kth`)
/// and files the updates, skipping `a` itself and the rows it shared a leaf with.
#[inline]
#[allow(clippy::too_many_arguments)]
fn measure_and_file(
    xs: &SearchRows,
    memory: &LeafMemory,
    a: u32,
    ta: f32,
    others: &[u32],
    others_kth: &[f32],
    scratch: &mut PairScratch,
    buckets: &mut Buckets,
) {
    let m = others.len();
    let PairScratch {
        ids,
        kth,
        bounds,
        dists,
    } = scratch;
    ids.resize(m, 0);
    kth.resize(m, 0.0);
    bounds.resize(m, 0.0);
    // Kept pairs are packed to the front without a branch (a fifth to a quarter go).
    let mut kept = 0;
    for (&b, &tb) in others.iter().zip(others_kth) {
        ids[kept] = b;
        kth[kept] = tb;
        // A pair farther than both endpoints' k-th distance can stop early.
        bounds[kept] = ta.max(tb);
        kept += usize::from(a != b && !memory.shared(a, b));
    }
    dists.resize(kept, 0.0);
    xs.bounded_rows(a, &ids[..kept], &bounds[..kept], dists);
    for ((&b, &tb), &d) in ids[..kept].iter().zip(&kth[..kept]).zip(dists.iter()) {
        push_update(buckets, a, b, d, ta, tb);
    }
}

/// Rows a local-join task covers: a few tasks a thread, so the per-task bucket lists stay few.
/// (Updates are applied task after task, so the graph does not depend on this split.)
fn join_chunk_rows(n: usize) -> usize {
    n.div_ceil(4 * rayon::current_num_threads().max(1)).max(256)
}

/// Applies every producer's updates; returns the number of list entries that are new after
/// it.
///
/// That count does not depend on the order the updates arrive in (which follows the task split,
/// so the thread count), as the lists do not, so neither does the round the search stops at. A
/// list keeps the k smallest distinct (distance, index) of its old entries and the updates,
/// so an old entry survives exactly when it is not after the new last entry.
///
/// Each bucket first groups its updates by row (dropping those after the row's current last
/// entry, which can never enter), so a list takes all of its offers in one call and short
/// lists stay in registers meanwhile: inserting one by one stored a list and read it straight
/// back for the next offer (the masked stores of the vector insertion do not forward to
/// loads). Measured on the 70,000 × 50 mixture, 1 thread, 15 interleaved runs: median 1.59 →
/// 1.48 CPU s, the same graph.
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
            let rows = dist.len() / k.max(1);
            // The bucket's updates grouped by row (a counting sort), so each list takes all
            // of its offers at once.
            let mut start = vec![0u32; rows + 1];
            for producer in &producers {
                if let Some(updates) = producer.get(bucket) {
                    for &(target, other, d) in updates {
                        let r = target as usize - base;
                        // An offer after the list's current last can never enter it.
                        if before(d, other, dist[r * k + k - 1], idx[r * k + k - 1]) {
                            start[r + 1] += 1;
                        }
                    }
                }
            }
            for r in 0..rows {
                start[r + 1] += start[r];
            }
            let mut next = start.clone();
            let mut offers = vec![(0u32, 0.0f32); start[rows] as usize];
            for producer in &producers {
                if let Some(updates) = producer.get(bucket) {
                    for &(target, other, d) in updates {
                        let r = target as usize - base;
                        if before(d, other, dist[r * k + k - 1], idx[r * k + k - 1]) {
                            let slot = &mut next[r];
                            offers[*slot as usize] = (other, d);
                            *slot += 1;
                        }
                    }
                }
            }
            let mut changes = 0u64;
            let (mut before_dist, mut before_idx) = (vec![0.0f32; k], vec![0u32; k]);
            for r in 0..rows {
                let row_offers = &offers[start[r] as usize..start[r + 1] as usize];
                if row_offers.is_empty() {
                    continue;
                }
                let sl = r * k..(r + 1) * k;
                before_dist.copy_from_slice(&dist[sl.clone()]);
                before_idx.copy_from_slice(&idx[sl.clone()]);
                insert_all_unique_flagged(
                    &mut dist[sl.clone()],
                    &mut idx[sl.clone()],
                    &mut new[sl.clone()],
                    row_offers,
                    true,
                );
                let (last_d, last_i) = (dist[sl.end - 1], idx[sl.end - 1]);
                let kept_before = before_dist
                    .iter()
                    .zip(&before_idx)
                    .filter(|&(&d, &j)| j != EMPTY && !before(last_d, last_i, d, j))
                    .count();
                let listed_now = idx[sl].iter().filter(|&&j| j != EMPTY).count();
                changes += (listed_now - kept_before) as u64;
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

/// Every row's sampled candidates, `cap` slots a row in a flat array: row i's list is
/// `ids[i * cap..][..len[i]]`, in no particular order (the local join measures every pair of a
/// row's candidates whatever their order, and updates land the same way in any order).
struct CandidateLists {
    cap: usize,
    ids: Vec<u32>,
    len: Vec<u32>,
}

impl CandidateLists {
    fn new(n: usize, cap: usize) -> Self {
        Self {
            cap,
            ids: vec![0; n * cap],
            len: vec![0; n],
        }
    }
    fn list(&self, row: usize) -> &[u32] {
        &self.ids[row * self.cap..row * self.cap + self.len[row] as usize]
    }
}

/// A (priority, id) pair as one sortable key.
#[inline]
fn candidate_key(priority: u32, id: u32) -> u64 {
    (u64::from(priority) << 32) | u64::from(id)
}

/// Reverse edges (target, priority, source) grouped by the target's bucket of rows.
type ReverseBuckets = Vec<Vec<[u32; 3]>>;

/// The "new" and "old" candidate lists of one round; reused across rounds.
///
/// A row's candidates are the `cap` smallest distinct (priority, id) pairs among its own
/// edges and its reverse edges (the rows listing it), "new" and "old" apart by the edge's
/// flag. Tasks over row ranges file each edge under its target's bucket; each bucket of rows
/// then gathers its reverse edges from every task (a counting sort by row, in cache) and each
/// row selects its `cap` smallest keys. A row keeps the smallest keys of the same set whatever
/// the split, so the lists do not depend on the thread count.
struct CandidatePool {
    new: CandidateLists,
    old: CandidateLists,
    /// Whether a row has a new candidate (an edge flagged new touches it).
    has_new: Vec<AtomicBool>,
    /// Each edge's sampling priority this round, in the graph's layout.
    edge_priority: Vec<u32>,
}

impl CandidatePool {
    fn new(n: usize, k: usize, cap: usize) -> Self {
        Self {
            new: CandidateLists::new(n, cap),
            old: CandidateLists::new(n, cap),
            has_new: (0..n).map(|_| AtomicBool::new(false)).collect(),
            edge_priority: vec![0; n * k],
        }
    }

    /// Samples this round's candidates from `g`, and marks the sampled forward new edges old.
    fn fill(&mut self, g: &mut Graph, seed: u64, round: u64) {
        let k = g.k;
        let n = g.idx.len() / k.max(1);
        let n_buckets = n.div_ceil(BUCKET_ROWS);
        let chunk = join_chunk_rows(n);
        // Which rows have a new candidate: old candidates are only joined against new ones,
        // so rows without any need none (most rows, once the graph settles).
        for h in self.has_new.iter_mut() {
            *h.get_mut() = false;
        }
        let has_new = &self.has_new;
        g.idx
            .par_chunks(chunk * k)
            .zip(g.new.par_chunks(chunk * k))
            .enumerate()
            .for_each(|(c, (idx, new))| {
                for (r, (row, flags)) in idx.chunks(k).zip(new.chunks(k)).enumerate() {
                    for (&j, &is_new) in row.iter().zip(flags) {
                        if is_new && j != EMPTY {
                            has_new[c * chunk + r].store(true, Relaxed);
                            has_new[j as usize].store(true, Relaxed);
                        }
                    }
                }
            });
        // Every edge's priority; each edge filed under its target's bucket.
        let producers: Vec<(ReverseBuckets, ReverseBuckets)> = self
            .edge_priority
            .par_chunks_mut(chunk * k)
            .zip(g.idx.par_chunks(chunk * k))
            .zip(g.new.par_chunks(chunk * k))
            .enumerate()
            .map(|(c, ((pri, idx), new))| {
                let mut to_new: ReverseBuckets = vec![Vec::new(); n_buckets];
                let mut to_old: ReverseBuckets = vec![Vec::new(); n_buckets];
                for (r, ((pri, row), flags)) in pri
                    .chunks_mut(k)
                    .zip(idx.chunks(k))
                    .zip(new.chunks(k))
                    .enumerate()
                {
                    let i = (c * chunk + r) as u32;
                    for ((p, &j), &is_new) in pri.iter_mut().zip(row).zip(flags) {
                        if j == EMPTY {
                            continue;
                        }
                        *p = priority(seed, round, i, j);
                        let bucket = j as usize / BUCKET_ROWS;
                        if is_new {
                            to_new[bucket].push([j, *p, i]);
                        } else if has_new[j as usize].load(Relaxed) {
                            to_old[bucket].push([j, *p, i]);
                        }
                    }
                }
                (to_new, to_old)
            })
            .collect();
        // Each bucket of rows gathers its reverse edges and keeps every row's `cap` smallest.
        let cap = self.new.cap;
        let edge_priority = &self.edge_priority;
        self.new
            .ids
            .par_chunks_mut(BUCKET_ROWS * cap)
            .zip(self.new.len.par_chunks_mut(BUCKET_ROWS))
            .zip(self.old.ids.par_chunks_mut(BUCKET_ROWS * cap))
            .zip(self.old.len.par_chunks_mut(BUCKET_ROWS))
            .zip(g.idx.par_chunks(BUCKET_ROWS * k))
            .zip(g.new.par_chunks_mut(BUCKET_ROWS * k))
            .enumerate()
            .for_each(
                |(bucket, (((((new_ids, new_len), old_ids), old_len), idx), flags))| {
                    let base = bucket * BUCKET_ROWS;
                    let rows = new_len.len();
                    let reverse_new = gather_reverse(&producers, |p| &p.0, bucket, base, rows);
                    let reverse_old = gather_reverse(&producers, |p| &p.1, bucket, base, rows);
                    let (mut new_keys, mut old_keys) =
                        (Vec::with_capacity(4 * k), Vec::with_capacity(4 * k));
                    let (mut forward_new, mut forward_old) =
                        (Vec::with_capacity(k), Vec::with_capacity(k));
                    for r in 0..rows {
                        let i = base + r;
                        let row = &idx[r * k..(r + 1) * k];
                        let flags = &mut flags[r * k..(r + 1) * k];
                        let pri = &edge_priority[i * k..(i + 1) * k];
                        let wants_old = has_new[i].load(Relaxed);
                        // Without branches on the flags: in the first rounds they are a coin toss.
                        new_keys.resize(k, 0);
                        old_keys.resize(k, 0);
                        forward_new.resize(k, EMPTY);
                        forward_old.resize(k, EMPTY);
                        let (mut n_new, mut n_old) = (0, 0);
                        for s in 0..k {
                            let j = row[s];
                            let key = candidate_key(pri[s], j);
                            let listed = j != EMPTY;
                            new_keys[n_new] = key;
                            forward_new[n_new] = j;
                            n_new += usize::from(listed & flags[s]);
                            old_keys[n_old] = key;
                            forward_old[n_old] = j;
                            n_old += usize::from(listed & !flags[s] & wants_old);
                        }
                        new_keys.truncate(n_new);
                        old_keys.truncate(n_old);
                        forward_new.truncate(n_new);
                        forward_old.truncate(n_old);
                        // A reverse edge repeats a forward one when the two rows list each
                        // other (same flag, same priority): keep one.
                        add_reverse(&mut new_keys, reverse_new.row(r), &forward_new);
                        let kept = keep_smallest(&mut new_keys, cap);
                        for (o, &key) in new_ids[r * cap..].iter_mut().zip(&new_keys[..kept]) {
                            *o = key as u32;
                        }
                        new_len[r] = kept as u32;
                        // Sampled forward new edges become old.
                        if kept > 0 {
                            let last = new_keys[kept - 1];
                            let all = new_keys.len() <= cap;
                            for s in 0..k {
                                let sampled = all | (candidate_key(pri[s], row[s]) <= last);
                                flags[s] &= !sampled;
                            }
                        }
                        old_len[r] = 0;
                        if wants_old {
                            add_reverse(&mut old_keys, reverse_old.row(r), &forward_old);
                            let kept = keep_smallest(&mut old_keys, cap);
                            for (o, &key) in old_ids[r * cap..].iter_mut().zip(&old_keys[..kept]) {
                                *o = key as u32;
                            }
                            old_len[r] = kept as u32;
                        }
                    }
                },
            );
    }
}

/// One bucket's reverse edges as (priority, source) keys, grouped by target row.
struct ReverseRows {
    start: Vec<u32>,
    keys: Vec<u64>,
}

impl ReverseRows {
    fn row(&self, r: usize) -> &[u64] {
        &self.keys[self.start[r] as usize..self.start[r + 1] as usize]
    }
}

/// Collects bucket `bucket`'s records from every producer, grouped by row (a counting sort).
fn gather_reverse<P>(
    producers: &[P],
    part: impl Fn(&P) -> &ReverseBuckets,
    bucket: usize,
    base: usize,
    rows: usize,
) -> ReverseRows {
    let mut start = vec![0u32; rows + 1];
    for p in producers {
        for rec in &part(p)[bucket] {
            start[rec[0] as usize - base + 1] += 1;
        }
    }
    for r in 0..rows {
        start[r + 1] += start[r];
    }
    let mut next = start.clone();
    let mut keys = vec![0u64; start[rows] as usize];
    for p in producers {
        for rec in &part(p)[bucket] {
            let slot = &mut next[rec[0] as usize - base];
            keys[*slot as usize] = candidate_key(rec[1], rec[2]);
            *slot += 1;
        }
    }
    ReverseRows { start, keys }
}

/// Appends the reverse-edge keys whose source is not among `forward` (ids of the row's own
/// edges of the same flag).
#[inline]
fn add_reverse(keys: &mut Vec<u64>, reverse: &[u64], forward: &[u32]) {
    if forward.len() <= 16 {
        // A fixed width the compiler turns into a few vector compares (no source is EMPTY).
        let mut padded = [EMPTY; 16];
        padded[..forward.len()].copy_from_slice(forward);
        for &key in reverse {
            let source = key as u32;
            if !padded.iter().fold(false, |seen, &f| seen | (f == source)) {
                keys.push(key);
            }
        }
        return;
    }
    for &key in reverse {
        let source = key as u32;
        if !forward.iter().fold(false, |seen, &f| seen | (f == source)) {
            keys.push(key);
        }
    }
}

/// Moves the `cap` smallest of the distinct `keys` to the front (in no particular order) and
/// returns how many that is.
#[inline]
fn keep_smallest(keys: &mut [u64], cap: usize) -> usize {
    if cap > 0 && keys.len() > cap {
        keys.select_nth_unstable(cap - 1);
    }
    keys.len().min(cap)
}

/// Long rows (more than `2 · TREE_DIM` informative columns) are split by the trees in their
/// leading `TREE_DIM` principal coordinates. A tree level costs one dot product a row, which
/// on 784 raw dimensions made the trees a sixth of the whole search; and splits along the
/// directions of largest spread keep near rows together better than random ones (on MNIST a
/// 48-d random projection left 864,000 list changes to the first round, these 600,000, and
/// the rounds measured 15% fewer distances). Leaf pairs are still measured in full.
const TREE_DIM: usize = 48;
/// Rows the principal axes and column variances are estimated from (evenly spaced): they only
/// steer the trees and the column order, never a distance.
const AXES_SAMPLE: usize = 4096;

/// The columns of `x` that are not constant (a constant column adds nothing to any distance).
fn informative_columns(x: MatrixView<'_>) -> Vec<usize> {
    let d = x.dim();
    let (lo, hi) = x
        .as_slice()
        .par_chunks(4096 * d.max(1))
        .map(|block| {
            let (mut lo, mut hi) = (vec![f32::INFINITY; d], vec![f32::NEG_INFINITY; d]);
            for row in block.chunks(d.max(1)) {
                for ((l, h), &v) in lo.iter_mut().zip(hi.iter_mut()).zip(row) {
                    *l = l.min(v);
                    *h = h.max(v);
                }
            }
            (lo, hi)
        })
        .reduce(
            || (vec![f32::INFINITY; d], vec![f32::NEG_INFINITY; d]),
            |(mut lo, mut hi), (l2, h2)| {
                for (a, b) in lo.iter_mut().zip(&l2) {
                    *a = a.min(*b);
                }
                for (a, b) in hi.iter_mut().zip(&h2) {
                    *a = a.max(*b);
                }
                (lo, hi)
            },
        );
    (0..d).filter(|&c| lo[c] < hi[c]).collect()
}

/// Subspace-iteration steps for the leading axes: they only steer the trees' splits, never a
/// distance, so a rough subspace is enough.
const AXIS_ITERATIONS: usize = 3;

/// Orthonormal axes (`p × w` row-major, decreasing variance) spanning roughly the leading
/// principal subspace of the centred `s × w` sample: a few steps of subspace iteration on its
/// Gram matrix from a seeded start, then Rayleigh–Ritz. Fixed row groups and sequential dense
/// algebra, so the axes do not depend on the thread count.
fn leading_axes(sample: &[f32], s: usize, w: usize, p: usize, seed: u64) -> Vec<f32> {
    const GROUPS: usize = 4;
    let partials: Vec<Vec<f32>> = (0..GROUPS)
        .into_par_iter()
        .map(|g| {
            let rows = g * s / GROUPS..(g + 1) * s / GROUPS;
            let block =
                MatRef::from_row_major_slice(&sample[rows.start * w..rows.end * w], rows.len(), w);
            let mut gram = vec![0.0f32; w * w];
            matmul(
                MatMut::from_column_major_slice_mut(&mut gram, w, w),
                Accum::Replace,
                block.transpose(),
                block,
                1.0f32,
                Par::Seq,
            );
            gram
        })
        .collect();
    let mut gram = vec![0.0f64; w * w];
    for part in &partials {
        for (g, &v) in gram.iter_mut().zip(part) {
            *g += f64::from(v);
        }
    }
    let g = MatRef::from_column_major_slice(&gram, w, w);
    let times_gram = |q: &[f64], out: &mut [f64]| {
        matmul(
            MatMut::from_column_major_slice_mut(out, w, p),
            Accum::Replace,
            g,
            MatRef::from_column_major_slice(q, w, p),
            1.0f64,
            Par::Seq,
        );
    };
    let mut rng = Rng::derive(seed ^ 0xA7E5, 0);
    // Power steps with the columns only rescaled (the leading directions' spread stays far
    // within f64's range over a few steps), orthonormalised once at the end.
    let mut q: Vec<f64> = (0..w * p).map(|_| rng.normal()).collect();
    let mut gq = vec![0.0f64; w * p];
    for _ in 0..AXIS_ITERATIONS {
        times_gram(&q, &mut gq);
        for (dst, src) in q.chunks_mut(w).zip(gq.chunks(w)) {
            let norm = src.iter().map(|v| v * v).sum::<f64>().sqrt();
            let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
            for (d, &v) in dst.iter_mut().zip(src) {
                *d = v * inv;
            }
        }
    }
    crate::linalg::orthonormalize(&mut q, w, p, &mut rng);
    times_gram(&q, &mut gq);
    // Rayleigh–Ritz: T = Qᵀ G Q, its eigenvectors rotate Q into axes by decreasing variance.
    let mut t = vec![0.0f64; p * p];
    for a in 0..p {
        for b in 0..p {
            t[a * p + b] = q[a * w..(a + 1) * w]
                .iter()
                .zip(&gq[b * w..(b + 1) * w])
                .map(|(u, v)| u * v)
                .sum();
        }
    }
    for a in 0..p {
        for b in 0..a {
            let v = 0.5 * (t[a * p + b] + t[b * p + a]);
            t[a * p + b] = v;
            t[b * p + a] = v;
        }
    }
    let Some((_, vecs)) = crate::linalg::dense_symmetric_eigen(p, &t) else {
        return q.iter().map(|&v| v as f32).collect();
    };
    let mut axes = vec![0.0f32; p * w];
    for (a, axis) in axes.chunks_mut(w).enumerate() {
        let col = p - 1 - a; // eigenvalues ascend
        for (i, o) in axis.iter_mut().enumerate() {
            *o = (0..p)
                .map(|l| q[l * w + i] * vecs[l * p + col])
                .sum::<f64>() as f32;
        }
    }
    axes
}

/// Rows per block in the projection pass (a block's GEMM runs on one thread, so the bits do
/// not depend on the thread count).
const PROJECT_ROWS: usize = 256;

/// How long rows are searched: the informative columns, largest variance first (a partial
/// sum over the first 128-column block then passes a bound sooner; on MNIST the first pixels
/// are the blank top of the image), and the leading principal axes the trees split.
struct LongRows {
    /// Informative columns in search order.
    columns: Vec<usize>,
    /// `TREE_DIM × w` row-major, over `columns`.
    axes: Vec<f32>,
    mean: Vec<f32>,
}

impl LongRows {
    fn fit(x: MatrixView<'_>, mut columns: Vec<usize>, seed: u64) -> Self {
        let (n, w) = (x.n_rows(), columns.len());
        let s = n.min(AXES_SAMPLE);
        let mut sample = vec![0.0f32; s * w];
        sample.par_chunks_mut(w).enumerate().for_each(|(i, out)| {
            let src = x.row(i * n / s);
            for (o, &c) in out.iter_mut().zip(&columns) {
                *o = src[c];
            }
        });
        let mut mean = vec![0.0f64; w];
        for row in sample.chunks(w) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += f64::from(v);
            }
        }
        let mean: Vec<f32> = mean.iter().map(|m| (m / s as f64) as f32).collect();
        let mut variance = vec![0.0f64; w];
        for row in sample.chunks_mut(w) {
            for ((v, m), var) in row.iter_mut().zip(&mean).zip(variance.iter_mut()) {
                *v -= m;
                *var += f64::from(*v) * f64::from(*v);
            }
        }
        // Reorder the sample's columns too, so the axes come out over the search order.
        let mut order: Vec<usize> = (0..w).collect();
        order.sort_by(|&a, &b| variance[b].total_cmp(&variance[a]).then(a.cmp(&b)));
        let sorted_sample: Vec<f32> = sample
            .chunks(w)
            .flat_map(|row| order.iter().map(move |&c| row[c]))
            .collect();
        columns = order.iter().map(|&c| columns[c]).collect();
        let mean = order.iter().map(|&c| mean[c]).collect();
        let axes = leading_axes(&sorted_sample, s, w, TREE_DIM.min(w), seed);
        Self {
            columns,
            axes,
            mean,
        }
    }

    /// The rows' coordinates along the axes (`n × TREE_DIM`, original order).
    fn tree_coordinates(&self, x: MatrixView<'_>) -> Vec<f32> {
        let (n, w) = (x.n_rows(), self.columns.len());
        let p = self.axes.len() / w.max(1);
        let axes = MatRef::from_row_major_slice(&self.axes, p, w);
        let mut y = vec![0.0f32; n * p];
        y.par_chunks_mut(PROJECT_ROWS * p)
            .enumerate()
            .for_each(|(b, out)| {
                let rows = out.len() / p;
                let mut buf = Vec::with_capacity(rows * w);
                for i in b * PROJECT_ROWS..b * PROJECT_ROWS + rows {
                    let src = x.row(i);
                    buf.extend(
                        self.columns
                            .iter()
                            .zip(&self.mean)
                            .map(|(&c, &m)| src[c] - m),
                    );
                }
                let xc = MatRef::from_row_major_slice(&buf, rows, w);
                let dst = MatMut::from_row_major_slice_mut(out, rows, p);
                matmul(dst, Accum::Replace, xc, axes.transpose(), 1.0f32, Par::Seq);
            });
        y
    }

    /// The search rows (informative columns in search order) in the order `perm`, in half
    /// precision when allowed and exact (see [`SearchRows`]), gathered straight into it.
    fn search_rows(&self, x: MatrixView<'_>, perm: &[u32], allow_half: bool) -> SearchRows {
        let w = self.columns.len();
        let gather = |i: usize, dst: &mut [f32]| {
            // The rows are read in leaf order, all over memory: start loading the next one.
            if let Some(&next) = perm.get(i + 1) {
                prefetch(x.row(next as usize), 64);
            }
            let src = x.row(perm[i] as usize);
            for (o, &c) in dst.iter_mut().zip(&self.columns) {
                *o = src[c];
            }
        };
        if allow_half && let Some((values, kernel)) = rows_to_half_exact(perm.len(), w, gather) {
            return SearchRows::Half {
                values,
                dim: w,
                kernel,
            };
        }
        let mut values = vec![0.0f32; perm.len() * w];
        values
            .par_chunks_mut(w.max(1))
            .enumerate()
            .for_each(|(i, dst)| gather(i, dst));
        SearchRows::Single { values, dim: w }
    }
}

/// The rows NN-descent measures (in leaf order, `dim` values each). Long rows whose values
/// half precision holds exactly (8-bit pixels scaled by a power of two, embeddings stored in
/// half precision) are kept in half precision: the kernel reads half the bytes, and since it
/// widens them to the very `f32` values, every distance, and so the graph, is bit for bit the
/// one the `f32` rows give.
///
/// Every distance NN-descent keeps goes through the one (early-abandoning) kernel, so a pair
/// measured twice gets a bit-identical value: the neighbour lists' duplicate check relies on it.
enum SearchRows {
    Single {
        values: Vec<f32>,
        dim: usize,
    },
    Half {
        values: Vec<u16>,
        dim: usize,
        kernel: HalfRowsKernel,
    },
}

impl SearchRows {
    /// The `f32` rows, if that is how they are stored.
    fn single(&self) -> Option<&[f32]> {
        match self {
            Self::Single { values, .. } => Some(values),
            Self::Half { .. } => None,
        }
    }

    /// [`squared_l2_bounded_rows`] from row `a` to the rows `ids`.
    #[inline]
    fn bounded_rows(&self, a: u32, ids: &[u32], bounds: &[f32], out: &mut [f32]) {
        let a = a as usize;
        match self {
            Self::Single { values, dim } => squared_l2_bounded_rows(
                &values[a * dim..(a + 1) * dim],
                values,
                *dim,
                ids,
                bounds,
                out,
            ),
            Self::Half {
                values,
                dim,
                kernel,
            } => kernel(
                &values[a * dim..(a + 1) * dim],
                values,
                *dim,
                ids,
                bounds,
                out,
            ),
        }
    }

    /// The whole distance between rows `a` and `b`.
    fn distance(&self, a: u32, b: u32) -> f32 {
        let (a, b) = (a as usize, b as usize);
        match self {
            Self::Single { values, dim } => squared_l2_bounded(
                &values[a * dim..(a + 1) * dim],
                &values[b * dim..(b + 1) * dim],
                f32::INFINITY,
            ),
            Self::Half {
                values,
                dim,
                kernel,
            } => {
                let mut out = [0.0f32];
                kernel(
                    &values[a * dim..(a + 1) * dim],
                    values,
                    *dim,
                    &[b as u32],
                    &[f32::INFINITY],
                    &mut out,
                );
                out[0]
            }
        }
    }

    /// Starts loading the first 128 values of row `i` (the kernel's first block).
    #[inline]
    fn prefetch_row(&self, i: u32) {
        let i = i as usize;
        match self {
            Self::Single { values, dim } => prefetch(&values[i * dim..(i + 1) * dim], 8),
            Self::Half { values, dim, .. } => prefetch(&values[i * dim..(i + 1) * dim], 4),
        }
    }
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

    // Long rows: search in principal coordinates and residual (see `PcaSpace`), trees split
    // the leading coordinates. Otherwise the rows themselves, constant columns dropped.
    let columns = if d > 2 * TREE_DIM {
        informative_columns(x)
    } else {
        (0..d).collect()
    };
    let permute = |src: MatrixView<'_>, perm: &[u32]| -> Vec<f32> {
        let w = src.dim();
        let mut out = vec![0.0f32; n * w];
        out.par_chunks_mut(w.max(1))
            .zip(perm.par_iter())
            .for_each(|(dst, &from)| dst.copy_from_slice(src.row(from as usize)));
        out
    };
    // Locality: rows are copied in the first tree's leaf order; the search works in that index
    // space.
    let (xs, d, first, tree_rows) = if columns.len() > 2 * TREE_DIM && n > 2 * TREE_DIM {
        let long = LongRows::fit(x, columns, seed);
        let tree_input = long.tree_coordinates(x);
        let tree_view = MatrixView::new(&tree_input, n, TREE_DIM)?;
        let first = rp_leaves(tree_view, config.leaf_size, seed);
        let w = long.columns.len();
        let xs = long.search_rows(x, &first.order, config.half_precision);
        let tree_rows = permute(tree_view, &first.order);
        (xs, w, first, Some(tree_rows))
    } else {
        let reduced: Option<Vec<f32>> = (columns.len() < d).then(|| {
            let w = columns.len();
            let mut out = vec![0.0f32; n * w];
            if w > 0 {
                out.par_chunks_mut(w).enumerate().for_each(|(i, o)| {
                    let src = x.row(i);
                    for (v, &c) in o.iter_mut().zip(&columns) {
                        *v = src[c];
                    }
                });
            }
            out
        });
        let base = match &reduced {
            Some(r) => MatrixView::new(r, n, columns.len())?,
            None => x,
        };
        let first = rp_leaves(base, config.leaf_size, seed);
        let xs = SearchRows::Single {
            values: permute(base, &first.order),
            dim: base.dim(),
        };
        (xs, base.dim(), first, None)
    };
    let perm = first.order.clone();
    // Short rows are their own tree rows (and always stored in `f32`).
    let tree_rows_view = match &tree_rows {
        Some(t) => MatrixView::new(t, n, TREE_DIM)?,
        None => MatrixView::new(xs.single().unwrap_or_default(), n, d)?,
    };

    let mut graph = Graph {
        k,
        dist: vec![f32::INFINITY; n * k],
        idx: vec![EMPTY; n * k],
        new: vec![true; n * k],
    };

    let mut leaf_memory = LeafMemory::new(n);
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
        let (g, memory) = (&graph, &leaf_memory);
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
                let (mut scratch, mut kth) = (PairScratch::default(), Vec::new());
                for l in ls {
                    let leaf = leaves.leaf(l);
                    kth.clear();
                    kth.extend(leaf.iter().map(|&r| g.threshold(r as usize)));
                    for (p, &a) in leaf.iter().enumerate() {
                        let (others, others_kth) = (&leaf[p + 1..], &kth[p + 1..]);
                        measure_and_file(
                            &xs,
                            memory,
                            a,
                            kth[p],
                            others,
                            others_kth,
                            &mut scratch,
                            &mut buckets,
                        );
                    }
                }
                buckets
            })
            .collect();
        apply(&mut graph, producers);
        // Only now: the tree's own pairs are not to be skipped.
        if config.skip_leaf_pairs {
            leaf_memory.remember(tree, &leaves);
        }
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
                    let dd = xs.distance(i as u32, j);
                    insert_unique_flagged(dist, idx, new, dd, j, true);
                }
            }
            // Still short only if n is tiny: fill in index order.
            let mut j = 0u32;
            while idx[k - 1] == EMPTY && (j as usize) < n {
                if j as usize != i {
                    let dd = xs.distance(i as u32, j);
                    insert_unique_flagged(dist, idx, new, dd, j, true);
                }
                j += 1;
            }
        });

    let mc = config.max_candidates;
    let mut pool = CandidatePool::new(n, k, mc);
    let stop_below = (config.delta * (n * k) as f64) as u64;
    for round in 0..config.max_rounds {
        ctx.check_cancelled()?;
        pool.fill(&mut graph, seed, round as u64);
        // Local join.
        let (g, memory) = (&graph, &leaf_memory);
        let (new_lists, old_lists) = (&pool.new, &pool.old);
        let producers: Vec<Buckets> = (0..n)
            .into_par_iter()
            .chunks(join_chunk_rows(n))
            .map(|rows| {
                let mut buckets: Buckets = vec![Vec::new(); n_buckets];
                let (mut cand, mut thr) = (Vec::new(), Vec::new());
                let mut scratch = PairScratch::default();
                for v in rows {
                    // The next row's candidates come from all over memory: start loading them.
                    if v + 1 < n {
                        for &c in new_lists.list(v + 1).iter().chain(old_lists.list(v + 1)) {
                            xs.prefetch_row(c);
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
                        measure_and_file(
                            &xs,
                            memory,
                            cand[p],
                            thr[p],
                            &cand[p + 1..],
                            &thr[p + 1..],
                            &mut scratch,
                            &mut buckets,
                        );
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A graph of `n` rows whose lists hold the rows `k` ids further on, at distance = offset.
    fn ring(n: usize, k: usize) -> Graph {
        let mut g = Graph {
            k,
            dist: vec![f32::INFINITY; n * k],
            idx: vec![EMPTY; n * k],
            new: vec![false; n * k],
        };
        for i in 0..n {
            for s in 0..k {
                g.dist[i * k + s] = (s + 1) as f32;
                g.idx[i * k + s] = ((i + s + 1) % n) as u32;
            }
        }
        g
    }

    /// Entries of `after` that `before` did not list, counted by brute force.
    fn entries_added(before: &Graph, after: &Graph) -> u64 {
        let k = before.k;
        (0..before.idx.len() / k)
            .map(|i| {
                let old = &before.idx[i * k..(i + 1) * k];
                after.idx[i * k..(i + 1) * k]
                    .iter()
                    .filter(|&&j| j != EMPTY && !old.contains(&j))
                    .count() as u64
            })
            .sum()
    }

    #[test]
    fn the_change_count_is_the_entries_added_whatever_the_update_order() {
        let (n, k) = (2 * BUCKET_ROWS + 7, 4);
        let n_buckets = n.div_ceil(BUCKET_ROWS);
        // Updates into row 3: one that is later pushed out again by closer ones (so counting
        // successful inserts depends on the order), one repeated, one already listed, one too
        // far; plus one each into rows in the other buckets.
        let updates = [
            (3u32, 900u32, 3.5f32),
            (3, 901, 0.5),
            (3, 902, 0.25),
            (3, 903, 0.75),
            (3, 903, 0.75),
            (3, 4, 1.0),
            (3, 904, 9.0),
            (BUCKET_ROWS as u32 + 1, 5, 0.5),
            (n as u32 - 1, 6, 2.5),
        ];
        let producers = |order: &[usize]| -> Vec<Buckets> {
            order
                .chunks(3)
                .map(|part| {
                    let mut buckets: Buckets = vec![Vec::new(); n_buckets];
                    for &u in part {
                        let (t, o, d) = updates[u];
                        buckets[t as usize / BUCKET_ROWS].push((t, o, d));
                    }
                    buckets
                })
                .collect()
        };
        let forward: Vec<usize> = (0..updates.len()).collect();
        let backward: Vec<usize> = forward.iter().rev().copied().collect();
        let before = ring(n, k);
        let (mut a, mut b) = (ring(n, k), ring(n, k));
        let changes_a = apply(&mut a, producers(&forward));
        let changes_b = apply(&mut b, producers(&backward));
        assert_eq!(a.idx, b.idx);
        assert_eq!(a.dist, b.dist);
        // Row 3 gains 902, 901, 903 (900 is pushed out again); the other two rows gain one each.
        assert_eq!(entries_added(&before, &a), 5);
        assert_eq!(changes_a, 5);
        assert_eq!(changes_b, 5);
    }
}
