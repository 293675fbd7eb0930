// A stand-in for `flatspace serve` for UI development and screenshots without the Rust build:
// serves web/dist and the v1 API (docs/api.md) over synthetic data: a "digits-like" table of
// 10 Gaussian classes in 64-d with 8×8 PNG images, and an optional large table.
//   node scripts/mock-server.mjs [--port 8870] [--rows 1797] [--big 100000]
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { WebSocketServer } from 'ws';
import { tableFromArrays, tableToIPC, utf8, float32, int32 } from '@uwdata/flechette';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const PORT = arg('port', 8870);
const DIST = join(import.meta.dirname, '..', 'dist');

// Deterministic RNG so screenshots are stable.
function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 4294967296);
}
function gauss(r) {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

function makeTable(id, key, n, nClasses, withImages) {
  const r = rng(id * 7919);
  const centers = Array.from({ length: nClasses }, () => [gauss(r) * 4, gauss(r) * 4, gauss(r) * 4]);
  const labels = new Uint8Array(n);
  const truth = new Float32Array(n * 3);
  const score = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * nClasses);
    labels[i] = c;
    for (let d = 0; d < 3; d++) truth[i * 3 + d] = centers[c][d] + gauss(r) * 0.9;
    score[i] = c / nClasses + r() * 0.3;
  }
  return { id, key, n, nClasses, labels, truth, score, withImages };
}

const tables = [makeTable(1, 'digits', arg('rows', 1797), 10, true)];
const big = arg('big', 0);
if (big) tables.push(makeTable(2, 'synthetic', big, 24, false));

