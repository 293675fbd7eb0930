// Screen-space selection: project every point with the camera's matrix to CSS pixels, then keep the
// points inside a lasso polygon or a rectangle. Pure functions (no GL), so they work the same for 2D
// and 3D cameras and are unit-tested without a browser.

import type { Viewport } from './camera2d';

export type Point2 = [number, number];

/** Even-odd rule: true when `(x, y)` lies inside the polygon (vertices in order, implicitly closed). */
export function pointInPolygon(x: number, y: number, poly: readonly Point2[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    // Edge crosses the horizontal ray to the right of (x, y)?
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** The rectangle spanned by two corners as a 4-vertex polygon. */
export function rectPolygon(a: Point2, b: Point2): Point2[] {
  const x0 = Math.min(a[0], b[0]);
  const x1 = Math.max(a[0], b[0]);
  const y0 = Math.min(a[1], b[1]);
  const y1 = Math.max(a[1], b[1]);
  return [
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
  ];
}

/** Twice the signed area; a lasso with (near) zero area selects nothing. */
export function polygonArea(poly: readonly Point2[]): number {
  let a = 0;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) a += (poly[j][0] + poly[i][0]) * (poly[j][1] - poly[i][1]);
  return Math.abs(a) / 2;
}

/**
 * CSS-pixel positions of every point under a column-major view-projection matrix, `[x0, y0, x1, y1,
 * ...]`; NaN for points behind a 3D camera. Same maths as the vertex shader, so what you see is what
 * you select.
 */
export function projectToScreen(positions: Float32Array, dim: 2 | 3, m: Float32Array, vp: Viewport): Float32Array {
  const n = Math.floor(positions.length / dim);
  const out = new Float32Array(n * 2);
  const { width, height } = vp;
  for (let i = 0; i < n; i++) {
    const px = positions[i * dim];
    const py = positions[i * dim + 1];
    const pz = dim === 3 ? positions[i * dim + 2] : 0;
    const cx = m[0] * px + m[4] * py + m[8] * pz + m[12];
    const cy = m[1] * px + m[5] * py + m[9] * pz + m[13];
    const cw = m[3] * px + m[7] * py + m[11] * pz + m[15];
    if (!(cw > 0)) {
      out[2 * i] = NaN;
      out[2 * i + 1] = NaN;
      continue;
    }
    out[2 * i] = ((cx / cw + 1) / 2) * width;
    out[2 * i + 1] = ((1 - cy / cw) / 2) * height;
  }
  return out;
}

/**
 * Indices (ascending) of the points whose screen position lies inside `poly`. `include(i)` leaves
 * out points that are not drawn (hidden classes, points isolated away).
 */
export function pointsInPolygon(screen: Float32Array, poly: readonly Point2[], include?: (i: number) => boolean): Uint32Array {
  if (poly.length < 3) return new Uint32Array(0);
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [x, y] of poly) {
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  const n = screen.length / 2;
  const hits: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = screen[2 * i];
    const y = screen[2 * i + 1];
    // The bounding box rejects most points cheaply (NaN fails every comparison).
    if (!(x >= minX && x <= maxX && y >= minY && y <= maxY)) continue;
    if (include && !include(i)) continue;
    if (pointInPolygon(x, y, poly)) hits.push(i);
  }
  return Uint32Array.from(hits);
}
