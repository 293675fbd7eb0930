// Search and filter: which columns can be searched how, and the query-endpoint filter that a search
// box's inputs stand for (docs/api.md "Explore", POST /tables/{id}/query). Pure, unit-tested.

import type { ColumnInfo, ColumnKind, TableInfo } from '../../lib/data/types';

export type SearchOp = 'contains' | 'regex' | 'range';

export type QueryFilter =
  | { column: string; op: 'contains' | 'regex'; value: string; case_sensitive?: boolean }
  | { column: string; op: 'range'; min?: number; max?: number }
  | { column: string; op: 'in'; values: (string | number)[] };

export interface SearchInput {
  column: string;
  op: SearchOp;
  text: string;
  min: string;
  max: string;
  caseSensitive: boolean;
}

const TEXT_KINDS: ColumnKind[] = ['text', 'category', 'numeric', 'bool'];

/** Columns a search can run on: everything but embeddings and images, labels first. */
export function searchableColumns(t: TableInfo): ColumnInfo[] {
  const rank: Partial<Record<ColumnKind, number>> = { text: 0, category: 1, numeric: 2, bool: 3 };
  return t.columns.filter((c) => TEXT_KINDS.includes(c.kind)).sort((a, b) => (rank[a.kind] ?? 9) - (rank[b.kind] ?? 9));
}

/** The operations offered for a column kind: range only for numbers. */
export function opsFor(kind: ColumnKind | undefined): SearchOp[] {
  if (kind === 'numeric') return ['contains', 'regex', 'range'];
  if (kind && TEXT_KINDS.includes(kind)) return ['contains', 'regex'];
  return [];
}

/** The default search for a table: its first text column, else its colour-by column, else the first searchable one. */
export function defaultSearch(t: TableInfo): SearchInput {
  const cols = searchableColumns(t);
  const text = cols.find((c) => c.kind === 'text');
  const color = cols.find((c) => c.name === t.defaults.color_by);
  const column = (text ?? color ?? cols[0])?.name ?? '';
  return { column, op: 'contains', text: '', min: '', max: '', caseSensitive: false };
}

function parseBound(s: string, name: string): { value?: number; error?: string } {
  const t = s.trim();
  if (t === '') return {};
  const v = Number(t);
  if (!Number.isFinite(v)) return { error: `${name} must be a number, not "${t}"` };
  return { value: v };
}

/**
 * The filter for the inputs, `null` when the inputs are empty (no search), or an error message
 * naming what is wrong. A regex is checked by the server (Rust syntax), not here.
 */
export function buildFilter(input: SearchInput, kind: ColumnKind | undefined): { filter: QueryFilter | null; error?: string } {
  if (!input.column || !kind) return { filter: null, error: input.column ? `unknown column ${input.column}` : undefined };
  if (!opsFor(kind).includes(input.op)) return { filter: null, error: `${input.op} does not apply to the ${kind} column ${input.column}` };
  if (input.op === 'range') {
    const min = parseBound(input.min, 'min');
    const max = parseBound(input.max, 'max');
    const error = min.error ?? max.error;
    if (error) return { filter: null, error };
    if (min.value === undefined && max.value === undefined) return { filter: null };
    if (min.value !== undefined && max.value !== undefined && min.value > max.value)
      return { filter: null, error: `min ${min.value} is above max ${max.value}` };
    const f: QueryFilter = { column: input.column, op: 'range' };
    if (min.value !== undefined) f.min = min.value;
    if (max.value !== undefined) f.max = max.value;
    return { filter: f };
  }
  if (input.text === '') return { filter: null };
  const f: QueryFilter = { column: input.column, op: input.op, value: input.text };
  if (input.caseSensitive) f.case_sensitive = true;
  return { filter: f };
}

/** A stable key of a filter, so the same search is not sent twice. */
export function filterKey(f: QueryFilter | null): string {
  return f ? JSON.stringify(f) : '';
}
