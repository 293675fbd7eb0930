// A small WebGL2 point renderer, framework-free: instanced quads from a Float32Array of positions,
// colour by category code (palette texture, hidden codes have alpha 0) or continuous value (ramp
// texture), 2D orthographic or 3D orbit camera, GPU id-buffer picking, and animated transitions when
// a new layout replaces the old one.

import { type Camera2D, type Viewport, viewProjection2D } from './camera2d';
import { type Camera3D, transformPoint, viewProjection3D } from './camera3d';
import { type RGB, RAMPS, categoryColor, paletteBytes, rampBytes, rampColor, normalize } from './colors';
import { pointAlpha, pointSizePx } from './density';
import { projectToScreen } from './lasso';
import { nearestIdInBlock } from './picking';
import { LINE_FS, LINE_VS, POINT_FS, POINT_VS } from './shaders';

export type CodeArray = Uint8Array | Uint16Array | Uint32Array;

export type ColorBy =
  | { kind: 'constant'; color: RGB }
  | { kind: 'category'; codes: CodeArray; nCategories: number; visible: (code: number) => boolean }
  | { kind: 'continuous'; values: Float32Array; min: number; max: number; ramp?: string };

export type CameraState = { kind: '2d'; camera: Camera2D } | { kind: '3d'; camera: Camera3D };

export interface FrameInfo {
  frame: number;
  nPoints: number;
  ms: number;
}

const LOC = { corner: 0, pos: 1, prev: 2, code: 3, value: 4, flag: 5 } as const;
const PICK_BLOCK = 9;

function easeOutCubic(t: number): number {
  return 1 - (1 - t) ** 3;
}

export class PointRenderer {
  readonly gl: WebGL2RenderingContext;
  private program: WebGLProgram;
  private uniforms = new Map<string, WebGLUniformLocation | null>();
  private vao: WebGLVertexArrayObject;
  private highlightVao: WebGLVertexArrayObject;
  private buffers: Record<'corner' | 'pos' | 'prev' | 'code' | 'value' | 'highlight' | 'flag' | 'line', WebGLBuffer>;
  private lineProgram: WebGLProgram;
  private lineVao: WebGLVertexArrayObject;
  private lineUniforms = new Map<string, WebGLUniformLocation | null>();
  private palette: WebGLTexture;
  private ramp: WebGLTexture;
  private pickFbo: WebGLFramebuffer | null = null;
  private pickTex: WebGLTexture | null = null;
  private pickDepth: WebGLRenderbuffer | null = null;
  private pickSize: [number, number] = [0, 0];
  private pickDirty = true;

  private n = 0;
  private dim: 2 | 3 = 2;
  private positions: Float32Array = new Float32Array(0);
  private previous: Float32Array = new Float32Array(0);
  private mixT = 1;
  private animStart = 0;
  private animMs = 0;

  private colorBy: ColorBy = { kind: 'constant', color: [76, 110, 245] };
  private camera: CameraState = { kind: '2d', camera: { x: 0, y: 0, k: 1 } };
  private viewport: Viewport = { width: 1, height: 1 };
  private dpr = 1;
  private highlighted = -1;
  private flags: Uint8Array | null = null;
  /** The clicked point whose neighbours are shown (-1: none) and those neighbours. */
  private linkFrom = -1;
  private linkTo: number[] = [];
  private linksDrawn = 0;
  private sizeScale = 1;
  private zoomRef = 1;
  private frameRequested = 0;
  private frameCount = 0;
  private destroyed = false;

  /** Called after every drawn frame (tests and timing read it). */
  onFrame: ((info: FrameInfo) => void) | null = null;

