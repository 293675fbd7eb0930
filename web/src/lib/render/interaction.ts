// Pointer, wheel, trackpad and keyboard handling for the point canvas. Framework-free: it turns
// input into camera changes and hover positions through callbacks.

import { pan, wheelZoomFactor, zoomAt } from './camera2d';
import { dolly, orbit } from './camera3d';
import type { Point2 } from './lasso';
import type { CameraState, PointRenderer } from './renderer';

/** What a drag on the map does: move the camera, draw a free-hand lasso, or a rectangle. */
export type MapTool = 'pan' | 'lasso' | 'rect';

export interface ShapeModifiers {
  shiftKey: boolean;
  altKey: boolean;
}

export interface InteractionHandlers {
  getCamera(): CameraState;
  /** A camera the user asked for (drag, wheel, keys). */
  setCamera(camera: CameraState): void;
  /** Pointer at `(x, y)` CSS pixels in the canvas, or null when it left. */
  hover(x: number, y: number): void;
  leave(): void;
  click?(x: number, y: number): void;
  fit(): void;
  /** The active tool (default pan). With pan, a drag holding shift or alt draws a lasso. */
  getTool?(): MapTool;
  /**
   * A selection shape being drawn: its vertices in CSS pixels of the canvas (a rectangle as its
   * two corners), `phase` 'move' while dragging, 'end' on release, 'cancel' on Escape.
   */
  shape?(kind: 'lasso' | 'rect', points: Point2[], phase: 'move' | 'end' | 'cancel', mods: ShapeModifiers): void;
}

/** Pixels per wheel "line" when the browser reports lines (Firefox with a mouse). */
const LINE_PX = 16;

export function normalizeWheel(e: Pick<WheelEvent, 'deltaX' | 'deltaY' | 'deltaMode'>, pageHeight: number): [number, number] {
  const unit = e.deltaMode === 1 ? LINE_PX : e.deltaMode === 2 ? pageHeight : 1;
  return [e.deltaX * unit, e.deltaY * unit];
}

/** Applies a 2D or 3D drag to a camera. */
export function dragCamera(cam: CameraState, dx: number, dy: number): CameraState {
  return cam.kind === '2d' ? { kind: '2d', camera: pan(cam.camera, dx, dy) } : { kind: '3d', camera: orbit(cam.camera, dx, dy) };
}

/** Applies a zoom by `factor` around the CSS pixel `(x, y)`. */
export function zoomCamera(cam: CameraState, renderer: Pick<PointRenderer, 'viewportSize'>, x: number, y: number, factor: number): CameraState {
  return cam.kind === '2d'
    ? { kind: '2d', camera: zoomAt(cam.camera, renderer.viewportSize, x, y, factor) }
    : { kind: '3d', camera: dolly(cam.camera, factor) };
}

/** Keyboard: arrows pan, +/- zoom, 0 or f fit. Returns the new camera, 'fit', or null if unhandled. */
export function keyToCamera(key: string, cam: CameraState, renderer: Pick<PointRenderer, 'viewportSize'>): CameraState | 'fit' | null {
  const { width, height } = renderer.viewportSize;
  const step = 0.1 * Math.min(width, height);
  switch (key) {
    case 'ArrowLeft':
      return dragCamera(cam, step, 0);
    case 'ArrowRight':
      return dragCamera(cam, -step, 0);
    case 'ArrowUp':
      return dragCamera(cam, 0, step);
    case 'ArrowDown':
      return dragCamera(cam, 0, -step);
    case '+':
    case '=':
      return zoomCamera(cam, renderer, width / 2, height / 2, 1.25);
    case '-':
    case '_':
      return zoomCamera(cam, renderer, width / 2, height / 2, 0.8);
    case '0':
    case 'f':
      return 'fit';
    default:
      return null;
  }
}

