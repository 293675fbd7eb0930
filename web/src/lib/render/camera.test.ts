import { describe, expect, it } from 'vitest';
import { computeBounds, fitToView, lerpCamera, pan, screenToWorld, viewProjection2D, worldToScreen, zoomAt } from './camera2d';
import { dolly, eyePosition, fit3D, orbit, transformPoint, viewProjection3D } from './camera3d';

const vp = { width: 800, height: 600 };

describe('2D camera', () => {
  it('screen and world conversions are inverse', () => {
    const cam = { x: 3.5, y: -2, k: 37 };
    for (const [sx, sy] of [[0, 0], [799, 599], [123.4, 456.7]]) {
      const [wx, wy] = screenToWorld(cam, vp, sx, sy);
      const [bx, by] = worldToScreen(cam, vp, wx, wy);
      expect(bx).toBeCloseTo(sx, 9);
      expect(by).toBeCloseTo(sy, 9);
    }
  });

  it('world y points up on screen', () => {
    const cam = { x: 0, y: 0, k: 10 };
    expect(worldToScreen(cam, vp, 0, 1)[1]).toBeLessThan(worldToScreen(cam, vp, 0, 0)[1]);
  });

  it('zooming keeps the point under the cursor fixed', () => {
    const cam = { x: 1, y: 2, k: 5 };
    const before = screenToWorld(cam, vp, 600, 100);
    const next = zoomAt(cam, vp, 600, 100, 3.7);
    expect(next.k).toBeCloseTo(18.5);
    const after = screenToWorld(next, vp, 600, 100);
    expect(after[0]).toBeCloseTo(before[0], 9);
    expect(after[1]).toBeCloseTo(before[1], 9);
  });

  it('panning moves content with the pointer', () => {
    const cam = { x: 0, y: 0, k: 4 };
    const p = worldToScreen(cam, vp, 10, 10);
    const moved = worldToScreen(pan(cam, 30, -20), vp, 10, 10);
    expect(moved[0] - p[0]).toBeCloseTo(30);
    expect(moved[1] - p[1]).toBeCloseTo(-20);
  });

  it('the clip matrix agrees with worldToScreen', () => {
    const cam = { x: -4, y: 9, k: 13 };
    const m = viewProjection2D(cam, vp);
    const [cx, cy] = transformPoint(m, [2, 5, 0]);
    const [sx, sy] = worldToScreen(cam, vp, 2, 5);
    expect(((cx + 1) / 2) * vp.width).toBeCloseTo(sx, 3);
    expect(((1 - cy) / 2) * vp.height).toBeCloseTo(sy, 3);
  });

  it('fit-to-view shows every point inside the padded viewport', () => {
    const coords = new Float32Array([-50, 3, 10, 40, 7, -12, 100, 5, NaN, 1e9]);
    const b = computeBounds(coords, 2);
    expect(b).toEqual({ minX: -50, maxX: 100, minY: -12, maxY: 40, minZ: 0, maxZ: 0 });
    const cam = fitToView(b, vp, 20);
    for (let i = 0; i < 4; i++) {
      const [sx, sy] = worldToScreen(cam, vp, coords[2 * i], coords[2 * i + 1]);
      expect(sx).toBeGreaterThanOrEqual(20 - 1e-6);
      expect(sx).toBeLessThanOrEqual(780 + 1e-6);
      expect(sy).toBeGreaterThanOrEqual(20 - 1e-6);
      expect(sy).toBeLessThanOrEqual(580 + 1e-6);
    }
    // The wider extent touches its padding: no space wasted.
    expect((b!.maxX - b!.minX) * cam.k).toBeCloseTo(760, 3);
  });

  it('fit-to-view handles a single point and no points', () => {
    const one = fitToView(computeBounds(new Float32Array([5, 5]), 2), vp);
    expect(one.x).toBe(5);
    expect(Number.isFinite(one.k) && one.k > 0).toBe(true);
    expect(computeBounds(new Float32Array([NaN, 1]), 2)).toBeNull();
    expect(fitToView(null, vp)).toEqual({ x: 0, y: 0, k: 1 });
  });

  it('camera interpolation ends at its target and scales geometrically', () => {
    const a = { x: 0, y: 0, k: 1 };
    const b = { x: 10, y: -10, k: 100 };
    expect(lerpCamera(a, b, 1)).toEqual(b);
    expect(lerpCamera(a, b, 0.5).k).toBeCloseTo(10);
  });
});

describe('3D orbit camera', () => {
  const bounds = { minX: -1, maxX: 3, minY: -2, maxY: 2, minZ: 0, maxZ: 4 };

  it('fit puts the centre of the bounds at the centre of the screen', () => {
    const cam = fit3D(bounds, vp);
    const [x, y, , w] = transformPoint(viewProjection3D(cam, vp), [1, 0, 2]);
    expect(x / w).toBeCloseTo(0, 5);
    expect(y / w).toBeCloseTo(0, 5);
  });

  it('fit keeps every corner of the box in view', () => {
    const cam = fit3D(bounds, vp);
    const m = viewProjection3D(cam, vp);
    for (const x of [-1, 3]) for (const y of [-2, 2]) for (const z of [0, 4]) {
      const [cx, cy, cz, w] = transformPoint(m, [x, y, z]);
      expect(w).toBeGreaterThan(0);
      expect(Math.abs(cx / w)).toBeLessThanOrEqual(1);
      expect(Math.abs(cy / w)).toBeLessThanOrEqual(1);
      expect(Math.abs(cz / w)).toBeLessThanOrEqual(1);
    }
  });

  it('orbiting keeps the distance and clamps pitch short of the poles', () => {
    let cam = fit3D(bounds, vp);
    const d = Math.hypot(...eyePosition(cam).map((v, i) => v - cam.target[i]));
    cam = orbit(cam, 120, 10_000);
    expect(cam.pitch).toBeLessThan(Math.PI / 2);
    const d2 = Math.hypot(...eyePosition(cam).map((v, i) => v - cam.target[i]));
    expect(d2).toBeCloseTo(d, 6);
    expect(dolly(cam, 2).distance).toBeCloseTo(cam.distance / 2);
  });
});
