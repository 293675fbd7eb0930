// Table pages arrive as Arrow IPC streams; this turns one into plain row objects for the table
// view and the hover card. Flechette decodes the stream (about 8 KB gzip in the bundle).

import { tableFromIPC } from '@uwdata/flechette';

export type Cell = string | number | boolean | null | bigint | Cell[] | Float32Array;

export interface RowPage {
  offset: number;
  columns: string[];
  rows: Record<string, Cell>[];
}

function plain(v: unknown): Cell {
  if (v === undefined || v === null) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (v instanceof Date) return v.toISOString();
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object') return JSON.stringify(v);
  return v as Cell;
}

/** Decodes one Arrow IPC stream page starting at row `offset` of the table. */
export function decodeRowPage(buf: ArrayBuffer | Uint8Array, offset: number): RowPage {
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  const table = tableFromIPC(bytes, { useBigInt: false, useDate: false });
  const columns = table.schema.fields.map((f) => f.name);
  const children = columns.map((name) => table.getChild(name));
  const rows: Record<string, Cell>[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const row: Record<string, Cell> = {};
    columns.forEach((name, j) => (row[name] = plain(children[j]?.at(i))));
    rows.push(row);
  }
  return { offset, columns, rows };
}