// A tiny PNG encoder for 8×8 grey images (the digit "drawn" as its class' bit pattern plus noise).
const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
function png(w, h, grey) {
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4);
    data.copy(out, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const raw = Buffer.alloc((w + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw[y * (w + 1) + 1 + x] = grey[y * w + x];
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 0;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
function digitImage(row, label) {
  const r = rng(row + 1);
  const g = new Uint8Array(64);
  for (let i = 0; i < 64; i++) {
    const x = i % 8, y = Math.floor(i / 8);
    const ring = Math.abs(Math.hypot(x - 3.5, y - 3.5) - 1.5 - (label % 3)) < 1;
    const bar = (label & 1) && x === 4;
    g[i] = ring || bar ? 255 - Math.floor(r() * 60) : Math.floor(r() * 40);
  }
  return png(8, 8, g);
}

const ALGORITHMS = [
  { name: 'pca', label: 'PCA', params: [] },
  {
    name: 'umap', label: 'UMAP', params: [
      { name: 'n_neighbors', type: 'int', default: 15, min: 2, max: 200, description: 'neighbours per point' },
      { name: 'min_dist', type: 'float', default: 0.1, min: 0, max: 1, description: 'how tightly points pack' },
      { name: 'n_epochs', type: 'int', default: 200, min: 10, max: 2000 },
      { name: 'metric', type: 'choice', default: 'euclidean', choices: ['euclidean', 'cosine'] },
    ],
  },
  {
    name: 'tsne', label: 't-SNE', params: [
      { name: 'perplexity', type: 'float', default: 30, min: 0, min_exclusive: true, max: 500 },
      { name: 'learning_rate', type: 'float', default: 200, min: 0, min_exclusive: true },
      { name: 'n_iter', type: 'int', default: 750, min: 250, max: 5000 },
    ],
  },
];

const projections = new Map(); // key → projection
let nextId = 1;

function layoutFor(t, algo, dims, seed, progress, rows = null) {
  const r = rng(seed + 17 + algo.length);
  const n = rows ? rows.length : t.n;
  const out = new Float32Array(n * dims);
  const spread = algo === 'pca' ? 1 : 0.35 + 0.65 * (1 - progress);
  for (let k = 0; k < n; k++) {
    const i = rows ? rows[k] : k;
    for (let d = 0; d < dims; d++) {
      const v = algo === 'pca' ? t.truth[i * 3 + d] * 1.3 + gauss(r) * 1.5 : t.truth[i * 3 + d] * 2.5 * (0.4 + progress) + gauss(r) * spread * 3;
      out[k * dims + d] = v;
    }
  }
  return out;
}

// Explore (docs/api.md "Explore"): the mock's cells as the table shows them.
const caption = (t, i) => `sample ${i} of class ${t.labels[i]}, handwritten`;
const cellText = (t, col, i) => (col === 'label' ? String(t.labels[i]) : col === 'score' ? String(Number(t.score[i].toPrecision(4))) : col === 'caption' ? caption(t, i) : null);
const selections = new Map();
let nextSelection = 1;
const csvCell = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));

function send(res, status, body, headers = {}) {
  res.writeHead(status, headers);
  res.end(body);
}
const json = (res, status, v) => send(res, status, JSON.stringify(v), { 'content-type': 'application/json' });
const err = (res, status, msg) => json(res, status, { error: msg });
const bin = (res, arr, headers = {}) => send(res, 200, Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength), { 'content-type': 'application/octet-stream', ...headers });

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  let m;
  if (!p.startsWith('/api/')) {
    const file = p === '/' || !extname(p) ? 'index.html' : p.slice(1);
    try {
      const data = await readFile(join(DIST, file));
      const type = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' }[extname(file)] ?? 'application/octet-stream';
      return send(res, 200, data, { 'content-type': type });
    } catch {
      return send(res, 404, 'build the UI first: npm run build');
    }
  }
  const table = (id) => tables.find((t) => t.id === Number(id));
  if (p === '/api/v1/projects') return json(res, 200, [{ id: 1, name: 'demo', n_runs: 1 }]);
  if (p === '/api/v1/projects/1/runs') return json(res, 200, [{ id: 1, name: 'mock-run', created_at: '2026-11-29T04:00:00Z', config: {} }]);
  if (p === '/api/v1/runs/1/tables')
    return json(res, 200, tables.map((t) => ({ id: t.id, key: t.key, step: null, version: 1, n_rows: t.n, created_at: '2026-11-29T04:00:00Z' })));
  if ((m = p.match(/^\/api\/v1\/tables\/(\d+)$/))) {
    const t = table(m[1]);
    if (!t) return err(res, 404, `unknown table ${m[1]}`);
    const columns = [
      { name: 'embedding', kind: 'embedding', dim: 64 },
      { name: 'label', kind: 'category', n_distinct: t.nClasses },
      ...(t.withImages ? [{ name: 'image', kind: 'image' }] : []),
      { name: 'score', kind: 'numeric' },
      { name: 'caption', kind: 'text' },
    ];
    return json(res, 200, {
      id: t.id, key: t.key, step: null, n_rows: t.n, columns,
      defaults: { embedding: { type: 'single', columns: ['embedding'] }, color_by: 'label', overlay: t.withImages ? 'image' : 'caption' },
    });
  }
  if ((m = p.match(/^\/api\/v1\/tables\/(\d+)\/rows$/))) {
    const t = table(m[1]);
    if (!t) return err(res, 404, `unknown table ${m[1]}`);
    const offset = Number(url.searchParams.get('offset') ?? 0);
    const limit = Math.min(Number(url.searchParams.get('limit') ?? 100), t.n - offset);
    const ids = Array.from({ length: Math.max(0, limit) }, (_, k) => offset + k);
    const cols = {
      label: ids.map((i) => String(t.labels[i])),
      ...(t.withImages ? { image: ids.map((i) => `d${i}`) } : {}),
      score: ids.map((i) => t.score[i]),
      caption: ids.map((i) => `sample ${i} of class ${t.labels[i]}, handwritten`),
      row: ids,
    };
    const types = { label: utf8(), image: utf8(), score: float32(), caption: utf8(), row: int32() };
    const ipc = tableToIPC(tableFromArrays(cols, { types }), { format: 'stream' });
    return send(res, 200, Buffer.from(ipc), { 'content-type': 'application/vnd.apache.arrow.stream' });
  }
  if ((m = p.match(/^\/api\/v1\/tables\/(\d+)\/columns\/([^/]+)\/(categories|codes|values)$/))) {
    const t = table(m[1]);
    if (!t) return err(res, 404, `unknown table ${m[1]}`);
    const col = decodeURIComponent(m[2]);
    if (m[3] === 'categories') {
      if (col !== 'label') return err(res, 400, `column ${col} is not a category`);
      const counts = new Array(t.nClasses).fill(0);
      for (const c of t.labels) counts[c]++;
      return json(res, 200, { categories: counts.map((_, i) => String(i)), counts, code_type: 'uint8' });
    }
    if (m[3] === 'codes') return bin(res, t.labels);
    if (col !== 'score') return err(res, 400, `column ${col} is not numeric`);
    let lo = Infinity, hi = -Infinity;
    for (const v of t.score) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
    return bin(res, t.score, { 'X-Min': String(lo), 'X-Max': String(hi) });
  }
  if ((m = p.match(/^\/api\/v1\/media\/d(\d+)$/))) {
    const i = Number(m[1]);
    return send(res, 200, digitImage(i, tables[0].labels[i] ?? 0), { 'content-type': 'image/png', 'cache-control': 'public, max-age=31536000, immutable' });
  }
  if (p === '/api/v1/algorithms') return json(res, 200, ALGORITHMS);
  if ((m = p.match(/^\/api\/v1\/tables\/(\d+)\/neighbors$/)) && req.method === 'POST') {
    const t = table(m[1]);
    if (!t) return err(res, 404, `unknown table ${m[1]}`);
    const body = JSON.parse(await readBody(req));
    const k = body.k ?? 10;
    if (!(body.row >= 0 && body.row < t.n)) return err(res, 400, `row ${body.row} is out of range: the table has ${t.n} rows`);
    const q = t.truth.subarray(body.row * 3, body.row * 3 + 3);
    const dist = (i) => {
      const v = t.truth.subarray(i * 3, i * 3 + 3);
      if (body.metric === 'cosine') {
        const dot = v[0] * q[0] + v[1] * q[1] + v[2] * q[2];
        return 1 - dot / (Math.hypot(...v) * Math.hypot(...q) || 1);
      }
      return Math.hypot(v[0] - q[0], v[1] - q[1], v[2] - q[2]);
    };
    const all = [];
    for (let i = 0; i < t.n; i++) if (i !== body.row) all.push({ row: i, distance: dist(i) });
    all.sort((a, b) => a.distance - b.distance || a.row - b.row);
    return json(res, 200, { row: body.row, metric: body.metric ?? 'euclidean', k, neighbors: all.slice(0, k) });
  }
  if ((m = p.match(/^\/api\/v1\/tables\/(\d+)\/query$/)) && req.method === 'POST') {
    const t = table(m[1]);
    if (!t) return err(res, 404, `unknown table ${m[1]}`);
    const { filters = [], combine = 'and' } = JSON.parse(await readBody(req));
    let tests;
    try {
      tests = filters.map((f) => {
        if (f.op === 'range') {
          if (f.column !== 'score') throw new Error(`range needs a numeric column, ${f.column} is not`);
          return (i) => (f.min === undefined || t.score[i] >= f.min) && (f.max === undefined || t.score[i] <= f.max);
        }
        if (f.op === 'regex') {
          const re = new RegExp(f.value, f.case_sensitive ? '' : 'i');
          return (i) => re.test(cellText(t, f.column, i) ?? '');
        }
        const needle = f.case_sensitive ? f.value : f.value.toLowerCase();
        return (i) => {
          const s = cellText(t, f.column, i) ?? '';
          return (f.case_sensitive ? s : s.toLowerCase()).includes(needle);
        };
      });
    } catch (e) {
      return err(res, 400, e.message);
    }
    const hits = [];
    for (let i = 0; i < t.n; i++) if (tests.length && (combine === 'or' ? tests.some((f) => f(i)) : tests.every((f) => f(i)))) hits.push(i);
    return bin(res, Uint32Array.from(hits), { 'X-Count': String(hits.length) });
  }
  if ((m = p.match(/^\/api\/v1\/tables\/(\d+)\/selections$/))) {
    const t = table(m[1]);
    if (!t) return err(res, 404, `unknown table ${m[1]}`);
    const info = (s) => ({ id: s.id, name: s.name, n_rows: s.rows.length, created_at: s.created_at });
    if (req.method === 'POST') {
      const { name = '', rows = [] } = JSON.parse(await readBody(req));
      if (!name.trim()) return err(res, 400, 'a selection needs a name');
      const bad = rows.find((r) => !(r >= 0 && r < t.n));
      if (bad !== undefined) return err(res, 400, `row ${bad} is out of range: the table has ${t.n} rows`);
      const old = [...selections.values()].find((s) => s.table_id === t.id && s.name === name);
      const s = { id: old?.id ?? nextSelection++, table_id: t.id, name, rows: [...new Set(rows)].sort((a, b) => a - b), created_at: new Date().toISOString() };
      selections.set(s.id, s);
      return json(res, 200, info(s));
    }
    return json(res, 200, [...selections.values()].filter((s) => s.table_id === t.id).map(info));
  }
  if ((m = p.match(/^\/api\/v1\/selections\/(\d+)$/))) {
    const s = selections.get(Number(m[1]));
    if (!s) return err(res, 404, `unknown selection ${m[1]}`);
    if (req.method === 'DELETE') {
      selections.delete(s.id);
      return send(res, 204, '');
    }
    return json(res, 200, { id: s.id, table_id: s.table_id, name: s.name, n_rows: s.rows.length, created_at: s.created_at, rows: s.rows });
  }
  if ((m = p.match(/^\/api\/v1\/tables\/(\d+)\/export$/))) {
    const t = table(m[1]);
    if (!t) return err(res, 404, `unknown table ${m[1]}`);
    const sel = url.searchParams.get('selection');
    const proj = url.searchParams.get('projection');
    const rows = sel ? selections.get(Number(sel))?.rows : Array.from({ length: t.n }, (_, i) => i);
    if (!rows) return err(res, 404, `unknown selection ${sel}`);
    const pr = proj ? [...projections.values()].find((x) => x.id === Number(proj)) : null;
    if (proj && (!pr || pr.status !== 'done')) return err(res, 400, `projection ${proj} is not done`);
    const at = pr?.rows ? new Map(pr.rows.map((r, k) => [r, k])) : null;
    const head = ['row_id', ...(pr ? ['x', 'y', ...(pr.dims === 3 ? ['z'] : [])] : []), 'label', 'score', 'caption'];
    const lines = [head.join(',')];
    for (const i of rows) {
      const k = at ? at.get(i) : i;
      const xyz = pr ? Array.from({ length: pr.dims }, (_, d) => (k === undefined ? '' : pr.coords[k * pr.dims + d])) : [];
      lines.push([i, ...xyz, t.labels[i], t.score[i], caption(t, i)].map(csvCell).join(','));
    }
    return send(res, 200, lines.join('\n') + '\n', { 'content-type': 'text/csv', 'content-disposition': `attachment; filename="${t.key}${sel ? '-selection-' + sel : ''}.csv"` });
  }
  if ((m = p.match(/^\/api\/v1\/projections\/(\d+)\/rows$/))) {
    const pr = [...projections.values()].find((x) => x.id === Number(m[1]));
    if (!pr) return err(res, 404, `unknown projection ${m[1]}`);
    return bin(res, Uint32Array.from(pr.rows ?? Array.from({ length: pr.t.n }, (_, i) => i)));
  }
  if (p === '/api/v1/projections' && req.method === 'POST') {
    const body = JSON.parse(await readBody(req));
    const t = table(body.table_id);
    if (!t) return err(res, 404, `unknown table ${body.table_id}`);
    const key = JSON.stringify([body.table_id, body.fields, body.algorithm, body.params, body.seed, body.n_components, body.rows ?? null]);
    let pr = projections.get(key);
    if (!pr) {
      pr = { id: nextId++, job: nextId + 1000, t, algo: body.algorithm, dims: body.n_components, seed: body.seed, params: body.params, rows: body.rows ?? null, status: body.algorithm === 'pca' ? 'done' : 'running', started: Date.now(), coords: null, listeners: new Set() };
      if (pr.status === 'done') pr.coords = layoutFor(t, pr.algo, pr.dims, pr.seed, 1, pr.rows);
      else runJob(pr);
      projections.set(key, pr);
    }
    return json(res, 200, { projection_id: pr.id, job_id: pr.job, status: pr.status });
  }
  const byId = (id) => [...projections.values()].find((x) => x.id === Number(id));
  if ((m = p.match(/^\/api\/v1\/projections\/(\d+)$/))) {
    const pr = byId(m[1]);
    if (!pr) return err(res, 404, `unknown projection ${m[1]}`);
    return json(res, 200, {
      id: pr.id, table_id: pr.t.id, status: pr.status, algorithm: pr.algo, params: pr.params, seed: pr.seed, n_rows: pr.rows ? pr.rows.length : pr.t.n, n_components: pr.dims, rows_subset: pr.rows !== null,
      elapsed_secs: pr.algo === 'pca' ? 0.012 : (Date.now() - pr.started) / 1000, job_id: pr.job,
      metrics: pr.status === 'done' ? { knn_recall: pr.algo === 'pca' ? 0.412 : 0.873, trustworthiness: pr.algo === 'pca' ? 0.874 : 0.981 } : null,
    });
  }
  if ((m = p.match(/^\/api\/v1\/projections\/(\d+)\/coords$/))) {
    const pr = byId(m[1]);
    if (!pr) return err(res, 404, `unknown projection ${m[1]}`);
    if (pr.status !== 'done') return err(res, 409, `projection ${pr.id} is ${pr.status}`);
    return bin(res, pr.coords);
  }
  if ((m = p.match(/^\/api\/v1\/jobs\/(\d+)\/cancel$/))) {
    const pr = [...projections.values()].find((x) => x.job === Number(m[1]));
    if (pr && pr.status === 'running') pr.status = 'cancelled';
    return json(res, 200, { status: 'cancelled' });
  }
  return err(res, 404, `no route ${p}`);
});

