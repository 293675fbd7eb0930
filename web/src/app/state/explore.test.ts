import { describe, expect, it } from 'vitest';
import type { TableInfo } from '../../lib/data/types';
import { pointInPolygon, pointsInPolygon, polygonArea, projectToScreen, rectPolygon, type Point2 } from '../../lib/render/lasso';
import { viewProjection2D } from '../../lib/render/camera2d';
import { fit3D, viewProjection3D } from '../../lib/render/camera3d';
import { buildFilter, defaultSearch, opsFor, searchableColumns, type SearchInput } from './search';
import {
  FLAG_DIM,
  FLAG_HIDDEN,
  FLAG_NORMAL,
  combineSelection,
  difference,
  hasRow,
  intersection,
  normalizeRows,
  pointFlags,
  selectMode,
  union,
} from './selection';

// Deterministic pseudo-random numbers so failures reproduce.
function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 4294967296;
}

describe('lasso point-in-polygon', () => {
  const square: Point2[] = [
    [0, 0],
    [10, 0],
    [10, 10],
    [0, 10],
  ];
  // A "C" shape: the notch (x in 3..10, y in 3..7) is outside.
  const cShape: Point2[] = [
    [0, 0],
    [10, 0],
    [10, 3],
    [3, 3],
    [3, 7],
    [10, 7],
    [10, 10],
    [0, 10],
  ];

  it('tells inside from outside for convex and concave polygons', () => {
    expect(pointInPolygon(5, 5, square)).toBe(true);
    expect(pointInPolygon(-1, 5, square)).toBe(false);
    expect(pointInPolygon(11, 5, square)).toBe(false);
    expect(pointInPolygon(1, 5, cShape)).toBe(true);
    expect(pointInPolygon(6, 5, cShape)).toBe(false);
    expect(pointInPolygon(6, 8.5, cShape)).toBe(true);
    expect(pointInPolygon(6, 1.5, cShape)).toBe(true);
  });

  it('does not depend on the direction the lasso was drawn', () => {
    const rev = [...cShape].reverse();
    const r = rng(1);
    for (let k = 0; k < 500; k++) {
      const x = r() * 14 - 2;
      const y = r() * 14 - 2;
      expect(pointInPolygon(x, y, rev)).toBe(pointInPolygon(x, y, cShape));
    }
  });

  it('agrees with a rectangle test on random points', () => {
    const rect = rectPolygon([8, 2], [1, 6]);
    expect(polygonArea(rect)).toBeCloseTo(28);
    const r = rng(2);
    const screen = new Float32Array(2000);
    for (let i = 0; i < screen.length; i++) screen[i] = r() * 10;
    const got = pointsInPolygon(screen, rect);
    const want: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const x = screen[2 * i];
      const y = screen[2 * i + 1];
      if (x > 1 && x < 8 && y > 2 && y < 6) want.push(i);
    }
    expect(Array.from(got)).toEqual(want);
    expect(want.length).toBeGreaterThan(100);
  });

  it('gives the exact answer through its pixel mask, also for self-crossing lassos', () => {
    const r = rng(5);
    for (let trial = 0; trial < 6; trial++) {
      // A wobbly closed curve, self-crossing in odd trials, at fractional pixel positions.
      const poly: Point2[] = [];
      const m = 30 + Math.floor(r() * 120);
      for (let k = 0; k < m; k++) {
        const a = (k / m) * 2 * Math.PI * (trial % 2 ? 2 : 1);
        const rad = 40 + 25 * Math.sin(a * (3 + trial)) + r() * 6;
        poly.push([100 + rad * Math.cos(a) + r() * 0.7, 90 + rad * 0.8 * Math.sin(a) + r() * 0.7]);
      }
      const screen = new Float32Array(8000);
      for (let i = 0; i < screen.length; i++) screen[i] = 20 + r() * 160;
      const got = Array.from(pointsInPolygon(screen, poly));
      const want: number[] = [];
      for (let i = 0; i < 4000; i++) if (pointInPolygon(screen[2 * i], screen[2 * i + 1], poly)) want.push(i);
      expect(got).toEqual(want);
      expect(want.length).toBeGreaterThan(50);
    }
  });

  it('skips excluded and off-screen (NaN) points, and selects nothing with a degenerate lasso', () => {
    const screen = new Float32Array([5, 5, 6, 6, NaN, NaN, 7, 7]);
    expect(Array.from(pointsInPolygon(screen, square, (i) => i !== 1))).toEqual([0, 3]);
    expect(pointsInPolygon(screen, square.slice(0, 2)).length).toBe(0);
  });

  it('projects points as the renderer draws them, in 2D and 3D', () => {
    const vp = { width: 400, height: 300 };
    const cam2 = { x: 1, y: 2, k: 50 };
    const p2 = projectToScreen(new Float32Array([1, 2, 2, 2, 1, 3]), 2, viewProjection2D(cam2, vp), vp);
    // The camera centre is the middle of the viewport; +x goes right, +y goes up.
    expect(p2[0]).toBeCloseTo(200);
    expect(p2[1]).toBeCloseTo(150);
    expect(p2[2]).toBeCloseTo(250);
    expect(p2[5]).toBeCloseTo(100);
    const bounds = { minX: -1, maxX: 1, minY: -1, maxY: 1, minZ: -1, maxZ: 1 };
    const cam3 = fit3D(bounds, vp);
    const p3 = projectToScreen(new Float32Array([0, 0, 0, 0, 0.5, 0]), 3, viewProjection3D(cam3, vp), vp);
    expect(p3[0]).toBeCloseTo(200, 3);
    expect(p3[1]).toBeCloseTo(150, 3);
    // Up in the world is up on the screen.
    expect(p3[3]).toBeLessThan(150);
    // A point behind the camera gets no position.
    const behind = { ...cam3, distance: 0.5, yaw: 0, pitch: 0 };
    const pb = projectToScreen(new Float32Array([0, 0, 5]), 3, viewProjection3D(behind, vp), vp);
    expect(Number.isNaN(pb[0])).toBe(true);
  });
});

