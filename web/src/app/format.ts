// Small display helpers shared by the components.

import type { Cell } from '../lib/data/arrow';

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

export function formatCell(v: Cell | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v) || v instanceof Float32Array) {
    const arr = Array.from(v as ArrayLike<unknown>);
    const head = arr.slice(0, 4).map((x) => (typeof x === 'number' ? formatNumber(x) : String(x)));
    return `[${head.join(', ')}${arr.length > 4 ? `, … ${arr.length}` : ''}]`;
  }
  return String(v);
}

export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function formatMetric(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(3);
}

export function categoryLabel(v: unknown): string {
  if (v === null || v === undefined || v === '') return '(none)';
  return String(v);
}
