// Row selections as sorted, duplicate-free Uint32Arrays of row ids, and how a new lasso/rectangle
// combines with the current selection: plain replaces, shift adds, alt subtracts.

export type SelectMode = 'replace' | 'add' | 'subtract';

/** Shift adds, alt (option) subtracts; alt wins when both are held, as in most drawing tools. */
export function selectMode(mods: { shiftKey?: boolean; altKey?: boolean }): SelectMode {
  if (mods.altKey) return 'subtract';
  if (mods.shiftKey) return 'add';
  return 'replace';
}

/** Sorted unique copy of any list of row ids. */
export function normalizeRows(rows: ArrayLike<number>): Uint32Array {
  const a = Uint32Array.from(rows as ArrayLike<number>).sort();
  let w = 0;
  for (let i = 0; i < a.length; i++) if (i === 0 || a[i] !== a[i - 1]) a[w++] = a[i];
  return a.slice(0, w);
}

/** a ∪ b of two sorted unique arrays. */
export function union(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let w = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i] < b[j])) out[w++] = a[i++];
    else if (i >= a.length || b[j] < a[i]) out[w++] = b[j++];
    else {
      out[w++] = a[i++];
      j++;
    }
  }
  return out.slice(0, w);
}

/** a ∖ b of two sorted unique arrays. */
export function difference(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length);
  let j = 0;
  let w = 0;
  for (let i = 0; i < a.length; i++) {
    while (j < b.length && b[j] < a[i]) j++;
    if (j < b.length && b[j] === a[i]) continue;
    out[w++] = a[i];
  }
  return out.slice(0, w);
}

/** a ∩ b of two sorted unique arrays. */
export function intersection(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(Math.min(a.length, b.length));
  let i = 0;
  let j = 0;
  let w = 0;
  while (i < a.length && j < b.length) {
    if (a[i] < b[j]) i++;
    else if (b[j] < a[i]) j++;
    else {
      out[w++] = a[i];
      i++;
      j++;
    }
  }
  return out.slice(0, w);
}

/** The selection after a new shape picked `picked` rows (sorted unique) with `mode`. */
export function combineSelection(current: Uint32Array, picked: Uint32Array, mode: SelectMode): Uint32Array {
  if (mode === 'add') return union(current, picked);
  if (mode === 'subtract') return difference(current, picked);
  return picked.slice();
}

/** A per-row membership mask of a sorted row list (`n` rows). Rows ≥ n are ignored. */
export function rowMask(rows: Uint32Array | null, n: number): Uint8Array | null {
  if (!rows) return null;
  const mask = new Uint8Array(n);
  for (const r of rows) if (r < n) mask[r] = 1;
  return mask;
}

/** Whether `row` is in the sorted array (binary search). */
export function hasRow(rows: Uint32Array, row: number): boolean {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid] < row) lo = mid + 1;
    else hi = mid;
  }
  return lo < rows.length && rows[lo] === row;
}

/** Point flags drawn by the renderer (see `renderer.ts` setFlags). */
export const FLAG_NORMAL = 0;
export const FLAG_DIM = 1;
export const FLAG_HIDDEN = 3;

/**
 * One flag per drawn point: with a search active, non-matches are dimmed (or hidden when
 * isolated); with a selection, unselected points are dimmed. `pointRows` maps a point to its row
 * (null: point i is row i, the full table). Returns null when nothing is dimmed or hidden.
 */
export function pointFlags(opts: {
  nPoints: number;
  nRows: number;
  pointRows: Uint32Array | null;
  matches: Uint32Array | null;
  isolate: boolean;
  selection: Uint32Array;
}): Uint8Array | null {
  const { nPoints, nRows, pointRows, matches, isolate, selection } = opts;
  if (!matches && selection.length === 0) return null;
  const matchMask = rowMask(matches, nRows);
  const selMask = selection.length ? rowMask(selection, nRows) : null;
  const flags = new Uint8Array(nPoints);
  for (let i = 0; i < nPoints; i++) {
    const row = pointRows ? pointRows[i] : i;
    if (matchMask && !matchMask[row]) flags[i] = isolate ? FLAG_HIDDEN : FLAG_DIM;
    else if (selMask && !selMask[row]) flags[i] = FLAG_DIM;
  }
  return flags;
}
