// Projection settings: smart defaults from the table's schema and the server's algorithm specs,
// and validation of parameters against their ranges.

import type { AlgorithmSpec, ColumnInfo, EmbeddingFields, ParamSpec, ProjectionRequest, TableInfo } from '../../lib/data/types';

export interface ProjectionSettings {
  fields: EmbeddingFields;
  algorithm: string;
  params: Record<string, number | string>;
  seed: number;
  dims: 2 | 3;
}

export interface DisplaySettings {
  colorBy: string | null;
  overlay: string | null;
}

export const embeddingColumns = (t: TableInfo): ColumnInfo[] => t.columns.filter((c) => c.kind === 'embedding');
/** Columns usable as "many" fields: numbers, one scalar per column. */
export const numericColumns = (t: TableInfo): ColumnInfo[] => t.columns.filter((c) => c.kind === 'numeric');
export const colorColumns = (t: TableInfo): ColumnInfo[] =>
  t.columns.filter((c) => c.kind === 'category' || c.kind === 'numeric' || c.kind === 'bool');
export const overlayColumns = (t: TableInfo): ColumnInfo[] => t.columns.filter((c) => c.kind === 'image' || c.kind === 'text');

/** Parameter values as the spec's defaults. */
export function defaultParams(spec: AlgorithmSpec | undefined): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const p of spec?.params ?? []) out[p.name] = p.default;
  return out;
}

/** Why `value` is not valid for `spec`, or null when it is. */
export function paramError(spec: ParamSpec, value: unknown): string | null {
  if (spec.type === 'choice') {
    return spec.choices && !spec.choices.includes(String(value)) ? `${spec.name} must be one of ${spec.choices.join(', ')}` : null;
  }
  const v = typeof value === 'number' ? value : Number(value);
  if (typeof value === 'string' && value.trim() === '') return `${spec.name} needs a value`;
  if (!Number.isFinite(v)) return `${spec.name} must be a number`;
  if (spec.type === 'int' && !Number.isInteger(v)) return `${spec.name} must be a whole number`;
  if (spec.min !== undefined && spec.min_exclusive && v <= spec.min) return `${spec.name} must be > ${spec.min}`;
  if (spec.min !== undefined && v < spec.min) return `${spec.name} must be ≥ ${spec.min}`;
  if (spec.max !== undefined && v > spec.max) return `${spec.name} must be ≤ ${spec.max}`;
  return null;
}

/**
 * Keeps the given parameters that the spec knows and that are valid, filling the rest with
 * defaults: a URL from an older version or a hand-edited one never sends a bad request.
 */
export function sanitizeParams(spec: AlgorithmSpec | undefined, given: Record<string, unknown>): Record<string, number | string> {
  const out = defaultParams(spec);
  for (const p of spec?.params ?? []) {
    if (!(p.name in given)) continue;
    const raw = given[p.name];
    if (paramError(p, raw) !== null) continue;
    out[p.name] = p.type === 'choice' ? String(raw) : Number(raw);
  }
  return out;
}

/** The first projection of a table: its default fields, PCA (instant), seed 0, 2D. */
export function defaultSettings(table: TableInfo, algorithms: AlgorithmSpec[]): ProjectionSettings | null {
  let fields = table.defaults.embedding;
  if (!fields || fields.columns.length === 0) {
    const emb = embeddingColumns(table);
    const nums = numericColumns(table);
    if (emb.length) fields = { type: 'single', columns: [emb[0].name] };
    else if (nums.length >= 2) fields = { type: 'many', columns: nums.map((c) => c.name) };
    else return null;
  }
  const algorithm = algorithms.some((a) => a.name === 'pca') || algorithms.length === 0 ? 'pca' : algorithms[0].name;
  return {
    fields: { type: fields.type, columns: [...fields.columns] },
    algorithm,
    params: defaultParams(algorithms.find((a) => a.name === algorithm)),
    seed: 0,
    dims: 2,
  };
}

/** Settings restored from a URL, checked against the table and specs, defaults where invalid. */
export function reconcileSettings(
  table: TableInfo,
  algorithms: AlgorithmSpec[],
  wanted: Partial<ProjectionSettings>,
): ProjectionSettings | null {
  const base = defaultSettings(table, algorithms);
  if (!base) return null;
  const names = new Set(table.columns.map((c) => c.name));
  let fields = base.fields;
  if (wanted.fields && wanted.fields.columns.length && wanted.fields.columns.every((c) => names.has(c))) {
    fields = wanted.fields;
  }
  const algorithm = wanted.algorithm && algorithms.some((a) => a.name === wanted.algorithm) ? wanted.algorithm : base.algorithm;
  const spec = algorithms.find((a) => a.name === algorithm);
  return {
    fields,
    algorithm,
    params: sanitizeParams(spec, wanted.params ?? {}),
    seed: Number.isInteger(wanted.seed) && (wanted.seed ?? -1) >= 0 ? (wanted.seed as number) : 0,
    dims: wanted.dims === 3 ? 3 : 2,
  };
}

export function toRequest(tableId: number, s: ProjectionSettings): ProjectionRequest {
  return { table_id: tableId, fields: s.fields, algorithm: s.algorithm, params: s.params, seed: s.seed, n_components: s.dims };
}

/** A stable key: two settings with the same key ask the server for the same projection. */
export function settingsKey(s: ProjectionSettings): string {
  const params = Object.keys(s.params)
    .sort()
    .map((k) => `${k}=${s.params[k]}`)
    .join('&');
  return `${s.fields.type}:${s.fields.columns.join(',')}|${s.algorithm}|${params}|${s.seed}|${s.dims}`;
}
