// GPU picking: every point is drawn into an offscreen buffer with its row id + 1 encoded in the
// RGB bytes (0 means "no point"), so 2^24 - 1 rows are pickable.

export const MAX_PICKABLE = 0xffffff - 1;

/** Row id → the RGB bytes written for it. */
export function encodeId(id: number): [number, number, number] {
  const v = id + 1;
  return [v & 255, (v >> 8) & 255, (v >> 16) & 255];
}

/** RGB bytes read back → row id, or -1 for background. */
export function decodeId(r: number, g: number, b: number): number {
  return (r | (g << 8) | (b << 16)) - 1;
}

/**
 * The id nearest the centre of a `size × size` RGBA block read back from the pick buffer, or -1.
 * Reading a small block instead of one pixel makes tiny points easy to hover.
 */
export function nearestIdInBlock(pixels: Uint8Array, size: number): number {
  const c = (size - 1) / 2;
  let best = -1;
  let bestD = Infinity;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * 4;
      const id = decodeId(pixels[o], pixels[o + 1], pixels[o + 2]);
      if (id < 0) continue;
      const d = (x - c) ** 2 + (y - c) ** 2;
      if (d < bestD) {
        bestD = d;
        best = id;
      }
    }
  return best;
}
