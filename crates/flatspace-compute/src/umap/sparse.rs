//! A compressed-sparse-row weighted graph: the fuzzy simplicial set UMAP optimises, and the
//! operator its spectral initialisation works on.

use rayon::prelude::*;

/// Rows of `(column, value)` pairs grouped in blocks of consecutive rows.
pub(crate) type RowBlocks = Vec<Vec<(usize, Vec<(u32, f32)>)>>;

/// A square sparse matrix in CSR form. Row `i` holds `cols[row_ptr[i]..row_ptr[i + 1]]`, sorted
/// ascending, with the matching `vals`.
#[derive(Debug, Clone, PartialEq)]
pub struct CsrGraph {
    pub n_rows: usize,
    pub row_ptr: Vec<usize>,
    pub cols: Vec<u32>,
    pub vals: Vec<f32>,
}

impl CsrGraph {
    pub fn empty(n_rows: usize) -> Self {
        Self {
            n_rows,
            row_ptr: vec![0; n_rows + 1],
            cols: Vec::new(),
            vals: Vec::new(),
        }
    }

    pub fn nnz(&self) -> usize {
        self.cols.len()
    }

    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let r = self.row_ptr[i]..self.row_ptr[i + 1];
        (&self.cols[r.clone()], &self.vals[r])
    }

    /// Builds the graph from per-row blocks of `(col, val)` (each block = consecutive rows).
    pub(crate) fn from_row_blocks(n_rows: usize, blocks: RowBlocks) -> Self {
        let mut row_ptr = Vec::with_capacity(n_rows + 1);
        row_ptr.push(0);
        let total: usize = blocks
            .iter()
            .flat_map(|b| b.iter().map(|(_, r)| r.len()))
            .sum();
        let mut cols = Vec::with_capacity(total);
        let mut vals = Vec::with_capacity(total);
        for block in blocks {
            for (_, row) in block {
                for (c, v) in row {
                    cols.push(c);
                    vals.push(v);
                }
                row_ptr.push(cols.len());
            }
        }
        debug_assert_eq!(row_ptr.len(), n_rows + 1);
        Self {
            n_rows,
            row_ptr,
            cols,
            vals,
        }
    }

    /// Largest stored value (0 for an empty graph).
    pub fn max_value(&self) -> f32 {
        self.vals.iter().copied().fold(0.0, f32::max)
    }

    /// Drops entries `<= threshold` (the reference drops weights below `max / n_epochs`, which
    /// would never be sampled in the optimisation).
    pub fn prune_below(&self, threshold: f32) -> Self {
        let mut row_ptr = Vec::with_capacity(self.n_rows + 1);
        row_ptr.push(0);
        let mut cols = Vec::with_capacity(self.nnz());
        let mut vals = Vec::with_capacity(self.nnz());
        for i in 0..self.n_rows {
            let (c, v) = self.row(i);
            for (&c, &v) in c.iter().zip(v) {
                if v >= threshold && v > 0.0 {
                    cols.push(c);
                    vals.push(v);
                }
            }
            row_ptr.push(cols.len());
        }
        Self {
            n_rows: self.n_rows,
            row_ptr,
            cols,
            vals,
        }
    }

    /// Weighted degree of every row, in f64.
    pub fn degrees(&self) -> Vec<f64> {
        (0..self.n_rows)
            .into_par_iter()
            .map(|i| self.row(i).1.iter().map(|&v| f64::from(v)).sum())
            .collect()
    }

    /// Connected components (the graph is symmetric): a label per row, labels numbered from 0
    /// in order of their smallest row, and the number of components.
    pub fn connected_components(&self) -> (Vec<u32>, usize) {
        let n = self.n_rows;
        let mut label = vec![u32::MAX; n];
        let mut n_comp = 0u32;
        let mut stack = Vec::new();
        for start in 0..n {
            if label[start] != u32::MAX {
                continue;
            }
            label[start] = n_comp;
            stack.push(start);
            while let Some(i) = stack.pop() {
                for &c in self.row(i).0 {
                    let c = c as usize;
                    if label[c] == u32::MAX {
                        label[c] = n_comp;
                        stack.push(c);
                    }
                }
            }
            n_comp += 1;
        }
        (label, n_comp as usize)
    }

    /// The subgraph induced by `rows` (in that order; `position[row]` gives a row's new index).
    pub(crate) fn induced(&self, rows: &[usize], position: &[u32]) -> Self {
        let mut row_ptr = Vec::with_capacity(rows.len() + 1);
        row_ptr.push(0);
        let mut cols = Vec::new();
        let mut vals = Vec::new();
        for &r in rows {
            let (c, v) = self.row(r);
            let start = cols.len();
            for (&c, &v) in c.iter().zip(v) {
                let p = position[c as usize];
                if p != u32::MAX {
                    cols.push(p);
                    vals.push(v);
                }
            }
            // Keep rows sorted under the new numbering.
            let mut pairs: Vec<(u32, f32)> = cols[start..]
                .iter()
                .copied()
                .zip(vals[start..].iter().copied())
                .collect();
            pairs.sort_unstable_by_key(|p| p.0);
            for (k, (c, v)) in pairs.into_iter().enumerate() {
                cols[start + k] = c;
                vals[start + k] = v;
            }
            row_ptr.push(cols.len());
        }
        Self {
            n_rows: rows.len(),
            row_ptr,
            cols,
            vals,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_graph(n: usize) -> CsrGraph {
        let mut blocks = Vec::new();
        let mut rows = Vec::new();
        for i in 0..n {
            let mut r = Vec::new();
            if i > 0 {
                r.push(((i - 1) as u32, 1.0));
            }
            if i + 1 < n {
                r.push(((i + 1) as u32, 0.5));
            }
            rows.push((i, r));
        }
        blocks.push(rows);
        CsrGraph::from_row_blocks(n, blocks)
    }

    #[test]
    fn components_prune_and_induced_subgraph() {
        let g = path_graph(5);
        assert_eq!(g.nnz(), 8);
        assert_eq!(g.connected_components().1, 1);
        // Pruning the 0.5 weights keeps only backward edges: still symmetric-free but connected
        // through them as an undirected walk from the start row.
        let pruned = g.prune_below(0.75);
        assert_eq!(pruned.nnz(), 4);
        let rows = [1usize, 3, 4];
        let mut pos = vec![u32::MAX; 5];
        for (k, &r) in rows.iter().enumerate() {
            pos[r] = k as u32;
        }
        let sub = g.induced(&rows, &pos);
        assert_eq!(sub.n_rows, 3);
        assert_eq!(sub.row(0).0, &[] as &[u32]);
        assert_eq!(sub.row(1).0, &[2]);
        assert_eq!(sub.row(2).0, &[1]);
        assert_eq!(sub.connected_components().1, 2);
        assert!((g.degrees()[2] - 1.5).abs() < 1e-12);
    }
}