describe('selection set operations', () => {
  it('maps modifier keys to replace / add / subtract', () => {
    expect(selectMode({})).toBe('replace');
    expect(selectMode({ shiftKey: true })).toBe('add');
    expect(selectMode({ altKey: true })).toBe('subtract');
    expect(selectMode({ shiftKey: true, altKey: true })).toBe('subtract');
  });

  it('matches Set semantics on random inputs', () => {
    const r = rng(3);
    for (let trial = 0; trial < 50; trial++) {
      const a = Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 60));
      const b = Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 60));
      const A = normalizeRows(a);
      const B = normalizeRows(b);
      const sa = new Set(a);
      const sb = new Set(b);
      const sorted = (s: Iterable<number>) => [...s].sort((x, y) => x - y);
      expect(Array.from(A)).toEqual(sorted(sa));
      expect(Array.from(union(A, B))).toEqual(sorted(new Set([...sa, ...sb])));
      expect(Array.from(difference(A, B))).toEqual(sorted([...sa].filter((x) => !sb.has(x))));
      expect(Array.from(intersection(A, B))).toEqual(sorted([...sa].filter((x) => sb.has(x))));
      for (let x = 0; x < 60; x++) expect(hasRow(A, x)).toBe(sa.has(x));
    }
  });

  it('combines a new shape with the current selection', () => {
    const cur = normalizeRows([1, 2, 3, 10]);
    const picked = normalizeRows([3, 4, 5]);
    expect(Array.from(combineSelection(cur, picked, 'replace'))).toEqual([3, 4, 5]);
    expect(Array.from(combineSelection(cur, picked, 'add'))).toEqual([1, 2, 3, 4, 5, 10]);
    expect(Array.from(combineSelection(cur, picked, 'subtract'))).toEqual([1, 2, 10]);
    // Numeric, not lexicographic, order (a plain Array sort would put 10 before 9).
    expect(Array.from(normalizeRows([10, 9, 100, 9]))).toEqual([9, 10, 100]);
  });

  it('flags points: non-matches dimmed or hidden, unselected dimmed, through a subset map', () => {
    expect(pointFlags({ nPoints: 4, nRows: 4, pointRows: null, matches: null, isolate: false, selection: new Uint32Array() })).toBeNull();
    const matches = normalizeRows([0, 2]);
    const dim = pointFlags({ nPoints: 4, nRows: 4, pointRows: null, matches, isolate: false, selection: new Uint32Array() });
    expect(Array.from(dim!)).toEqual([FLAG_NORMAL, FLAG_DIM, FLAG_NORMAL, FLAG_DIM]);
    const iso = pointFlags({ nPoints: 4, nRows: 4, pointRows: null, matches, isolate: true, selection: normalizeRows([2]) });
    expect(Array.from(iso!)).toEqual([FLAG_DIM, FLAG_HIDDEN, FLAG_NORMAL, FLAG_HIDDEN]);
    // Points 0, 1 of a subset layout are rows 3 and 2.
    const sub = pointFlags({ nPoints: 2, nRows: 4, pointRows: new Uint32Array([3, 2]), matches, isolate: true, selection: new Uint32Array() });
    expect(Array.from(sub!)).toEqual([FLAG_HIDDEN, FLAG_NORMAL]);
  });
});

