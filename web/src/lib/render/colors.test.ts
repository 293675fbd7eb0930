import { describe, expect, it } from 'vitest';
import { categoryColor, hexToRgb, niceTicks, normalize, paletteBytes, PALETTE_WIDTH, RAMPS, rampBytes, rampColor, rgbToHex } from './colors';
import { pointAlpha, pointSizePx } from './density';
import { decodeId, encodeId, nearestIdInBlock } from './picking';

describe('palette', () => {
  it('gives distinct colours to the first 60 categories', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) seen.add(rgbToHex(categoryColor(i)));
    expect(seen.size).toBe(60);
  });

  it('neighbouring codes differ clearly', () => {
    for (let i = 0; i < 19; i++) {
      const a = categoryColor(i);
      const b = categoryColor(i + 1);
      expect(Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2])).toBeGreaterThan(60);
    }
  });

  it('lays codes out row by row and hides codes with alpha 0', () => {
    const n = PALETTE_WIDTH + 3;
    const { data, width, height } = paletteBytes(n, (i) => i !== 2 && i !== PALETTE_WIDTH + 1);
    expect([width, height]).toEqual([PALETTE_WIDTH, 2]);
    expect(data[2 * 4 + 3]).toBe(0);
    expect(data[(PALETTE_WIDTH + 1) * 4 + 3]).toBe(0);
    expect(data[(PALETTE_WIDTH + 2) * 4 + 3]).toBe(255);
    expect(Array.from(data.subarray(4, 7))).toEqual(categoryColor(1));
  });

  it('hex round-trips', () => {
    expect(rgbToHex(hexToRgb('#4c6ef5'))).toBe('#4c6ef5');
  });
});

describe('continuous scale', () => {
  it('ends at the ramp stops and clamps outside [0, 1]', () => {
    const stops = RAMPS.viridis;
    expect(rampColor(stops, 0)).toEqual(hexToRgb(stops[0]));
    expect(rampColor(stops, 1)).toEqual(hexToRgb(stops[stops.length - 1]));
    expect(rampColor(stops, -3)).toEqual(rampColor(stops, 0));
    expect(rampColor(stops, 7)).toEqual(rampColor(stops, 1));
    expect(rampColor(stops, NaN)).toEqual(rampColor(stops, 0));
  });

  it('viridis gets lighter from low to high', () => {
    const lum = ([r, g, b]: number[]) => 0.2126 * r + 0.7152 * g + 0.0722 * b;
    const bytes = rampBytes(RAMPS.viridis);
    let prev = -1;
    for (let i = 0; i < 256; i += 15) {
      const l = lum(Array.from(bytes.subarray(i * 4, i * 4 + 3)));
      expect(l).toBeGreaterThan(prev);
      prev = l;
    }
  });

  it('normalizes into [0, 1] and handles an empty domain', () => {
    expect(normalize(5, 0, 10)).toBe(0.5);
    expect(normalize(3, 3, 3)).toBe(0.5);
  });

  it('ticks are round, ordered and inside the range', () => {
    const t = niceTicks(0.13, 9.7);
    expect(t.length).toBeGreaterThanOrEqual(3);
    expect(t.every((v, i) => i === 0 || v > t[i - 1])).toBe(true);
    expect(t[0]).toBeGreaterThanOrEqual(0.13);
    expect(t[t.length - 1]).toBeLessThanOrEqual(9.7);
    for (const v of t) expect(Number.isInteger(v * 2)).toBe(true);
  });
});

describe('picking ids', () => {
  it('round-trips ids up to 2^24 - 2 and keeps 0 for background', () => {
    for (const id of [0, 1, 255, 256, 65535, 65536, 1_000_000, 0xffffff - 2]) {
      const [r, g, b] = encodeId(id);
      expect(decodeId(r, g, b)).toBe(id);
    }
    expect(decodeId(0, 0, 0)).toBe(-1);
  });

  it('picks the id nearest the centre of the block', () => {
    const size = 5;
    const px = new Uint8Array(size * size * 4);
    const put = (x: number, y: number, id: number) => px.set([...encodeId(id), 255], (y * size + x) * 4);
    put(0, 0, 7);
    put(3, 2, 42);
    expect(nearestIdInBlock(px, size)).toBe(42);
    expect(nearestIdInBlock(new Uint8Array(size * size * 4), size)).toBe(-1);
  });
});

describe('density-adaptive points', () => {
  it('shrink as points grow in number and grow with zoom, within bounds', () => {
    const a = pointSizePx(1_000, 800, 600);
    const b = pointSizePx(100_000, 800, 600);
    expect(b).toBeLessThan(a);
    expect(pointSizePx(100_000, 800, 600, 8)).toBeGreaterThan(b);
    expect(pointSizePx(10_000_000, 800, 600)).toBeGreaterThanOrEqual(2);
    expect(pointSizePx(3, 800, 600)).toBeLessThanOrEqual(14);
  });

  it('fade for large counts', () => {
    expect(pointAlpha(1_000_000)).toBeLessThan(pointAlpha(1_000));
    expect(pointAlpha(1e9)).toBeGreaterThanOrEqual(0.3);
  });
});
