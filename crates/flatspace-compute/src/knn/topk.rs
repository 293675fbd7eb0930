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
/// search; lists of up to 16 entries on AVX2 CPUs instead compare every slot at once in two
/// vector registers (see the `x86` module), under the same contract.
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
    #[cfg(target_arch = "x86_64")]
    if registers_hold(dist, idx, flags) {
        // SAFETY: AVX2 was detected; the three lists hold k ≤ 16 entries each.
        return unsafe { x86::insert_all_unique_flagged_16(dist, idx, flags, &[(j, d)], flag) } > 0;
    }
    insert_unique_flagged_scalar(dist, idx, flags, d, j, flag)
}

/// Whether the vector path applies: AVX2, and three lists of the same k ≤ 16 entries.
#[cfg(target_arch = "x86_64")]
#[inline]
fn registers_hold(dist: &[f32], idx: &[u32], flags: &[bool]) -> bool {
    let k = dist.len();
    k <= 16 && idx.len() == k && flags.len() == k && std::arch::is_x86_feature_detected!("avx2")
}

/// Offers every `(index, distance)` of `offers` to the list with `flag`, as
/// [`insert_unique_flagged`] would one after another (the list ends the same in any order).
/// Lists of up to 16 entries on AVX2 CPUs stay in registers for the whole batch: one load and
/// one store instead of a store and a reload per offer.
pub(crate) fn insert_all_unique_flagged(
    dist: &mut [f32],
    idx: &mut [u32],
    flags: &mut [bool],
    offers: &[(u32, f32)],
    flag: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if registers_hold(dist, idx, flags) {
        // SAFETY: AVX2 was detected; the three lists hold k ≤ 16 entries each.
        unsafe { x86::insert_all_unique_flagged_16(dist, idx, flags, offers, flag) };
        return;
    }
    for &(j, d) in offers {
        insert_unique_flagged(dist, idx, flags, d, j, flag);
    }
}

