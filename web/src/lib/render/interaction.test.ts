import { describe, expect, it } from 'vitest';
import { dragCamera, keyToCamera, normalizeWheel, zoomCamera } from './interaction';
import type { CameraState } from './renderer';

const r = { viewportSize: { width: 400, height: 300 } };
const cam2: CameraState = { kind: '2d', camera: { x: 0, y: 0, k: 10 } };
const cam3: CameraState = { kind: '3d', camera: { target: [0, 0, 0], distance: 5, yaw: 0, pitch: 0, fov: 1 } };

describe('input → camera', () => {
  it('converts wheel lines and pages to pixels', () => {
    expect(normalizeWheel({ deltaX: 0, deltaY: 3, deltaMode: 1 }, 500)).toEqual([0, 48]);
    expect(normalizeWheel({ deltaX: 2, deltaY: 1, deltaMode: 2 }, 500)).toEqual([1000, 500]);
    expect(normalizeWheel({ deltaX: 2, deltaY: -7, deltaMode: 0 }, 500)).toEqual([2, -7]);
  });

  it('drags pan in 2D and orbit in 3D', () => {
    const panned = dragCamera(cam2, 20, 0);
    expect(panned.kind === '2d' && panned.camera.x).toBeCloseTo(-2);
    const orbited = dragCamera(cam3, 50, 0);
    expect(orbited.kind === '3d' && orbited.camera.yaw).not.toBe(0);
    expect(orbited.kind === '3d' && orbited.camera.distance).toBe(5);
  });

  it('zooms around the pointer in 2D and dollies in 3D', () => {
    const z = zoomCamera(cam2, r, 200, 150, 2);
    expect(z).toEqual({ kind: '2d', camera: { x: 0, y: 0, k: 20 } });
    const d = zoomCamera(cam3, r, 0, 0, 2);
    expect(d.kind === '3d' && d.camera.distance).toBeCloseTo(2.5);
  });

  it('maps keys: arrows pan, +/- zoom, f fits, others pass through', () => {
    const left = keyToCamera('ArrowLeft', cam2, r);
    expect(left !== 'fit' && left?.kind === '2d' && left.camera.x).toBeLessThan(0);
    const plus = keyToCamera('+', cam2, r);
    expect(plus !== 'fit' && plus?.kind === '2d' && plus.camera.k).toBeGreaterThan(10);
    const minus = keyToCamera('-', cam2, r);
    expect(minus !== 'fit' && minus?.kind === '2d' && minus.camera.k).toBeLessThan(10);
    expect(keyToCamera('f', cam2, r)).toBe('fit');
    expect(keyToCamera('x', cam2, r)).toBeNull();
  });
});
