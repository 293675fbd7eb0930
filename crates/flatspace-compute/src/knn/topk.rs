//! Fixed-size neighbour lists kept sorted by (distance, index); empty slots hold (+∞, u32::MAX).
//! k is small (≤ a few hundred), so insertion into a sorted array beats a heap.

pub(crate) const EMPTY: u32 = u32::MAX;

/// Whether (d, j) orders strictly before (dk, jk).
#[inline]
pub(crate) fn before(d: f32, j: u32, dk: f32, jk: u32) -> bool {
    d < dk || (d == dk && j < jk)
}

/// Inserts (d, j) if it beats the last entry; no duplicate check. Returns whether it was kept.
#[inline]
pub(crate) fn insert(dist: &mut [f32], idx: &mut [u32], d: f32, j: u32) -> bool {
    let k = dist.len();
    if k == 0 || !before(d, j, dist[k - 1], idx[k - 1]) {
        return false;
    }
    let mut pos = k - 1;
    while pos > 0 && before(d, j, dist[pos - 1], idx[pos - 1]) {
        dist[pos] = dist[pos - 1];
        idx[pos] = idx[pos - 1];
        pos -= 1;
    }
    dist[pos] = d;
    idx[pos] = j;
    true
}

/// Like [`insert`] but skips `j` already present, and keeps a per-slot flag alongside
/// (NN-descent's "new" mark). Returns whether the list changed.
///
/// The duplicate check only looks at entries whose distance equals `d`: callers must compute
/// every distance to a given row with the same kernel, so a repeated `j` always comes with a
/// bit-identical distance (NN-descent does). That turns a scan of all k slots into a binary
/// search.
#[inline]
pub(crate) fn insert_unique_flagged(
    dist: &mut [f32],
    idx: &mut [u32],
    flags: &mut [bool],
    d: f32,
    j: u32,
    flag: bool,
) -> bool {
    let k = dist.len();
    if k == 0 || !before(d, j, dist[k - 1], idx[k - 1]) {
        return false;
    }
    let first_equal = dist.partition_point(|&x| x < d);
    let mut pos = first_equal;
    while pos < k && dist[pos] == d && idx[pos] < j {
        pos += 1;
    }
    if pos < k && dist[pos] == d && idx[pos] == j {
        return false;
    }
    dist.copy_within(pos..k - 1, pos + 1);
    idx.copy_within(pos..k - 1, pos + 1);
    flags.copy_within(pos..k - 1, pos + 1);
    dist[pos] = d;
    idx[pos] = j;
    flags[pos] = flag;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_k_smallest_sorted_with_index_ties() {
        let mut d = [f32::INFINITY; 3];
        let mut i = [EMPTY; 3];
        for (dv, j) in [(5.0, 0), (1.0, 9), (3.0, 4), (1.0, 2), (0.5, 7), (3.0, 1)] {
            insert(&mut d, &mut i, dv, j);
        }
        assert_eq!(i, [7, 2, 9]);
        assert_eq!(d, [0.5, 1.0, 1.0]);
        let mut f = [false; 3];
        // A listed id comes back with its own distance (the caller's contract): refused,
        // whether it sits before or after another entry of that distance.
        assert!(!insert_unique_flagged(&mut d, &mut i, &mut f, 1.0, 2, true));
        assert!(!insert_unique_flagged(&mut d, &mut i, &mut f, 1.0, 9, true));
        assert!(insert_unique_flagged(&mut d, &mut i, &mut f, 0.1, 3, true));
        assert_eq!(i, [3, 7, 2]);
        assert_eq!(d, [0.1, 0.5, 1.0]);
        assert_eq!(f, [true, false, false]);
        // A new id at an existing distance goes after the lower ids of that distance.
        assert!(insert_unique_flagged(&mut d, &mut i, &mut f, 0.5, 8, true));
        assert_eq!(i, [3, 7, 8]);
        assert_eq!(f, [true, false, true]);
    }
}