/// [`insert_unique_flagged`] after its early refusal, by binary search and shifts.
#[inline]
fn insert_unique_flagged_scalar(
    dist: &mut [f32],
    idx: &mut [u32],
    flags: &mut [bool],
    d: f32,
    j: u32,
    flag: bool,
) -> bool {
    let k = dist.len();
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

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! Insertion into lists of at most 16 entries held in two 8-lane registers: the position
    //! is the count of entries before the new one, and the shift a lane permutation and
    //! blends, so there is no branch on the data and no `memmove` call (the binary search and
    //! the three `copy_within` calls were a fifth of NN-descent's time on 50 dimensions).
    use std::arch::x86_64::*;

    /// Lanes `pos + 1..` take the lane before them, lane `pos` takes `value`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn shifted_in(lo: __m256i, hi: __m256i, value: __m256i, pos: i32) -> (__m256i, __m256i) {
        let lanes_lo = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let lanes_hi = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
        let back_one = _mm256_setr_epi32(7, 0, 1, 2, 3, 4, 5, 6);
        // Each lane takes its left neighbour; lane 8 takes lane 7 from the low register.
        let lo_back = _mm256_permutevar8x32_epi32(lo, back_one);
        let hi_back = _mm256_blend_epi32::<1>(_mm256_permutevar8x32_epi32(hi, back_one), lo_back);
        let p = _mm256_set1_epi32(pos);
        let pick = |cur: __m256i, back: __m256i, lanes: __m256i| {
            let after = _mm256_cmpgt_epi32(lanes, p);
            let at = _mm256_cmpeq_epi32(lanes, p);
            _mm256_blendv_epi8(_mm256_blendv_epi8(cur, back, after), value, at)
        };
        (pick(lo, lo_back, lanes_lo), pick(hi, hi_back, lanes_hi))
    }

    /// [`super::insert_all_unique_flagged`] for k ≤ 16 (and [`super::insert_unique_flagged`],
    /// one offer): the list and its flags (a bit mask) stay in registers while every offer is
    /// compared, placed and shifted in. Returns how many offers went in.
    ///
    /// # Safety
    /// AVX2 must be available, and the three slices hold the same k ≤ 16 entries.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn insert_all_unique_flagged_16(
        dist: &mut [f32],
        idx: &mut [u32],
        flags: &mut [bool],
        offers: &[(u32, f32)],
        flag: bool,
    ) -> usize {
        let k = dist.len() as i32;
        let lanes_lo = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let lanes_hi = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
        let kv = _mm256_set1_epi32(k);
        let (m_lo, m_hi) = (
            _mm256_cmpgt_epi32(kv, lanes_lo),
            _mm256_cmpgt_epi32(kv, lanes_hi),
        );
        // SAFETY: the masked loads and stores touch only lanes below k, inside the slices.
        let (mut d_lo, mut d_hi, mut i_lo, mut i_hi) = unsafe {
            (
                _mm256_maskload_ps(dist.as_ptr(), m_lo),
                _mm256_maskload_ps(dist.as_ptr().add(8), m_hi),
                _mm256_maskload_epi32(idx.as_ptr().cast(), m_lo),
                _mm256_maskload_epi32(idx.as_ptr().add(8).cast(), m_hi),
            )
        };
        let mut bits: u32 = flags
            .iter()
            .enumerate()
            .fold(0, |acc, (l, &f)| acc | (u32::from(f) << l));
        // Unsigned index order by signed compares of the values with the top bit flipped.
        let flip = _mm256_set1_epi32(i32::MIN);
        let count = |m: __m256i| _mm256_movemask_ps(_mm256_castsi256_ps(m)).count_ones();
        let mut inserted = 0;
        for &(j, d) in offers {
            let dv = _mm256_set1_ps(d);
            let jv = _mm256_set1_epi32(j as i32);
            let jf = _mm256_xor_si256(jv, flip);
            let before_new = |dl: __m256, il: __m256i, m: __m256i| {
                let less = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LT_OQ>(dl, dv));
                let same = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_EQ_OQ>(dl, dv));
                let lower_id = _mm256_cmpgt_epi32(jf, _mm256_xor_si256(il, flip));
                _mm256_and_si256(m, _mm256_or_si256(less, _mm256_and_si256(same, lower_id)))
            };
            let pos =
                (count(before_new(d_lo, i_lo, m_lo)) + count(before_new(d_hi, i_hi, m_hi))) as i32;
            if pos >= k {
                continue;
            }
            let listed = |dl: __m256, il: __m256i, m: __m256i| {
                let same = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_EQ_OQ>(dl, dv));
                _mm256_and_si256(m, _mm256_and_si256(same, _mm256_cmpeq_epi32(il, jv)))
            };
            let dup = _mm256_or_si256(listed(d_lo, i_lo, m_lo), listed(d_hi, i_hi, m_hi));
            if _mm256_testz_si256(dup, dup) == 0 {
                continue;
            }
            let (nd_lo, nd_hi) = shifted_in(
                _mm256_castps_si256(d_lo),
                _mm256_castps_si256(d_hi),
                _mm256_castps_si256(dv),
                pos,
            );
            (d_lo, d_hi) = (_mm256_castsi256_ps(nd_lo), _mm256_castsi256_ps(nd_hi));
            (i_lo, i_hi) = shifted_in(i_lo, i_hi, jv, pos);
            let below = (1u32 << pos) - 1;
            bits = (bits & below) | (u32::from(flag) << pos) | ((bits & !below) << 1);
            inserted += 1;
        }
        // SAFETY: as for the loads.
        unsafe {
            _mm256_maskstore_ps(dist.as_mut_ptr(), m_lo, d_lo);
            _mm256_maskstore_ps(dist.as_mut_ptr().add(8), m_hi, d_hi);
            _mm256_maskstore_epi32(idx.as_mut_ptr().cast(), m_lo, i_lo);
            _mm256_maskstore_epi32(idx.as_mut_ptr().add(8).cast(), m_hi, i_hi);
        }
        for (l, f) in flags.iter_mut().enumerate() {
            *f = bits >> l & 1 != 0;
        }
        inserted
    }
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

    /// Offering a batch at once leaves the list and flags that offering it one by one does,
    /// for every k up to 17 (the register path and the fallback), with ties, repeats within
    /// the batch, ids already listed and empty slots.
    #[test]
    fn batch_insertion_matches_one_by_one() {
        let mut rng = crate::rng::Rng::new(5);
        for k in 1..=17usize {
            let mut batched = (vec![f32::INFINITY; k], vec![EMPTY; k], vec![false; k]);
            let mut single = batched.clone();
            for round in 0..60 {
                let offers: Vec<(u32, f32)> = (0..rng.below(12))
                    .map(|_| {
                        let j = rng.below(30) as u32;
                        (j, ((j * 7) % 6) as f32 * 0.5)
                    })
                    .collect();
                let flag = round % 2 == 0;
                insert_all_unique_flagged(
                    &mut batched.0,
                    &mut batched.1,
                    &mut batched.2,
                    &offers,
                    flag,
                );
                for &(j, d) in &offers {
                    insert_unique_flagged(&mut single.0, &mut single.1, &mut single.2, d, j, flag);
                }
                assert_eq!(batched, single, "k {k} round {round}");
            }
            assert!(
                batched.1.iter().all(|&j| j != EMPTY),
                "k {k}: the list filled"
            );
        }
    }

    /// The vector insertion (k ≤ 16) keeps the lists the binary search and shifts keep, on
    /// lists with tied distances, repeated ids and empty slots, for every k up to 17.
    #[test]
    fn vector_insertion_matches_the_scalar_one() {
        let mut rng = crate::rng::Rng::new(11);
        for k in 1..=17usize {
            let mut fast = (vec![f32::INFINITY; k], vec![EMPTY; k], vec![false; k]);
            let mut slow = fast.clone();
            for step in 0..400 {
                // Few distinct distances and ids, so ties and repeats are common; an id keeps
                // one distance (the caller's contract).
                let j = rng.below(24) as u32;
                let d = ((j * 7) % 5) as f32 * 0.5;
                let flag = step % 3 == 0;
                let a = insert_unique_flagged(&mut fast.0, &mut fast.1, &mut fast.2, d, j, flag);
                let b = (k > 0 && before(d, j, slow.0[k - 1], slow.1[k - 1]))
                    && insert_unique_flagged_scalar(
                        &mut slow.0,
                        &mut slow.1,
                        &mut slow.2,
                        d,
                        j,
                        flag,
                    );
                assert_eq!(a, b, "k {k} step {step}");
                assert_eq!(fast, slow, "k {k} step {step}");
            }
            assert!(fast.1.iter().all(|&j| j != EMPTY));
        }
    }
}
