// The projection lifecycle against a fake server: cached layouts, streamed snapshots, errors, and a
// newer request superseding an older one.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Api } from '../../lib/data/api';
import type { ProjectionSettings } from './settings';

class FakeSocket {
  static last: FakeSocket | null = null;
  static OPEN = 1;
  readyState = 1;
  binaryType = '';
  sent: string[] = [];
  onmessage: ((m: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.last = this;
  }
  send(s: string) {
    this.sent.push(s);
  }
  close() {}
  emit(data: unknown) {
    this.onmessage?.({ data });
  }
}

const g = globalThis as unknown as Record<string, unknown>;
beforeEach(() => {
  g.window = globalThis;
  g.location = { protocol: 'http:', host: 'test:1' };
  g.WebSocket = FakeSocket;
  g.requestAnimationFrame = (cb: () => void) => setTimeout(cb, 0);
  g.cancelAnimationFrame = (id: number) => clearTimeout(id);
});
afterEach(() => vi.restoreAllMocks());

const settings = (algorithm: string): ProjectionSettings => ({
  fields: { type: 'single', columns: ['emb'] }, algorithm, params: {}, seed: 0, dims: 2,
});
const flush = () => new Promise((r) => setTimeout(r, 5));

function fakeApi(handler: (url: string, init?: RequestInit) => Response | Promise<Response>) {
  return new Api('', async (url, init) => handler(url, init));
}
const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status });
const coords = (n: number, v: number) => new Response(new Float32Array(n * 2).fill(v).buffer);

describe('ProjectionController', async () => {
  const { ProjectionController } = await import('./projection.svelte');

  it('shows a cached layout at once and reads its metrics', async () => {
    const layouts: number[] = [];
    const api = fakeApi((url) => {
      if (url.endsWith('/projections')) return json({ projection_id: 5, job_id: 9, status: 'done' });
      if (url.endsWith('/coords')) return coords(3, 1.5);
      return json({ id: 5, status: 'done', elapsed_secs: 0.2, metrics: { knn_recall: 0.9, trustworthiness: 0.95 } });
    });
    const c = new ProjectionController(api, 1, 3, (u) => layouts.push(u.coords[0]));
    c.start(settings('pca'));
    await flush();
    await flush();
    expect(c.status).toBe('done');
    expect(layouts).toEqual([1.5]);
    expect(c.metrics?.trustworthiness).toBe(0.95);
    c.destroy();
  });

  it('streams snapshots, then fetches the final layout', async () => {
    const seen: { v: number; first: boolean; final: boolean }[] = [];
    const api = fakeApi((url) => {
      if (url.endsWith('/projections')) return json({ projection_id: 6, job_id: 10, status: 'running' });
      if (url.endsWith('/coords')) return coords(2, 9);
      return json({ id: 6, status: 'done', elapsed_secs: 1, metrics: { knn_recall: 0.8, trustworthiness: 0.9 } });
    });
    const c = new ProjectionController(api, 1, 2, (u) => seen.push({ v: u.coords[0], first: u.first, final: u.final }));
    c.start(settings('umap'));
    await flush();
    const ws = FakeSocket.last!;
    expect(ws.url).toBe('ws://test:1/api/v1/jobs/10/ws');
    ws.emit('{"type":"progress","stage":"optimize","done":10,"total":100,"loss":null,"elapsed_secs":0.1}');
    expect(c.status).toBe('running');
    expect(c.done).toBe(10);
    ws.emit(new Float32Array([7, 7]).buffer); // wrong size for 2 rows × 2: ignored
    await flush();
    ws.emit(new Float32Array([1, 1, 1, 1]).buffer);
    ws.emit(new Float32Array([2, 2, 2, 2]).buffer); // coalesced: only the latest is drawn
    await flush();
    ws.emit('{"type":"done","projection_id":6}');
    await flush();
    await flush();
    expect(seen.map((s) => s.v)).toEqual([2, 9]);
    expect(seen[0].first && !seen[0].final).toBe(true);
    expect(seen[1].final).toBe(true);
    expect(c.status).toBe('done');
    c.cancel();
    expect(ws.sent).toEqual([]); // nothing to cancel once done
    c.destroy();
  });

  it('reports a rejected request with the server message', async () => {
    const api = fakeApi(() => json({ error: 'perplexity must be > 0, got -5' }, 400));
    const c = new ProjectionController(api, 1, 2, () => {});
    c.start(settings('tsne'));
    await flush();
    expect(c.status).toBe('error');
    expect(c.error).toMatch(/perplexity/);
    c.destroy();
  });

  it('retries a failed job with the same request, which starts a new job', async () => {
    const requests: unknown[] = [];
    const layouts: number[] = [];
    let attempt = 0;
    const api = fakeApi((url, init) => {
      if (url.endsWith('/projections')) {
        requests.push(JSON.parse(String(init?.body)));
        attempt++;
        return json({ projection_id: 8, job_id: 20 + attempt, status: 'running' });
      }
      if (url.endsWith('/coords')) return coords(2, 4);
      return json({ id: 8, status: 'done', metrics: null });
    });
    const c = new ProjectionController(api, 3, 2, (u) => layouts.push(u.coords[0]));
    c.retry(); // nothing requested yet: nothing to retry
    expect(requests).toHaveLength(0);
    c.start(settings('umap'), new Uint32Array([0, 2]));
    await flush();
    FakeSocket.last!.emit('{"type":"error","message":"could not write tmp/x: File too large"}');
    expect(c.status).toBe('error');
    expect(c.error).toMatch(/File too large/);
    c.retry();
    expect(c.status).toBe('queued');
    expect(c.error).toBeNull();
    await flush();
    expect(requests).toHaveLength(2);
    expect(requests[1]).toEqual(requests[0]);
    expect((requests[1] as { rows: number[] }).rows).toEqual([0, 2]);
    expect(c.jobId).toBe(22);
    FakeSocket.last!.emit('{"type":"done","projection_id":8}');
    await flush();
    await flush();
    expect(c.status).toBe('done');
    expect(layouts).toEqual([4]);
    c.retry(); // done: a retry does nothing
    expect(requests).toHaveLength(2);
    c.destroy();
  });

  it('ignores answers to a request a newer one replaced', async () => {
    const layouts: number[] = [];
    let release: (() => void) | null = null;
    const api = fakeApi(async (url, init) => {
      if (url.endsWith('/projections')) {
        const body = JSON.parse(String(init?.body));
        if (body.algorithm === 'umap') await new Promise<void>((r) => (release = r));
        return json({ projection_id: body.algorithm === 'umap' ? 1 : 2, job_id: 1, status: 'done' });
      }
      if (url.endsWith('/projections/1/coords')) return coords(1, 111);
      if (url.endsWith('/projections/2/coords')) return coords(1, 222);
      return json({ id: 2, status: 'done', metrics: null });
    });
    const c = new ProjectionController(api, 1, 1, (u) => layouts.push(u.coords[0]));
    c.start(settings('umap'));
    await flush();
    c.start(settings('pca'));
    await flush();
    release!();
    await flush();
    await flush();
    expect(layouts).toEqual([222]);
    expect(c.projectionId).toBe(2);
    c.destroy();
  });
});
