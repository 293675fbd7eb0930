// 2D orthographic camera: a world point `(x, y)` at the canvas centre and a scale in CSS pixels per
// world unit. Pure functions, so the maths is unit-tested without WebGL.

export interface Camera2D {
  /** World coordinates shown at the canvas centre. */
  x: number;
  y: number;
  /** CSS pixels per world unit (> 0). */
  k: number;
}

export interface Viewport {
  /** Canvas size in CSS pixels. */
  width: number;
  height: number;
}

export interface Bounds {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  minZ: number;
  maxZ: number;
}

export const MIN_SCALE = 1e-9;
export const MAX_SCALE = 1e9;

const clampScale = (k: number) => Math.min(MAX_SCALE, Math.max(MIN_SCALE, k));

/** World → CSS pixels (origin top-left, y down; world y points up). */
export function worldToScreen(cam: Camera2D, vp: Viewport, wx: number, wy: number): [number, number] {
  return [vp.width / 2 + (wx - cam.x) * cam.k, vp.height / 2 - (wy - cam.y) * cam.k];
}

/** CSS pixels → world. Inverse of `worldToScreen`. */
export function screenToWorld(cam: Camera2D, vp: Viewport, sx: number, sy: number): [number, number] {
  return [cam.x + (sx - vp.width / 2) / cam.k, cam.y - (sy - vp.height / 2) / cam.k];
}

/** Moves the view by a drag of `(dx, dy)` CSS pixels: the content follows the pointer. */
export function pan(cam: Camera2D, dx: number, dy: number): Camera2D {
  return { x: cam.x - dx / cam.k, y: cam.y + dy / cam.k, k: cam.k };
}

/** Scales by `factor` keeping the world point under the screen point `(sx, sy)` fixed. */
export function zoomAt(cam: Camera2D, vp: Viewport, sx: number, sy: number, factor: number): Camera2D {
  const [wx, wy] = screenToWorld(cam, vp, sx, sy);
  const k = clampScale(cam.k * factor);
  // Solve worldToScreen(next, wx, wy) == (sx, sy) for next.x, next.y.
  return { x: wx - (sx - vp.width / 2) / k, y: wy + (sy - vp.height / 2) / k, k };
}

/** Wheel delta (pixels, or lines/pages converted by the caller) → zoom factor; smooth for trackpads. */
export function wheelZoomFactor(deltaY: number): number {
  return Math.exp(-deltaY * 0.0015);
}

/**
 * Bounds of `n` points stored row-major with `dim` components (2 or 3), skipping non-finite
 * values. Returns null when no point is finite.
 */
export function computeBounds(coords: ArrayLike<number>, dim: number): Bounds | null {
  let minX = Infinity, minY = Infinity, minZ = Infinity;
  let maxX = -Infinity, maxY = -Infinity, maxZ = -Infinity;
  const n = Math.floor(coords.length / dim);
  for (let i = 0; i < n; i++) {
    const x = coords[i * dim];
    const y = coords[i * dim + 1];
    const z = dim > 2 ? coords[i * dim + 2] : 0;
    if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z)) continue;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
    if (z < minZ) minZ = z;
    if (z > maxZ) maxZ = z;
  }
  if (minX === Infinity) return null;
  return { minX, minY, maxX, maxY, minZ, maxZ };
}

/**
 * The camera that shows `bounds` whole, centred, with `paddingPx` CSS pixels free on every side.
 * A degenerate extent (one point, a line) gets a unit-sized view around it.
 */
export function fitToView(bounds: Bounds | null, vp: Viewport, paddingPx = 24): Camera2D {
  if (!bounds) return { x: 0, y: 0, k: 1 };
  const w = bounds.maxX - bounds.minX;
  const h = bounds.maxY - bounds.minY;
  const availW = Math.max(1, vp.width - 2 * paddingPx);
  const availH = Math.max(1, vp.height - 2 * paddingPx);
  const extent = Math.max(w, h);
  let k: number;
  if (!(extent > 0)) k = Math.min(availW, availH) / 2;
  else k = Math.min(w > 0 ? availW / w : Infinity, h > 0 ? availH / h : Infinity);
  return { x: (bounds.minX + bounds.maxX) / 2, y: (bounds.minY + bounds.maxY) / 2, k: clampScale(k) };
}

/** Column-major 4×4 matrix mapping world coordinates to clip space for this camera. */
export function viewProjection2D(cam: Camera2D, vp: Viewport): Float32Array {
  const sx = (2 * cam.k) / Math.max(1, vp.width);
  const sy = (2 * cam.k) / Math.max(1, vp.height);
  // prettier-ignore
  return new Float32Array([
    sx, 0, 0, 0,
    0, sy, 0, 0,
    0, 0, 1, 0,
    -cam.x * sx, -cam.y * sy, 0, 1,
  ]);
}

/** Interpolates two cameras (scale geometrically) for animated transitions; `t` in [0, 1]. */
export function lerpCamera(a: Camera2D, b: Camera2D, t: number): Camera2D {
  if (t >= 1) return { ...b };
  return {
    x: a.x + (b.x - a.x) * t,
    y: a.y + (b.y - a.y) * t,
    k: Math.exp(Math.log(a.k) + (Math.log(b.k) - Math.log(a.k)) * t),
  };
}