export function attachInteraction(canvas: HTMLCanvasElement, renderer: PointRenderer, h: InteractionHandlers): () => void {
  let dragging = false;
  let moved = 0;
  let last: [number, number] = [0, 0];
  let hoverFrame = 0;
  let hoverAt: [number, number] | null = null;
  // The selection shape being drawn, if any.
  let shaping: { kind: 'lasso' | 'rect'; points: Point2[]; mods: ShapeModifiers } | null = null;

  const local = (e: MouseEvent): [number, number] => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  const scheduleHover = (p: [number, number]) => {
    hoverAt = p;
    if (hoverFrame) return;
    hoverFrame = requestAnimationFrame(() => {
      hoverFrame = 0;
      if (hoverAt) h.hover(hoverAt[0], hoverAt[1]);
    });
  };

  const onDown = (e: PointerEvent) => {
    if (e.button !== 0) return;
    dragging = true;
    moved = 0;
    last = [e.clientX, e.clientY];
    const tool = h.getTool?.() ?? 'pan';
    const wantsShape = tool !== 'pan' || e.shiftKey || e.altKey;
    if (wantsShape && h.shape) {
      const kind = tool === 'rect' ? 'rect' : 'lasso';
      const p = local(e);
      shaping = { kind, points: kind === 'rect' ? [p, p] : [p], mods: { shiftKey: e.shiftKey, altKey: e.altKey } };
      h.shape(kind, shaping.points, 'move', shaping.mods);
    }
    canvas.setPointerCapture(e.pointerId);
    canvas.focus({ preventScroll: true });
  };
  const onMove = (e: PointerEvent) => {
    if (dragging && shaping) {
      const p = local(e);
      const pts = shaping.points;
      if (shaping.kind === 'rect') pts[1] = p;
      else {
        // Skip sub-pixel moves so a long lasso stays a few hundred vertices.
        const q = pts[pts.length - 1];
        if (Math.abs(p[0] - q[0]) + Math.abs(p[1] - q[1]) < 2) return;
        pts.push(p);
      }
      moved += 1;
      h.shape?.(shaping.kind, pts, 'move', shaping.mods);
    } else if (dragging) {
      const dx = e.clientX - last[0];
      const dy = e.clientY - last[1];
      last = [e.clientX, e.clientY];
      moved += Math.abs(dx) + Math.abs(dy);
      if (dx || dy) h.setCamera(dragCamera(h.getCamera(), dx, dy));
      canvas.style.cursor = 'grabbing';
    } else scheduleHover(local(e));
  };
  const onUp = (e: PointerEvent) => {
    if (!dragging) return;
    dragging = false;
    canvas.style.cursor = '';
    if (canvas.hasPointerCapture(e.pointerId)) canvas.releasePointerCapture(e.pointerId);
    if (shaping) {
      const s = shaping;
      shaping = null;
      if (s.kind === 'lasso') {
        const p = local(e);
        const q = s.points[s.points.length - 1];
        if (p[0] !== q[0] || p[1] !== q[1]) s.points.push(p);
      } else s.points[1] = local(e);
      // Modifiers count whether held at the start or at the end of the drag.
      const mods = { shiftKey: s.mods.shiftKey || e.shiftKey, altKey: s.mods.altKey || e.altKey };
      h.shape?.(s.kind, s.points, 'end', mods);
      // A press without a real drag is still a click that picks a point.
      const [a, b] = [s.points[0], s.points[s.points.length - 1]];
      const drawn = s.kind === 'lasso' ? s.points.length > 2 : Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) >= 4;
      if (drawn) return;
      moved = 0;
    }
    if (moved < 4 && h.click) {
      const [x, y] = local(e);
      h.click(x, y);
    }
  };
  const onLeave = () => {
    hoverAt = null;
    if (!dragging) h.leave();
  };
  const onWheel = (e: WheelEvent) => {
    e.preventDefault();
    const [dx, dy] = normalizeWheel(e, canvas.clientHeight);
    const [x, y] = local(e);
    const cam = h.getCamera();
    if (e.ctrlKey) {
      // Trackpad pinch arrives as a ctrl+wheel with small deltas: zoom faster per pixel.
      h.setCamera(zoomCamera(cam, renderer, x, y, wheelZoomFactor(dy * 6)));
    } else if (Math.abs(dx) > 0.5 && cam.kind === '2d') {
      // Two-finger trackpad scroll has a horizontal component: pan.
      h.setCamera(dragCamera(cam, -dx, -dy));
    } else {
      h.setCamera(zoomCamera(cam, renderer, x, y, wheelZoomFactor(dy)));
    }
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape' && shaping) {
      const s = shaping;
      shaping = null;
      dragging = false;
      h.shape?.(s.kind, s.points, 'cancel', s.mods);
      return;
    }
    const next = keyToCamera(e.key, h.getCamera(), renderer);
    if (next === null) return;
    e.preventDefault();
    if (next === 'fit') h.fit();
    else h.setCamera(next);
  };
  const onDblClick = (e: MouseEvent) => {
    const [x, y] = local(e);
    h.setCamera(zoomCamera(h.getCamera(), renderer, x, y, 2));
  };

  canvas.addEventListener('pointerdown', onDown);
  canvas.addEventListener('pointermove', onMove);
  canvas.addEventListener('pointerup', onUp);
  canvas.addEventListener('pointercancel', onUp);
  canvas.addEventListener('pointerleave', onLeave);
  canvas.addEventListener('wheel', onWheel, { passive: false });
  canvas.addEventListener('keydown', onKey);
  canvas.addEventListener('dblclick', onDblClick);
  return () => {
    if (hoverFrame) cancelAnimationFrame(hoverFrame);
    canvas.removeEventListener('pointerdown', onDown);
    canvas.removeEventListener('pointermove', onMove);
    canvas.removeEventListener('pointerup', onUp);
    canvas.removeEventListener('pointercancel', onUp);
    canvas.removeEventListener('pointerleave', onLeave);
    canvas.removeEventListener('wheel', onWheel);
    canvas.removeEventListener('keydown', onKey);
    canvas.removeEventListener('dblclick', onDblClick);
  };
}