describe('search state', () => {
  const table: TableInfo = {
    id: 1,
    key: 't',
    step: null,
    n_rows: 10,
    columns: [
      { name: 'emb', kind: 'embedding', dim: 4 },
      { name: 'image', kind: 'image' },
      { name: 'score', kind: 'numeric' },
      { name: 'label', kind: 'category' },
      { name: 'caption', kind: 'text' },
    ],
    defaults: { embedding: { type: 'single', columns: ['emb'] }, color_by: 'label', overlay: 'caption' },
  };
  const base: SearchInput = { column: 'caption', op: 'contains', text: '', min: '', max: '', caseSensitive: false };

  it('offers text-like columns and range only for numbers', () => {
    expect(searchableColumns(table).map((c) => c.name)).toEqual(['caption', 'label', 'score']);
    expect(opsFor('numeric')).toContain('range');
    expect(opsFor('category')).not.toContain('range');
    expect(opsFor('embedding')).toEqual([]);
    expect(defaultSearch(table).column).toBe('caption');
  });

  it('builds contains / regex / range filters and rejects bad input', () => {
    expect(buildFilter(base, 'text')).toEqual({ filter: null });
    expect(buildFilter({ ...base, text: 'cat' }, 'text').filter).toEqual({ column: 'caption', op: 'contains', value: 'cat' });
    expect(buildFilter({ ...base, op: 'regex', text: '^a.*b$', caseSensitive: true }, 'text').filter).toEqual({
      column: 'caption',
      op: 'regex',
      value: '^a.*b$',
      case_sensitive: true,
    });
    const num = { ...base, column: 'score', op: 'range' as const };
    expect(buildFilter({ ...num, min: '0.5' }, 'numeric').filter).toEqual({ column: 'score', op: 'range', min: 0.5 });
    expect(buildFilter({ ...num, min: '-1', max: '2e3' }, 'numeric').filter).toEqual({ column: 'score', op: 'range', min: -1, max: 2000 });
    expect(buildFilter({ ...num, min: 'abc' }, 'numeric').error).toMatch(/min must be a number/);
    expect(buildFilter({ ...num, min: '3', max: '1' }, 'numeric').error).toMatch(/above max/);
    expect(buildFilter({ ...base, column: 'label', op: 'range', min: '1' }, 'category').error).toMatch(/does not apply/);
    expect(buildFilter({ ...base, column: 'nope', text: 'x' }, undefined).error).toMatch(/unknown column nope/);
  });
});
