// 3D orbit camera: looks at `target` from `distance` away at angles `yaw` (around the vertical axis)
// and `pitch` (above the horizon), with a perspective projection. Pure maths; the renderer only
// receives the resulting matrix.

import type { Bounds, Viewport } from './camera2d';

export interface Camera3D {
  target: [number, number, number];
  distance: number;
  /** Radians around +y. */
  yaw: number;
  /** Radians above the x-z plane, kept inside (-π/2, π/2). */
  pitch: number;
  /** Vertical field of view, radians. */
  fov: number;
}

const PITCH_LIMIT = Math.PI / 2 - 0.01;

export function eyePosition(cam: Camera3D): [number, number, number] {
  const cp = Math.cos(cam.pitch);
  return [
    cam.target[0] + cam.distance * cp * Math.sin(cam.yaw),
    cam.target[1] + cam.distance * Math.sin(cam.pitch),
    cam.target[2] + cam.distance * cp * Math.cos(cam.yaw),
  ];
}

/** Drag by `(dx, dy)` CSS pixels rotates the view; vertical rotation is clamped short of the poles. */
export function orbit(cam: Camera3D, dx: number, dy: number, radiansPerPx = 0.008): Camera3D {
  const pitch = Math.max(-PITCH_LIMIT, Math.min(PITCH_LIMIT, cam.pitch + dy * radiansPerPx));
  return { ...cam, yaw: cam.yaw - dx * radiansPerPx, pitch };
}

/** Moves the camera toward (factor > 1) or away from (factor < 1) the target. */
export function dolly(cam: Camera3D, factor: number): Camera3D {
  return { ...cam, distance: Math.max(1e-6, cam.distance / factor) };
}

/** Frames a bounding box: target at its centre, far enough that its bounding sphere fits. */
export function fit3D(bounds: Bounds | null, vp: Viewport): Camera3D {
  const base: Camera3D = { target: [0, 0, 0], distance: 3, yaw: 0.6, pitch: 0.35, fov: Math.PI / 4 };
  if (!bounds) return base;
  const c: [number, number, number] = [
    (bounds.minX + bounds.maxX) / 2,
    (bounds.minY + bounds.maxY) / 2,
    (bounds.minZ + bounds.maxZ) / 2,
  ];
  const r = 0.5 * Math.hypot(bounds.maxX - bounds.minX, bounds.maxY - bounds.minY, bounds.maxZ - bounds.minZ) || 1;
  const aspect = vp.width / Math.max(1, vp.height);
  const halfFov = Math.min(base.fov, 2 * Math.atan(Math.tan(base.fov / 2) * aspect)) / 2;
  return { ...base, target: c, distance: (r / Math.sin(halfFov)) * 1.05 };
}

function lookAt(eye: number[], target: number[], up: number[]): Float32Array {
  let zx = eye[0] - target[0], zy = eye[1] - target[1], zz = eye[2] - target[2];
  const zl = Math.hypot(zx, zy, zz) || 1;
  zx /= zl; zy /= zl; zz /= zl;
  let xx = up[1] * zz - up[2] * zy, xy = up[2] * zx - up[0] * zz, xz = up[0] * zy - up[1] * zx;
  const xl = Math.hypot(xx, xy, xz) || 1;
  xx /= xl; xy /= xl; xz /= xl;
  const yx = zy * xz - zz * xy, yy = zz * xx - zx * xz, yz = zx * xy - zy * xx;
  // prettier-ignore
  return new Float32Array([
    xx, yx, zx, 0,
    xy, yy, zy, 0,
    xz, yz, zz, 0,
    -(xx * eye[0] + xy * eye[1] + xz * eye[2]),
    -(yx * eye[0] + yy * eye[1] + yz * eye[2]),
    -(zx * eye[0] + zy * eye[1] + zz * eye[2]),
    1,
  ]);
}

function perspective(fov: number, aspect: number, near: number, far: number): Float32Array {
  const f = 1 / Math.tan(fov / 2);
  const nf = 1 / (near - far);
  // prettier-ignore
  return new Float32Array([
    f / aspect, 0, 0, 0,
    0, f, 0, 0,
    0, 0, (far + near) * nf, -1,
    0, 0, 2 * far * near * nf, 0,
  ]);
}

/** a·b for column-major 4×4 matrices. */
export function multiply4(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(16);
  for (let col = 0; col < 4; col++)
    for (let row = 0; row < 4; row++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[k * 4 + row] * b[col * 4 + k];
      out[col * 4 + row] = s;
    }
  return out;
}

/** Applies a column-major 4×4 matrix to a point; returns clip coordinates `[x, y, z, w]`. */
export function transformPoint(m: Float32Array, p: [number, number, number]): [number, number, number, number] {
  const out: [number, number, number, number] = [0, 0, 0, 0];
  for (let row = 0; row < 4; row++)
    out[row] = m[row] * p[0] + m[4 + row] * p[1] + m[8 + row] * p[2] + m[12 + row];
  return out;
}

export function viewProjection3D(cam: Camera3D, vp: Viewport): Float32Array {
  const eye = eyePosition(cam);
  const aspect = vp.width / Math.max(1, vp.height);
  const near = Math.max(1e-6, cam.distance * 0.01);
  const far = cam.distance * 100;
  return multiply4(perspective(cam.fov, aspect, near, far), lookAt(eye, cam.target, [0, 1, 0]));
}
