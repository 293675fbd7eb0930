// Colours: a categorical palette (distinct hues that read on a light background, extended past its
// fixed entries by golden-angle hues) and continuous ramps sampled into 256-entry lookup tables.

export type RGB = [number, number, number];

/** Hand-picked categorical colours, ordered so neighbouring codes differ strongly. */
const BASE_PALETTE = [
  '#4c6ef5', '#f76707', '#2f9e44', '#e03131', '#7048e8', '#8c5a2b', '#d6336c', '#5c636a',
  '#a8a800', '#1098ad', '#91a7ff', '#ffa94d', '#8ce99a', '#ffa8a8', '#d0bfff', '#e0b98a',
  '#faa2c1', '#adb5bd', '#e9e66b', '#99e9f2',
];

export function hexToRgb(hex: string): RGB {
  const v = parseInt(hex.replace('#', ''), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

export function rgbToHex([r, g, b]: RGB): string {
  return '#' + [r, g, b].map((c) => Math.round(c).toString(16).padStart(2, '0')).join('');
}

function hslToRgb(h: number, s: number, l: number): RGB {
  const k = (n: number) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [Math.round(f(0) * 255), Math.round(f(8) * 255), Math.round(f(4) * 255)];
}

/** The colour of category code `i`: fixed entries first, then hues spaced by the golden angle. */
export function categoryColor(i: number): RGB {
  if (i < BASE_PALETTE.length) return hexToRgb(BASE_PALETTE[i]);
  const j = i - BASE_PALETTE.length;
  const hue = (j * 137.508 + 17) % 360;
  const light = [0.45, 0.6, 0.35][j % 3];
  return hslToRgb(hue, 0.65, light);
}

/** Palette texture width: codes map to `(code % W, code / W)` texels. */
export const PALETTE_WIDTH = 256;

/**
 * RGBA bytes for `nCategories` codes, laid out `PALETTE_WIDTH` per row; alpha 0 hides a code.
 * `visible(i)` decides which codes show (legend hide/isolate).
 */
export function paletteBytes(nCategories: number, visible: (i: number) => boolean): { data: Uint8Array; width: number; height: number } {
  const height = Math.max(1, Math.ceil(nCategories / PALETTE_WIDTH));
  const data = new Uint8Array(PALETTE_WIDTH * height * 4);
  for (let i = 0; i < nCategories; i++) {
    const [r, g, b] = categoryColor(i);
    data.set([r, g, b, visible(i) ? 255 : 0], i * 4);
  }
  return { data, width: PALETTE_WIDTH, height };
}

/** Continuous ramps as colour stops, evenly spaced from low to high. */
export const RAMPS: Record<string, string[]> = {
  // Perceptually ordered dark-violet → teal → yellow, like the viridis family.
  viridis: ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'],
  // Light-to-dark blue for magnitudes on a light background.
  blues: ['#dbe4ff', '#91a7ff', '#4c6ef5', '#364fc7', '#1c2a6b'],
  // Diverging blue ↔ red through grey, for signed values.
  diverging: ['#1c7ed6', '#74c0fc', '#dee2e6', '#ff8787', '#c92a2a'],
};

/** Colour at `t` in [0, 1] along a ramp; `t` outside is clamped, NaN gives the lowest colour. */
export function rampColor(stops: string[], t: number): RGB {
  const x = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  const pos = x * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(pos));
  const f = pos - i;
  const a = hexToRgb(stops[i]);
  const b = hexToRgb(stops[i + 1]);
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f].map(Math.round) as RGB;
}

/** 256 RGBA texels sampling a ramp, for the renderer's 1D lookup texture. */
export function rampBytes(stops: string[]): Uint8Array {
  const out = new Uint8Array(256 * 4);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = rampColor(stops, i / 255);
    out.set([r, g, b, 255], i * 4);
  }
  return out;
}

/** Maps `value` in `[min, max]` to [0, 1]; a zero-width domain maps everything to 0.5. */
export function normalize(value: number, min: number, max: number): number {
  if (!(max > min)) return 0.5;
  return (value - min) / (max - min);
}

/** A handful of round tick values covering `[min, max]` for the colour-scale legend. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max <= min) return [min];
  const raw = (max - min) / Math.max(1, count - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Math.round(v / step) * step);
  return ticks;
}
