import { float32, int32, tableFromArrays, tableToIPC, utf8 } from '@uwdata/flechette';
import { describe, expect, it } from 'vitest';
import { Api, ApiError } from './api';
import { decodeRowPage } from './arrow';
import { countCodes, decodeCodes, decodeFloat32, DecodeError } from './binary';
import { PageCache } from './pageCache';
import { parseJobMessage, progressFraction } from './progress';

function le(bytesPer: number, values: number[], kind: 'f' | 'u'): ArrayBuffer {
  const buf = new ArrayBuffer(values.length * bytesPer);
  const v = new DataView(buf);
  values.forEach((x, i) => {
    if (kind === 'f') v.setFloat32(i * 4, x, true);
    else if (bytesPer === 1) v.setUint8(i, x);
    else if (bytesPer === 2) v.setUint16(i * 2, x, true);
    else v.setUint32(i * 4, x, true);
  });
  return buf;
}

describe('binary bodies', () => {
  it('decodes little-endian float32 coordinates', () => {
    const c = decodeFloat32(le(4, [1.5, -2.25, 3e6, 0], 'f'), 4);
    expect(Array.from(c)).toEqual([1.5, -2.25, 3e6, 0]);
  });

  it('rejects a body of the wrong size with a message naming the problem', () => {
    expect(() => decodeFloat32(new ArrayBuffer(6))).toThrow(DecodeError);
    expect(() => decodeFloat32(new ArrayBuffer(8), 3, 'coords')).toThrow(/coords: expected 3 values, got 2/);
  });

  it('decodes each code width and counts codes', () => {
    expect(Array.from(decodeCodes(le(1, [0, 3, 255], 'u'), 'uint8'))).toEqual([0, 3, 255]);
    const c16 = decodeCodes(le(2, [0, 300, 65535], 'u'), 'uint16', 3);
    expect(c16).toBeInstanceOf(Uint16Array);
    expect(Array.from(c16)).toEqual([0, 300, 65535]);
    expect(Array.from(decodeCodes(le(4, [70000, 1], 'u'), 'uint32'))).toEqual([70000, 1]);
    expect(() => decodeCodes(new ArrayBuffer(3), 'uint16')).toThrow(/not a multiple of 2/);
    expect(countCodes(new Uint8Array([0, 2, 2, 1, 2, 9]), 3)).toEqual([1, 1, 3]);
  });
});

describe('arrow pages', () => {
  it('decodes an IPC stream into row objects', () => {
    const table = tableFromArrays(
      { id: [10, 11, 12], label: ['a', 'b', null], score: [0.5, 1.5, 2.5] },
      { types: { id: int32(), label: utf8(), score: float32() } },
    );
    const ipc = tableToIPC(table, { format: 'stream' });
    expect(ipc).not.toBeNull();
    const page = decodeRowPage(ipc!, 200);
    expect(page.offset).toBe(200);
    expect(page.columns).toEqual(['id', 'label', 'score']);
    expect(page.rows).toEqual([
      { id: 10, label: 'a', score: 0.5 },
      { id: 11, label: 'b', score: 1.5 },
      { id: 12, label: null, score: 2.5 },
    ]);
  });
});

describe('progress messages', () => {
  it('parses progress, end events and binary snapshots', () => {
    expect(parseJobMessage('{"type":"progress","stage":"optimize","done":50,"total":200,"loss":1.25,"elapsed_secs":0.8}')).toEqual({
      type: 'progress', stage: 'optimize', done: 50, total: 200, loss: 1.25, elapsed_secs: 0.8,
    });
    expect(parseJobMessage('{"type":"done","projection_id":7}')).toEqual({ type: 'done', projection_id: 7 });
    expect(parseJobMessage('{"type":"error","message":"perplexity too large"}')).toEqual({ type: 'error', message: 'perplexity too large' });
    expect(parseJobMessage('{"type":"cancelled"}')).toEqual({ type: 'cancelled' });
    expect(parseJobMessage('{"type":"queued"}')).toMatchObject({ type: 'progress', stage: 'queued' });
    const snap = parseJobMessage(new Float32Array([1, 2, 3, 4]).buffer);
    expect(snap?.type === 'snapshot' && Array.from(snap.coords)).toEqual([1, 2, 3, 4]);
  });

  it('ignores what it does not understand', () => {
    expect(parseJobMessage('not json')).toBeNull();
    expect(parseJobMessage('{"type":"hello"}')).toBeNull();
    expect(parseJobMessage(new ArrayBuffer(3))).toBeNull();
    const p = parseJobMessage('{"type":"progress","loss":null}');
    expect(p).toMatchObject({ type: 'progress', done: 0, total: 0, loss: null });
  });

  it('reports a clamped fraction', () => {
    expect(progressFraction({ done: 5, total: 20 })).toBe(0.25);
    expect(progressFraction({ done: 5, total: 0 })).toBe(0);
    expect(progressFraction({ done: 30, total: 20 })).toBe(1);
  });
});

