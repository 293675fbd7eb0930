import { describe, expect, it } from 'vitest';
import type { AlgorithmSpec, TableInfo } from '../../lib/data/types';
import { defaultSettings, paramError, reconcileSettings, sanitizeParams, settingsKey } from './settings';
import { formatSearch, parseSearch, type ViewState } from './url';

const algorithms: AlgorithmSpec[] = [
  { name: 'pca', params: [] },
  {
    name: 'umap',
    params: [
      { name: 'n_neighbors', type: 'int', default: 15, min: 2, max: 200 },
      { name: 'min_dist', type: 'float', default: 0.1, min: 0, max: 1 },
      { name: 'metric', type: 'choice', default: 'euclidean', choices: ['euclidean', 'cosine'] },
    ],
  },
];

const table: TableInfo = {
  id: 3,
  key: 'digits',
  step: null,
  n_rows: 1797,
  columns: [
    { name: 'embedding', kind: 'embedding', dim: 64 },
    { name: 'label', kind: 'category', n_distinct: 10 },
    { name: 'image', kind: 'image' },
  ],
  defaults: { embedding: { type: 'single', columns: ['embedding'] }, color_by: 'label', overlay: 'image' },
};

describe('view state in the URL', () => {
  it('round-trips a table view with settings and a camera', () => {
    const s: ViewState = {
      route: { kind: 'table', tableId: 12 },
      panel: true,
      settings: { algorithm: 'umap', fields: { type: 'many', columns: ['a,b', 'c d'] }, params: { n_neighbors: 30, metric: 'cosine' }, seed: 7, dims: 2 },
      colorBy: 'label',
      overlay: null,
      camera: { kind: '2d', camera: { x: 1.5, y: -2.25, k: 40 } },
    };
    const back = parseSearch(formatSearch(s));
    expect(back.route).toEqual(s.route);
    expect(back.settings.fields).toEqual(s.settings.fields);
    expect(back.settings.algorithm).toBe('umap');
    expect(back.settings.params).toEqual({ n_neighbors: '30', metric: 'cosine' });
    expect(back.settings.seed).toBe(7);
    expect(back.colorBy).toBe('label');
    expect(back.overlay).toBeNull();
    expect(back.camera).toEqual(s.camera);
  });

  it('round-trips a 3D camera and the browse routes', () => {
    const cam = { kind: '3d' as const, camera: { target: [1, 2, 3] as [number, number, number], distance: 9, yaw: 0.5, pitch: -0.25, fov: Math.PI / 4 } };
    expect(parseSearch(formatSearch({ route: { kind: 'table', tableId: 1 }, panel: false, settings: {}, camera: cam })).camera).toEqual(cam);
    expect(parseSearch('?run=5').route).toEqual({ kind: 'run', runId: 5 });
    expect(parseSearch('?project=2').route).toEqual({ kind: 'project', projectId: 2 });
    expect(parseSearch('').route).toEqual({ kind: 'projects' });
    expect(parseSearch('?table=x').route).toEqual({ kind: 'projects' });
  });

  it('reads the keys the browser tests use and keeps foreign keys such as the token', () => {
    const s = parseSearch('?table=7&panel=projection&algorithm=tsne');
    expect(s.route).toEqual({ kind: 'table', tableId: 7 });
    expect(s.panel).toBe(true);
    expect(s.settings.algorithm).toBe('tsne');
    const out = formatSearch({ ...s, settings: { algorithm: 'umap' } }, '?token=abc&table=7&algorithm=tsne&p.x=1');
    const q = new URLSearchParams(out);
    expect(q.get('token')).toBe('abc');
    expect(q.get('algorithm')).toBe('umap');
    expect(q.has('p.x')).toBe(false);
    expect(parseSearch('?table=7&panel=none').panel).toBe(false);
  });

  it('ignores malformed values instead of failing', () => {
    const s = parseSearch('?table=4&cam=1,2,-3&dims=5&seed=-1&fields=bogus:x');
    expect(s.camera).toBeUndefined();
    expect(s.settings).toEqual({});
    expect(s.panel).toBe(true);
  });
});

describe('projection settings', () => {
  it('defaults to PCA on the default fields', () => {
    expect(defaultSettings(table, algorithms)).toEqual({
      fields: { type: 'single', columns: ['embedding'] }, algorithm: 'pca', params: {}, seed: 0, dims: 2,
    });
  });

  it('validates parameters against their ranges', () => {
    const [nn, md, metric] = algorithms[1].params;
    expect(paramError(nn, 15)).toBeNull();
    expect(paramError(nn, 1)).toMatch(/≥ 2/);
    expect(paramError(nn, 2.5)).toMatch(/whole/);
    expect(paramError(md, 'abc')).toMatch(/number/);
    expect(paramError(md, '')).toMatch(/needs a value/);
    expect(paramError(metric, 'manhattan')).toMatch(/one of/);
    const lr = { name: 'learning_rate', type: 'float' as const, default: 200, min: 0, min_exclusive: true };
    expect(paramError(lr, 0)).toMatch(/> 0/);
    expect(paramError(lr, 0.001)).toBeNull();
  });

  it('keeps valid URL parameters and replaces bad ones with defaults', () => {
    expect(sanitizeParams(algorithms[1], { n_neighbors: '40', min_dist: '-3', metric: 'cosine', bogus: 1 })).toEqual({
      n_neighbors: 40, min_dist: 0.1, metric: 'cosine',
    });
  });

  it('falls back to defaults for unknown columns and algorithms', () => {
    const s = reconcileSettings(table, algorithms, { algorithm: 'magic', fields: { type: 'single', columns: ['nope'] }, seed: 3 });
    expect(s?.algorithm).toBe('pca');
    expect(s?.fields.columns).toEqual(['embedding']);
    expect(s?.seed).toBe(3);
  });

  it('keys equal settings equally regardless of parameter order', () => {
    const a = reconcileSettings(table, algorithms, { algorithm: 'umap', params: { n_neighbors: 30, min_dist: 0.2 } })!;
    const b = { ...a, params: { min_dist: 0.2, metric: 'euclidean', n_neighbors: 30 } };
    expect(settingsKey(a)).toBe(settingsKey(b));
    expect(settingsKey({ ...a, seed: 1 })).not.toBe(settingsKey(a));
  });
});
