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

/** Even-odd test against flat vertex arrays (no tuple destructuring: this runs per point). */
function insideFlat(x: number, y: number, xs: Float64Array, ys: Float64Array): boolean {
  let inside = false;
  const n = xs.length;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const yi = ys[i];
    const yj = ys[j];
    if (yi > y !== yj > y && x < ((xs[j] - xs[i]) * (y - yi)) / (yj - yi) + xs[i]) inside = !inside;
  }
  return inside;
}

// Mask cells: 0 outside, IN inside, EDGE an edge may cross the cell.
const IN = 1;
const EDGE = 2;
/** Above this many pixels in the shape's bounding box, test every point exactly instead. */
const MAX_MASK_PIXELS = 16_000_000;

/**
 * Rasterises the polygon into one cell per CSS pixel of its bounding box: IN, OUT, or EDGE when an
 * edge may pass through the cell. Interior cells come from a scanline fill at cell centres; EDGE is
 * conservative (every cell within a cell of a point sampled every ¼ px along each edge), so a cell
 * not marked EDGE lies wholly on one side and its centre's answer holds for any point in it.
 */
function rasterize(xs: Float64Array, ys: Float64Array, x0: number, y0: number, w: number, h: number): Uint8Array {
  const mask = new Uint8Array(w * h);
  const n = xs.length;
  const crossings: number[] = [];
  for (let r = 0; r < h; r++) {
    const yc = y0 + r + 0.5;
    crossings.length = 0;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      if (ys[i] > yc !== ys[j] > yc) crossings.push(xs[i] + ((yc - ys[i]) * (xs[j] - xs[i])) / (ys[j] - ys[i]));
    }
    crossings.sort((a, b) => a - b);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      // Cells whose centre x0 + c + 0.5 lies strictly between the two crossings.
      const c0 = Math.max(0, Math.floor(crossings[k] - x0 - 0.5) + 1);
      const c1 = Math.min(w - 1, Math.ceil(crossings[k + 1] - x0 - 0.5) - 1);
      if (c1 >= c0) mask.fill(IN, r * w + c0, r * w + c1 + 1);
    }
  }
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const len = Math.hypot(xs[i] - xs[j], ys[i] - ys[j]);
    const steps = Math.max(1, Math.ceil(len * 4));
    for (let s = 0; s <= steps; s++) {
      const t = s / steps;
      const cx = Math.floor(xs[j] + (xs[i] - xs[j]) * t - x0);
      const cy = Math.floor(ys[j] + (ys[i] - ys[j]) * t - y0);
      for (let dy = -1; dy <= 1; dy++) {
        const yy = cy + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = cx + dx;
          if (xx >= 0 && xx < w) mask[yy * w + xx] = EDGE;
        }
      }
    }
  }
  return mask;
}

/**
 * Indices (ascending) of the points whose screen position lies inside `poly` (even-odd rule).
 * `include(i)` leaves out points that are not drawn (hidden classes, points isolated away). A
 * pixel mask of the shape answers most points in O(1); only points in cells an edge crosses get
 * the exact test, so a 200-vertex lasso over a million points stays interactive.
 */
export function pointsInPolygon(screen: Float32Array, poly: readonly Point2[], include?: (i: number) => boolean): Uint32Array {
  if (poly.length < 3) return new Uint32Array(0);
  const xs = Float64Array.from(poly, (p) => p[0]);
  const ys = Float64Array.from(poly, (p) => p[1]);
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] < minX) minX = xs[i];
    if (xs[i] > maxX) maxX = xs[i];
    if (ys[i] < minY) minY = ys[i];
    if (ys[i] > maxY) maxY = ys[i];
  }
  if (!Number.isFinite(minX + maxX + minY + maxY)) return new Uint32Array(0);
  const x0 = Math.floor(minX);
  const y0 = Math.floor(minY);
  const w = Math.floor(maxX) - x0 + 1;
  const h = Math.floor(maxY) - y0 + 1;
  const mask = w * h <= MAX_MASK_PIXELS ? rasterize(xs, ys, x0, y0, w, h) : null;
  const n = screen.length / 2;
  const hits: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = screen[2 * i];
    const y = screen[2 * i + 1];
    // The bounding box rejects most points cheaply (NaN fails every comparison).
    if (!(x >= minX && x <= maxX && y >= minY && y <= maxY)) continue;
    let inside: boolean;
    if (mask) {
      const m = mask[(Math.floor(y) - y0) * w + (Math.floor(x) - x0)];
      inside = m === IN || (m === EDGE && insideFlat(x, y, xs, ys));
    } else inside = insideFlat(x, y, xs, ys);
    if (inside && (!include || include(i))) hits.push(i);
  }
  return Uint32Array.from(hits);
}