function runJob(pr) {
  const total = pr.algo === 'tsne' ? 750 : 200;
  let done = 0;
  const timer = setInterval(() => {
    if (pr.status === 'cancelled') {
      clearInterval(timer);
      for (const ws of pr.listeners) ws.send(JSON.stringify({ type: 'cancelled' }));
      return;
    }
    done = Math.min(total, done + total / 40);
    const f = done / total;
    const snap = layoutFor(pr.t, pr.algo, pr.dims, pr.seed, f, pr.rows);
    for (const ws of pr.listeners) {
      ws.send(JSON.stringify({ type: 'progress', stage: 'optimize', done, total, loss: 1 - f, elapsed_secs: (Date.now() - pr.started) / 1000 }));
      ws.send(snap);
    }
    if (done >= total) {
      clearInterval(timer);
      pr.coords = snap;
      pr.status = 'done';
      for (const ws of pr.listeners) ws.send(JSON.stringify({ type: 'done', projection_id: pr.id }));
    }
  }, 100);
}

const wss = new WebSocketServer({ server, path: undefined });
wss.on('connection', (ws, req) => {
  const m = req.url.match(/^\/api\/v1\/jobs\/(\d+)\/ws/);
  const pr = m && [...projections.values()].find((x) => x.job === Number(m[1]));
  if (!pr) return ws.close();
  if (pr.status === 'done') return ws.send(JSON.stringify({ type: 'done', projection_id: pr.id }));
  pr.listeners.add(ws);
  ws.on('message', (d) => String(d) === 'cancel' && (pr.status = 'cancelled'));
  ws.on('close', () => pr.listeners.delete(ws));
});

server.listen(PORT, '127.0.0.1', () => console.log(`mock flatspace API on http://127.0.0.1:${PORT}`));
