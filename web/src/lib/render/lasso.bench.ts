// A lasso over 1,000,000 points, the steps the map runs on release: project every point to the
// screen, keep those inside a 200-vertex lasso, merge with the selection, flag the points to dim.
//   npx vitest bench --run src/lib/render/lasso.bench.ts
import { bench, describe } from 'vitest';
import { combineSelection, normalizeRows, pointFlags } from '../../app/state/selection';
import { viewProjection2D } from './camera2d';
import { pointsInPolygon, projectToScreen, type Point2 } from './lasso';

const N = 1_000_000;
const positions = new Float32Array(2 * N);
let s = 1;
for (let i = 0; i < positions.length; i++) {
  s = (s * 1664525 + 1013904223) >>> 0;
  positions[i] = (s / 4294967296) * 20 - 10;
}
const vp = { width: 1000, height: 800 };
const m = viewProjection2D({ x: 0, y: 0, k: 40 }, vp);
const lasso: Point2[] = [];
for (let a = 0; a < 200; a++) {
  const t = (a / 200) * 2 * Math.PI;
  lasso.push([500 + 250 * Math.cos(t), 400 + 200 * Math.sin(t) * (1 + 0.3 * Math.sin(a / 10))]);
}
const screen = projectToScreen(positions, 2, m, vp);

describe('lasso over 1M points', () => {
  bench('project to screen', () => {
    projectToScreen(positions, 2, m, vp);
  });
  bench('points in a 200-vertex lasso', () => {
    pointsInPolygon(screen, lasso);
  });
  bench('whole lasso: project, test, add to selection, flags', () => {
    const hits = pointsInPolygon(projectToScreen(positions, 2, m, vp), lasso);
    const sel = combineSelection(new Uint32Array(0), normalizeRows(hits), 'add');
    pointFlags({ nPoints: N, nRows: N, pointRows: null, matches: null, isolate: false, selection: sel });
  });
});