  constructor(readonly canvas: HTMLCanvasElement) {
    const gl = canvas.getContext('webgl2', { antialias: false, premultipliedAlpha: true, alpha: true, depth: true });
    if (!gl) throw new Error('WebGL2 is not available in this browser');
    this.gl = gl;
    this.program = this.compile(POINT_VS, POINT_FS);
    const buf = () => {
      const b = gl.createBuffer();
      if (!b) throw new Error('WebGL: could not create a buffer');
      return b;
    };
    this.buffers = { corner: buf(), pos: buf(), prev: buf(), code: buf(), value: buf(), highlight: buf(), flag: buf(), line: buf() };
    this.lineProgram = this.compile(LINE_VS, LINE_FS);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.corner);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
    this.vao = this.createVao();
    this.highlightVao = this.createHighlightVao();
    this.lineVao = this.createLineVao();
    this.palette = this.createTexture();
    this.ramp = this.createTexture();
    this.setRamp('viridis');
    this.uploadPalette(1, () => true);
    canvas.addEventListener('webglcontextlost', (e) => e.preventDefault());
  }

  private compile(vsSrc: string, fsSrc: string): WebGLProgram {
    const gl = this.gl;
    const shader = (type: number, src: string) => {
      const s = gl.createShader(type);
      if (!s) throw new Error('WebGL: could not create a shader');
      gl.shaderSource(s, src);
      gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error('shader: ' + gl.getShaderInfoLog(s));
      return s;
    };
    const p = gl.createProgram();
    if (!p) throw new Error('WebGL: could not create a program');
    gl.attachShader(p, shader(gl.VERTEX_SHADER, vsSrc));
    gl.attachShader(p, shader(gl.FRAGMENT_SHADER, fsSrc));
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error('program: ' + gl.getProgramInfoLog(p));
    return p;
  }

  private u(name: string): WebGLUniformLocation | null {
    if (!this.uniforms.has(name)) this.uniforms.set(name, this.gl.getUniformLocation(this.program, name));
    return this.uniforms.get(name) ?? null;
  }

  private createVao(): WebGLVertexArrayObject {
    const gl = this.gl;
    const vao = gl.createVertexArray();
    if (!vao) throw new Error('WebGL: could not create a vertex array');
    gl.bindVertexArray(vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.corner);
    gl.enableVertexAttribArray(LOC.corner);
    gl.vertexAttribPointer(LOC.corner, 2, gl.FLOAT, false, 0, 0);
    gl.bindVertexArray(null);
    return vao;
  }

  private createHighlightVao(): WebGLVertexArrayObject {
    const gl = this.gl;
    const vao = gl.createVertexArray();
    if (!vao) throw new Error('WebGL: could not create a vertex array');
    gl.bindVertexArray(vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.corner);
    gl.enableVertexAttribArray(LOC.corner);
    gl.vertexAttribPointer(LOC.corner, 2, gl.FLOAT, false, 0, 0);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.highlight);
    for (const loc of [LOC.pos, LOC.prev]) {
      gl.enableVertexAttribArray(loc);
      gl.vertexAttribPointer(loc, 3, gl.FLOAT, false, 0, 0);
      gl.vertexAttribDivisor(loc, 1);
    }
    gl.bindVertexArray(null);
    return vao;
  }

  private createLineVao(): WebGLVertexArrayObject {
    const gl = this.gl;
    const vao = gl.createVertexArray();
    if (!vao) throw new Error('WebGL: could not create a vertex array');
    gl.bindVertexArray(vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.line);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 3, gl.FLOAT, false, 0, 0);
    gl.bindVertexArray(null);
    return vao;
  }

  private createTexture(): WebGLTexture {
    const gl = this.gl;
    const t = gl.createTexture();
    if (!t) throw new Error('WebGL: could not create a texture');
    gl.bindTexture(gl.TEXTURE_2D, t);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    return t;
  }

  private uploadPalette(nCategories: number, visible: (i: number) => boolean) {
    const gl = this.gl;
    const { data, width, height } = paletteBytes(Math.max(1, nCategories), visible);
    gl.bindTexture(gl.TEXTURE_2D, this.palette);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, width, height, 0, gl.RGBA, gl.UNSIGNED_BYTE, data);
  }

  setRamp(name: string) {
    const gl = this.gl;
    gl.bindTexture(gl.TEXTURE_2D, this.ramp);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, 256, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, rampBytes(RAMPS[name] ?? RAMPS.viridis));
    this.requestRender();
  }

  get pointCount(): number {
    return this.n;
  }

  get dimensions(): 2 | 3 {
    return this.dim;
  }

  /** The positions last given (row-major, `dimensions` per row). */
  get currentPositions(): Float32Array {
    return this.positions;
  }

  /**
   * Replaces the layout. With `animateMs > 0` and the same number of points, points glide from
   * where they are drawn now to their new place (the layout streaming in while UMAP runs).
   */
  setPositions(coords: Float32Array, dim: 2 | 3, animateMs = 0) {
    const gl = this.gl;
    const n = Math.floor(coords.length / dim);
    const canAnimate = animateMs > 0 && n === this.n && dim === this.dim && n > 0;
    if (canAnimate) {
      // Start from what is on screen now, even mid-animation.
      const shown = this.interpolatedPositions();
      this.previous = shown;
      this.animStart = performance.now();
      this.animMs = animateMs;
      this.mixT = 0;
    } else {
      this.previous = coords;
      this.mixT = 1;
    }
    this.n = n;
    this.dim = dim;
    this.positions = coords;
    gl.bindVertexArray(this.vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.pos);
    gl.bufferData(gl.ARRAY_BUFFER, coords, gl.DYNAMIC_DRAW);
    gl.enableVertexAttribArray(LOC.pos);
    gl.vertexAttribPointer(LOC.pos, dim, gl.FLOAT, false, 0, 0);
    gl.vertexAttribDivisor(LOC.pos, 1);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.prev);
    gl.bufferData(gl.ARRAY_BUFFER, this.previous, gl.DYNAMIC_DRAW);
    gl.enableVertexAttribArray(LOC.prev);
    gl.vertexAttribPointer(LOC.prev, dim, gl.FLOAT, false, 0, 0);
    gl.vertexAttribDivisor(LOC.prev, 1);
    gl.bindVertexArray(null);
    // Colour arrays sized for another point count no longer apply.
    if (this.colorBy.kind === 'category' && this.colorBy.codes.length !== n) this.colorBy = { kind: 'constant', color: [76, 110, 245] };
    if (this.colorBy.kind === 'continuous' && this.colorBy.values.length !== n) this.colorBy = { kind: 'constant', color: [76, 110, 245] };
    if (this.flags && this.flags.length !== n) this.flags = null;
    if (this.linkFrom >= n || this.linkTo.some((j) => j >= n)) {
      this.linkFrom = -1;
      this.linkTo = [];
    }
    this.bindColorAttributes();
    this.pickDirty = true;
    this.requestRender();
  }

  /** Positions as drawn at this instant (between the previous and the new layout while animating). */
  interpolatedPositions(): Float32Array {
    const t = easeOutCubic(this.mixT);
    if (t >= 1 || this.previous.length !== this.positions.length) return this.positions.slice();
    const out = new Float32Array(this.positions.length);
    for (let i = 0; i < out.length; i++) out[i] = this.previous[i] + (this.positions[i] - this.previous[i]) * t;
    return out;
  }

  setColorBy(color: ColorBy) {
    this.colorBy = color;
    if (color.kind === 'category') this.uploadPalette(color.nCategories, color.visible);
    if (color.kind === 'continuous') this.setRamp(color.ramp ?? 'viridis');
    this.bindColorAttributes();
    this.pickDirty = true;
    this.requestRender();
  }

  private bindColorAttributes() {
    const gl = this.gl;
    gl.bindVertexArray(this.vao);
    const c = this.colorBy;
    if (c.kind === 'category' && c.codes.length === this.n) {
      const type = c.codes instanceof Uint8Array ? gl.UNSIGNED_BYTE : c.codes instanceof Uint16Array ? gl.UNSIGNED_SHORT : gl.UNSIGNED_INT;
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.code);
      gl.bufferData(gl.ARRAY_BUFFER, c.codes, gl.STATIC_DRAW);
      gl.enableVertexAttribArray(LOC.code);
      gl.vertexAttribIPointer(LOC.code, 1, type, 0, 0);
      gl.vertexAttribDivisor(LOC.code, 1);
    } else {
      gl.disableVertexAttribArray(LOC.code);
    }
    if (c.kind === 'continuous' && c.values.length === this.n) {
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.value);
      gl.bufferData(gl.ARRAY_BUFFER, c.values, gl.STATIC_DRAW);
      gl.enableVertexAttribArray(LOC.value);
      gl.vertexAttribPointer(LOC.value, 1, gl.FLOAT, false, 0, 0);
      gl.vertexAttribDivisor(LOC.value, 1);
    } else {
      gl.disableVertexAttribArray(LOC.value);
    }
    if (this.flags && this.flags.length === this.n) {
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.flag);
      gl.bufferData(gl.ARRAY_BUFFER, this.flags, gl.DYNAMIC_DRAW);
      gl.enableVertexAttribArray(LOC.flag);
      gl.vertexAttribIPointer(LOC.flag, 1, gl.UNSIGNED_BYTE, 0, 0);
      gl.vertexAttribDivisor(LOC.flag, 1);
    } else {
      gl.disableVertexAttribArray(LOC.flag);
    }
    gl.bindVertexArray(null);
  }

  /**
   * One flag per point (0 normal, 1 dimmed, 3 hidden), or null for all normal. Hidden points are
   * neither drawn nor picked.
   */
  setFlags(flags: Uint8Array | null) {
    this.flags = flags && flags.length === this.n ? flags : null;
    this.bindColorAttributes();
    this.pickDirty = true;
    this.requestRender();
  }

  /** Whether point `i` is drawn (not hidden by a flag or a hidden category). */
  isDrawn(i: number): boolean {
    if (i < 0 || i >= this.n) return false;
    if (this.flags && this.flags[i] === 3) return false;
    const c = this.colorBy;
    if (c.kind === 'category' && c.codes.length === this.n) return c.visible(c.codes[i]);
    return true;
  }

  /** Lines from point `from` to each of `to`, which are ringed (-1: none). */
  setNeighbors(from: number, to: number[]) {
    this.linkFrom = from >= 0 && from < this.n ? from : -1;
    this.linkTo = this.linkFrom >= 0 ? to.filter((j) => j >= 0 && j < this.n) : [];
    this.requestRender();
  }

  /** Neighbour lines in the last frame (the browser tests read it). */
  get neighborLinesDrawn(): number {
    return this.linksDrawn;
  }

  /** Every point's CSS-pixel position in the canvas (NaN when behind a 3D camera). */
  screenPositions(): Float32Array {
    return projectToScreen(this.positions, this.dim, this.viewProjection(), this.viewport);
  }

  setCamera(camera: CameraState) {
    this.camera = camera;
    this.pickDirty = true;
    this.requestRender();
  }

  /** Scale of the fitted view, so point size grows only relative to it when zooming. */
  setZoomReference(k: number) {
    this.zoomRef = k > 0 ? k : 1;
    this.requestRender();
  }

  setPointScale(scale: number) {
    this.sizeScale = scale;
    this.pickDirty = true;
    this.requestRender();
  }

  setHighlight(id: number) {
    if (id === this.highlighted) return;
    this.highlighted = id;
    this.requestRender();
  }

  /** Matches the drawing buffer to the canvas' CSS size × device pixel ratio (capped at 2). */
  resize(): Viewport {
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    const width = Math.max(1, this.canvas.clientWidth);
    const height = Math.max(1, this.canvas.clientHeight);
    const w = Math.round(width * dpr);
    const h = Math.round(height * dpr);
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    this.dpr = dpr;
    this.viewport = { width, height };
    this.pickDirty = true;
    this.requestRender();
    return this.viewport;
  }

  get viewportSize(): Viewport {
    return this.viewport;
  }

  viewProjection(): Float32Array {
    return this.camera.kind === '2d' ? viewProjection2D(this.camera.camera, this.viewport) : viewProjection3D(this.camera.camera, this.viewport);
  }

  /** Current point diameter in CSS pixels. */
  pointSize(): number {
    const zoom = this.camera.kind === '2d' ? this.camera.camera.k / this.zoomRef : 1;
    return pointSizePx(this.n, this.viewport.width, this.viewport.height, zoom, { scale: this.sizeScale });
  }

  /** Where row `i` is drawn, in CSS pixels relative to the canvas, or null when off screen or absent. */
  screenPosition(i: number): [number, number] | null {
    if (i < 0 || i >= this.n) return null;
    const d = this.dim;
    const p: [number, number, number] = [this.positions[i * d], this.positions[i * d + 1], d > 2 ? this.positions[i * d + 2] : 0];
    const [cx, cy, , cw] = transformPoint(this.viewProjection(), p);
    if (!(cw > 0)) return null;
    const x = ((cx / cw + 1) / 2) * this.viewport.width;
    const y = ((1 - cy / cw) / 2) * this.viewport.height;
    if (x < 0 || y < 0 || x > this.viewport.width || y > this.viewport.height) return null;
    return [x, y];
  }

  requestRender() {
    if (this.frameRequested || this.destroyed) return;
    this.frameRequested = requestAnimationFrame(() => {
      this.frameRequested = 0;
      this.render();
    });
  }

  private setCommonUniforms(pick: boolean, sizePx: number, vp: Float32Array) {
    const gl = this.gl;
    const c = this.colorBy;
    const w = pick ? this.pickSize[0] : this.canvas.width;
    const h = pick ? this.pickSize[1] : this.canvas.height;
    const scale = pick ? 1 : this.dpr;
    gl.uniformMatrix4fv(this.u('u_viewProj'), false, vp);
    gl.uniform2f(this.u('u_viewport'), w, h);
    gl.uniform1f(this.u('u_size'), sizePx * scale);
    gl.uniform1f(this.u('u_mix'), easeOutCubic(this.mixT));
    const mode = c.kind === 'category' && c.codes.length === this.n ? 0 : c.kind === 'continuous' && c.values.length === this.n ? 1 : 2;
    gl.uniform1i(this.u('u_mode'), mode);
    const constant = c.kind === 'constant' ? c.color : [76, 110, 245];
    gl.uniform4f(this.u('u_constant'), constant[0] / 255, constant[1] / 255, constant[2] / 255, 1);
    gl.uniform2f(this.u('u_domain'), c.kind === 'continuous' ? c.min : 0, c.kind === 'continuous' ? c.max : 1);
    gl.uniform1f(this.u('u_alpha'), this.camera.kind === '3d' ? 1 : pointAlpha(this.n));
    gl.uniform1i(this.u('u_pick'), pick ? 1 : 0);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.palette);
    gl.uniform1i(this.u('u_palette'), 0);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, this.ramp);
    gl.uniform1i(this.u('u_ramp'), 1);
    // Attributes not backed by a buffer read these constants.
    gl.vertexAttribI4ui(LOC.code, 0, 0, 0, 0);
    gl.vertexAttribI4ui(LOC.flag, 0, 0, 0, 0);
    gl.vertexAttrib1f(LOC.value, NaN);
  }

  /** The colour row `i` is drawn with (for the hover highlight and the legend swatch). */
  colorOf(i: number): RGB {
    const c = this.colorBy;
    if (c.kind === 'category' && i < c.codes.length) return categoryColor(c.codes[i]);
    if (c.kind === 'continuous' && i < c.values.length) return rampColor(RAMPS[c.ramp ?? 'viridis'], normalize(c.values[i], c.min, c.max));
    return c.kind === 'constant' ? c.color : [76, 110, 245];
  }

  render() {
    if (this.destroyed) return;
    const t0 = performance.now();
    const gl = this.gl;
    if (this.mixT < 1) {
      this.mixT = Math.min(1, (t0 - this.animStart) / Math.max(1, this.animMs));
      if (this.mixT < 1) this.requestRender();
      else this.pickDirty = true;
    }
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    if (this.n > 0) {
      gl.useProgram(this.program);
      const vp = this.viewProjection();
      const size = this.pointSize();
      this.setDepthAndBlend(true);
      this.setCommonUniforms(false, size, vp);
      gl.bindVertexArray(this.vao);
      gl.drawArraysInstanced(gl.TRIANGLE_STRIP, 0, 4, this.n);
      const shown = this.mixT >= 1 ? this.positions : this.interpolatedPositions();
      this.linksDrawn = this.drawLinks(shown, vp);
      if (this.linkFrom >= 0) {
        gl.useProgram(this.program);
        // Neighbours: the point in its colour inside a thin dark ring, small enough that the lines
        // between close neighbours stay visible; the clicked point: larger, with a gold ring.
        for (const j of this.linkTo) this.drawRing(shown, j, Math.max(6, size + 2), [[2.5, [20, 22, 28]], [0, this.colorOf(j)]]);
        this.drawRing(shown, this.linkFrom, Math.max(10, size * 1.8), [[4, [20, 22, 28]], [2, [255, 196, 61]], [-1, this.colorOf(this.linkFrom)]]);
      }
      this.drawHighlight(size, shown);
      gl.bindVertexArray(null);
    } else this.linksDrawn = 0;
    this.frameCount++;
    this.onFrame?.({ frame: this.frameCount, nPoints: this.n, ms: performance.now() - t0 });
  }

  private setDepthAndBlend(blend: boolean) {
    const gl = this.gl;
    if (this.camera.kind === '3d') gl.enable(gl.DEPTH_TEST);
    else gl.disable(gl.DEPTH_TEST);
    if (blend) {
      gl.enable(gl.BLEND);
      gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    } else gl.disable(gl.BLEND);
  }

  private drawHighlight(size: number, shown: Float32Array) {
    const i = this.highlighted;
    if (i < 0 || i >= this.n) return;
    const big = Math.max(10, size * 2.2);
    this.drawRing(shown, i, big, [
      [4, [20, 22, 28]],
      [1, [255, 255, 255]],
      [-2, this.colorOf(i)],
    ]);
  }

  /** Point `i` as concentric discs: `(extra px over base, colour)` from the outside in. */
  private drawRing(shown: Float32Array, i: number, base: number, rings: [number, RGB][]) {
    const gl = this.gl;
    const d = this.dim;
    const p = new Float32Array([shown[i * d], shown[i * d + 1], d > 2 ? shown[i * d + 2] : 0]);
    gl.bindVertexArray(this.highlightVao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.highlight);
    gl.bufferData(gl.ARRAY_BUFFER, p, gl.DYNAMIC_DRAW);
    gl.disable(gl.DEPTH_TEST);
    gl.uniform1i(this.u('u_mode'), 2);
    gl.uniform1f(this.u('u_alpha'), 1);
    gl.uniform1f(this.u('u_mix'), 1);
    for (const [extra, [r, g, b]] of rings) {
      gl.uniform1f(this.u('u_size'), (base + extra) * this.dpr);
      gl.uniform4f(this.u('u_constant'), r / 255, g / 255, b / 255, 1);
      gl.drawArraysInstanced(gl.TRIANGLE_STRIP, 0, 4, 1);
    }
  }

  private lu(name: string): WebGLUniformLocation | null {
    if (!this.lineUniforms.has(name)) this.lineUniforms.set(name, this.gl.getUniformLocation(this.lineProgram, name));
    return this.lineUniforms.get(name) ?? null;
  }

  /** Lines from the clicked point to its neighbours; returns how many were drawn. */
  private drawLinks(shown: Float32Array, vp: Float32Array): number {
    const from = this.linkFrom;
    if (from < 0 || this.linkTo.length === 0) return 0;
    const gl = this.gl;
    const d = this.dim;
    const at = (i: number) => [shown[i * d], shown[i * d + 1], d > 2 ? shown[i * d + 2] : 0];
    const verts = new Float32Array(this.linkTo.length * 6);
    const a = at(from);
    this.linkTo.forEach((j, k) => {
      verts.set(a, k * 6);
      verts.set(at(j), k * 6 + 3);
    });
    gl.useProgram(this.lineProgram);
    gl.bindVertexArray(this.lineVao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.line);
    gl.bufferData(gl.ARRAY_BUFFER, verts, gl.DYNAMIC_DRAW);
    gl.disable(gl.DEPTH_TEST);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.uniformMatrix4fv(this.lu('u_viewProj'), false, vp);
    gl.uniform4f(this.lu('u_color'), 0.08 * 0.85, 0.09 * 0.85, 0.11 * 0.85, 0.85);
    // About 2 px wide: the 1 px line again shifted by one device pixel right and down.
    const px = 2 / Math.max(1, this.canvas.width);
    const py = 2 / Math.max(1, this.canvas.height);
    for (const [ox, oy] of [[0, 0], [px, 0], [0, -py]]) {
      gl.uniform2f(this.lu('u_offset'), ox, oy);
      gl.drawArrays(gl.LINES, 0, this.linkTo.length * 2);
    }
    gl.useProgram(this.program);
    return this.linkTo.length;
  }

  private ensurePickTarget() {
    const gl = this.gl;
    const w = Math.max(1, Math.round(this.viewport.width));
    const h = Math.max(1, Math.round(this.viewport.height));
    if (this.pickFbo && this.pickSize[0] === w && this.pickSize[1] === h) return;
    if (this.pickFbo) gl.deleteFramebuffer(this.pickFbo);
    if (this.pickTex) gl.deleteTexture(this.pickTex);
    if (this.pickDepth) gl.deleteRenderbuffer(this.pickDepth);
    this.pickTex = this.createTexture();
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, w, h, 0, gl.RGBA, gl.UNSIGNED_BYTE, null);
    this.pickDepth = gl.createRenderbuffer();
    gl.bindRenderbuffer(gl.RENDERBUFFER, this.pickDepth);
    gl.renderbufferStorage(gl.RENDERBUFFER, gl.DEPTH_COMPONENT16, w, h);
    this.pickFbo = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.pickFbo);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, this.pickTex, 0);
    gl.framebufferRenderbuffer(gl.FRAMEBUFFER, gl.DEPTH_ATTACHMENT, gl.RENDERBUFFER, this.pickDepth);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    this.pickSize = [w, h];
    this.pickDirty = true;
  }

  /**
   * The row drawn nearest the CSS pixel `(x, y)` of the canvas (within a few pixels), or -1.
   * The id buffer is redrawn only when the view changed since the last pick.
   */
  pick(x: number, y: number): number {
    if (this.n === 0 || this.destroyed) return -1;
    const gl = this.gl;
    this.ensurePickTarget();
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.pickFbo);
    if (this.pickDirty) {
      gl.viewport(0, 0, this.pickSize[0], this.pickSize[1]);
      gl.clearColor(0, 0, 0, 0);
      gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
      gl.useProgram(this.program);
      this.setDepthAndBlend(false);
      // Picking uses the final layout and at least a 4 px target so tiny points stay hoverable.
      const saved = this.mixT;
      this.mixT = 1;
      this.setCommonUniforms(true, Math.max(4, this.pointSize()), this.viewProjection());
      this.mixT = saved;
      gl.bindVertexArray(this.vao);
      gl.drawArraysInstanced(gl.TRIANGLE_STRIP, 0, 4, this.n);
      gl.bindVertexArray(null);
      this.pickDirty = false;
    }
    const half = (PICK_BLOCK - 1) / 2;
    const px = Math.round(x) - half;
    const py = this.pickSize[1] - 1 - Math.round(y) - half;
    const block = new Uint8Array(PICK_BLOCK * PICK_BLOCK * 4);
    gl.readPixels(px, py, PICK_BLOCK, PICK_BLOCK, gl.RGBA, gl.UNSIGNED_BYTE, block);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    // readPixels rows go bottom-up; flip so row 0 is the top, matching screen space.
    const flipped = new Uint8Array(block.length);
    const row = PICK_BLOCK * 4;
    for (let r = 0; r < PICK_BLOCK; r++) flipped.set(block.subarray(r * row, (r + 1) * row), (PICK_BLOCK - 1 - r) * row);
    const id = nearestIdInBlock(flipped, PICK_BLOCK);
    return id < this.n ? id : -1;
  }

  destroy() {
    this.destroyed = true;
    if (this.frameRequested) cancelAnimationFrame(this.frameRequested);
    const gl = this.gl;
    Object.values(this.buffers).forEach((b) => gl.deleteBuffer(b));
    gl.deleteTexture(this.palette);
    gl.deleteTexture(this.ramp);
    if (this.pickFbo) gl.deleteFramebuffer(this.pickFbo);
    if (this.pickTex) gl.deleteTexture(this.pickTex);
    gl.deleteProgram(this.program);
    gl.deleteProgram(this.lineProgram);
  }
}

