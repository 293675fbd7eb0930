// The HTTP client for the server's v1 API (docs/api.md). Every failure becomes an ApiError carrying
// the status and the server's message, so the UI can show what went wrong.

import { decodeRowPage, type RowPage } from './arrow';
import { decodeCodes, decodeFloat32, decodeRowIds } from './binary';
import type {
  AlgorithmSpec,
  Categories,
  EmbeddingFields,
  ExportFormat,
  NeighborMetric,
  NeighborsAnswer,
  Project,
  ProjectionInfo,
  ProjectionRequest,
  ProjectionStarted,
  Run,
  SelectionInfo,
  SelectionRows,
  TableInfo,
  TableVersion,
} from './types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly url: string,
  ) {
    super(message);
  }
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface ContinuousValues {
  values: Float32Array;
  min: number;
  max: number;
}

export class Api {
  constructor(
    readonly base = '',
    private readonly fetchImpl: Fetch = (input, init) => fetch(input, init),
  ) {}

  private url(path: string): string {
    return `${this.base}/api/v1${path}`;
  }

  private async request(path: string, init?: RequestInit): Promise<Response> {
    const url = this.url(path);
    let res: Response;
    try {
      res = await this.fetchImpl(url, init);
    } catch (e) {
      throw new ApiError(0, `cannot reach the server (${(e as Error).message})`, url);
    }
    if (!res.ok) {
      let message = `${res.status} ${res.statusText}`;
      try {
        const body = await res.text();
        try {
          const parsed = JSON.parse(body) as { error?: string };
          if (parsed && typeof parsed.error === 'string') message = parsed.error;
        } catch {
          if (body) message = body.slice(0, 300);
        }
      } catch {
        /* keep the status line */
      }
      throw new ApiError(res.status, message, url);
    }
    return res;
  }

  private async json<T>(path: string, init?: RequestInit): Promise<T> {
    return (await this.request(path, init)).json() as Promise<T>;
  }

  private async bytes(path: string): Promise<{ buf: ArrayBuffer; res: Response }> {
    const res = await this.request(path);
    return { buf: await res.arrayBuffer(), res };
  }

  projects(): Promise<Project[]> {
    return this.json('/projects');
  }

  runs(projectId: number): Promise<Run[]> {
    return this.json(`/projects/${projectId}/runs`);
  }

  tables(runId: number): Promise<TableVersion[]> {
    return this.json(`/runs/${runId}/tables`);
  }

  table(tableId: number): Promise<TableInfo> {
    return this.json(`/tables/${tableId}`);
  }

  async rows(tableId: number, offset: number, limit: number, columns?: string[]): Promise<RowPage> {
    const q = new URLSearchParams({ offset: String(offset), limit: String(limit) });
    if (columns?.length) q.set('columns', columns.join(','));
    const { buf } = await this.bytes(`/tables/${tableId}/rows?${q}`);
    return decodeRowPage(buf, offset);
  }

  categories(tableId: number, column: string): Promise<Categories> {
    return this.json(`/tables/${tableId}/columns/${encodeURIComponent(column)}/categories`);
  }

  async codes(tableId: number, column: string, cats: Categories, nRows?: number) {
    const { buf } = await this.bytes(`/tables/${tableId}/columns/${encodeURIComponent(column)}/codes`);
    return decodeCodes(buf, cats.code_type, nRows);
  }

  async values(tableId: number, column: string, nRows?: number): Promise<ContinuousValues> {
    const { buf, res } = await this.bytes(`/tables/${tableId}/columns/${encodeURIComponent(column)}/values`);
    const values = decodeFloat32(buf, nRows, `values of ${column}`);
    let min = Number(res.headers.get('X-Min'));
    let max = Number(res.headers.get('X-Max'));
    if (!Number.isFinite(min) || !Number.isFinite(max) || res.headers.get('X-Min') === null) {
      min = Infinity;
      max = -Infinity;
      for (const v of values)
        if (Number.isFinite(v)) {
          if (v < min) min = v;
          if (v > max) max = v;
        }
    }
    return { values, min, max };
  }

  mediaUrl(hash: string): string {
    return this.url(`/media/${encodeURIComponent(hash)}`);
  }

  algorithms(): Promise<AlgorithmSpec[]> {
    return this.json('/algorithms');
  }

  createProjection(req: ProjectionRequest): Promise<ProjectionStarted> {
    return this.json('/projections', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(req),
    });
  }

  projection(id: number): Promise<ProjectionInfo> {
    return this.json(`/projections/${id}`);
  }

  async coords(id: number, expectedValues?: number): Promise<Float32Array> {
    const { buf } = await this.bytes(`/projections/${id}/coords`);
    return decodeFloat32(buf, expectedValues, `coordinates of projection ${id}`);
  }

  cancel(jobId: number): Promise<{ status: string }> {
    return this.json(`/jobs/${jobId}/cancel`, { method: 'POST' });
  }

  /** The k nearest rows of `row` in the original space (docs/api.md "Explore"). */
  neighbors(tableId: number, row: number, k: number, metric: NeighborMetric, fields: EmbeddingFields): Promise<NeighborsAnswer> {
    return this.json(`/tables/${tableId}/neighbors`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ row, k, metric, fields }),
    });
  }

  /** Row ids (ascending) matching every filter (`combine: 'and'`) or any (`'or'`). */
  async query(tableId: number, filters: unknown[], combine: 'and' | 'or' = 'and'): Promise<Uint32Array> {
    const res = await this.request(`/tables/${tableId}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ filters, combine }),
    });
    const buf = await res.arrayBuffer();
    const count = res.headers.get('X-Count');
    return decodeRowIds(buf, count === null ? undefined : Number(count), 'matching rows');
  }

  selections(tableId: number): Promise<SelectionInfo[]> {
    return this.json(`/tables/${tableId}/selections`);
  }

  saveSelection(tableId: number, name: string, rows: ArrayLike<number>): Promise<SelectionInfo> {
    return this.json(`/tables/${tableId}/selections`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, rows: Array.from(rows) }),
    });
  }

  selection(id: number): Promise<SelectionRows> {
    return this.json(`/selections/${id}`);
  }

  async deleteSelection(id: number): Promise<void> {
    await this.request(`/selections/${id}`, { method: 'DELETE' });
  }

  /** The download URL of rows (a saved selection or all) with a projection's coordinates. */
  exportUrl(tableId: number, format: ExportFormat, opts: { selection?: number | null; projection?: number | null } = {}): string {
    const q = new URLSearchParams({ format });
    if (opts.selection !== undefined && opts.selection !== null) q.set('selection', String(opts.selection));
    if (opts.projection !== undefined && opts.projection !== null) q.set('projection', String(opts.projection));
    return this.url(`/tables/${tableId}/export?${q}`);
  }

  /** Row ids of a subset projection, in the order of its coordinates. */
  async projectionRows(id: number, expected?: number): Promise<Uint32Array> {
    const { buf } = await this.bytes(`/projections/${id}/rows`);
    return decodeRowIds(buf, expected, `rows of projection ${id}`);
  }

  /** The WebSocket URL of a job, on the page's own host (ws or wss to match http or https). */
  jobSocketUrl(jobId: number, location: { protocol: string; host: string } = window.location): string {
    const base = this.base || `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`;
    return `${base.replace(/^http/, 'ws')}/api/v1/jobs/${jobId}/ws`;
  }
}