describe('page cache', () => {
  const fetcher = (calls: number[]) => async (offset: number, limit: number) => {
    calls.push(offset);
    return { offset, columns: ['i'], rows: Array.from({ length: limit }, (_, k) => ({ i: offset + k })) };
  };

  it('fetches each page once, shares concurrent requests and finds rows', async () => {
    const calls: number[] = [];
    const cache = new PageCache(fetcher(calls), 10, 4);
    await Promise.all([cache.row(3), cache.row(7), cache.row(15)]);
    expect(calls.sort((a, b) => a - b)).toEqual([0, 10]);
    expect(cache.peek(15)).toEqual({ i: 15 });
    expect(cache.peek(25)).toBeUndefined();
    await cache.ensure(5, 35);
    expect(calls.sort((a, b) => a - b)).toEqual([0, 10, 20, 30]);
  });

  it('evicts the least recently used page past its limit', async () => {
    const calls: number[] = [];
    const cache = new PageCache(fetcher(calls), 10, 2);
    await cache.row(0);
    await cache.row(10);
    cache.peek(0); // page 0 is now the most recent
    await cache.row(20);
    expect(cache.size).toBe(2);
    expect(cache.peek(0)).toBeDefined();
    expect(cache.peek(10)).toBeUndefined();
  });
});

describe('api client', () => {
  const respond = (body: BodyInit, init: ResponseInit = {}) => Promise.resolve(new Response(body, init));

  it('turns an error body into an ApiError with the server message', async () => {
    const api = new Api('', () => respond('{"error":"unknown table 99"}', { status: 404, statusText: 'Not Found' }));
    await expect(api.table(99)).rejects.toMatchObject({ status: 404, message: 'unknown table 99' });
    await expect(api.table(99)).rejects.toBeInstanceOf(ApiError);
  });

  it('builds URLs, posts JSON and decodes binary bodies', async () => {
    const seen: { url: string; init?: RequestInit }[] = [];
    const api = new Api('', (url, init) => {
      seen.push({ url, init });
      if (url.endsWith('/coords')) return respond(new Float32Array([1, 2, 3, 4]).buffer);
      if (url.includes('/values')) return respond(new Float32Array([1, 5]).buffer, { headers: { 'X-Min': '1', 'X-Max': '5' } });
      return respond('{"projection_id":3,"job_id":4,"status":"queued"}');
    });
    const started = await api.createProjection({
      table_id: 1, fields: { type: 'single', columns: ['emb'] }, algorithm: 'umap', params: { n_neighbors: 15 }, seed: 0, n_components: 2,
    });
    expect(started.job_id).toBe(4);
    expect(seen[0].url).toBe('/api/v1/projections');
    expect(seen[0].init?.method).toBe('POST');
    expect(JSON.parse(String(seen[0].init?.body)).params).toEqual({ n_neighbors: 15 });
    expect(Array.from(await api.coords(3, 4))).toEqual([1, 2, 3, 4]);
    await expect(api.coords(3, 6)).rejects.toThrow(/expected 6 values/);
    const v = await api.values(1, 'a b', 2);
    expect(seen.at(-1)?.url).toBe('/api/v1/tables/1/columns/a%20b/values');
    expect([v.min, v.max]).toEqual([1, 5]);
    expect(api.jobSocketUrl(4, { protocol: 'https:', host: 'x:1' })).toBe('wss://x:1/api/v1/jobs/4/ws');
    expect(api.mediaUrl('ab12')).toBe('/api/v1/media/ab12');
  });

  it('reports an unreachable server as status 0', async () => {
    const api = new Api('', () => Promise.reject(new Error('connection refused')));
    await expect(api.projects()).rejects.toMatchObject({ status: 0 });
  });
});
