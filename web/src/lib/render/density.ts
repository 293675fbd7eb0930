// Point size and opacity that adapt to how crowded the view is: few points draw large and opaque,
// a million draw small and translucent so dense regions read as density, not as a solid blob.

export interface SizeOptions {
  minPx?: number;
  maxPx?: number;
  /** User multiplier on the automatic size. */
  scale?: number;
}

/**
 * Diameter in CSS pixels for `n` points spread over a `width × height` canvas, at `zoom` relative
 * to the fitted view (zooming in spreads the points apart, so they may grow, but slower than the zoom).
 */
export function pointSizePx(n: number, width: number, height: number, zoom = 1, opts: SizeOptions = {}): number {
  const { minPx = 2, maxPx = 14, scale = 1 } = opts;
  if (n <= 0) return maxPx;
  // Side of the square each point would own if spread evenly over the plot, about a third covered.
  const share = Math.sqrt((width * height) / n);
  const size = 0.45 * share * Math.pow(Math.max(zoom, 1e-6), 0.5) * scale;
  return Math.min(maxPx, Math.max(minPx, size));
}

/** Alpha per point: nearly opaque up to ~20k points, fading toward 0.3 as counts reach millions. */
export function pointAlpha(n: number): number {
  if (n <= 20_000) return 0.92;
  const t = Math.min(1, Math.log10(n / 20_000) / Math.log10(100));
  return 0.3 + (1 - t) * (0.92 - 0.3);
}
