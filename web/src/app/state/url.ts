// The view state lives in the URL's query string, so a link reopens the same table, settings and
// camera (docs/api.md names the keys the browser tests use):
//   ?table=12&panel=projection&algorithm=umap&fields=single:emb&p.n_neighbors=15&seed=0&dims=2&color=label&overlay=image&cam=0.1,2.3,45
// Keys the UI does not own (e.g. the server's `token`) are kept as they are.

import type { CameraState } from '../../lib/render/renderer';
import type { ProjectionSettings } from './settings';

export type Route =
  | { kind: 'projects' }
  | { kind: 'project'; projectId: number }
  | { kind: 'run'; runId: number }
  | { kind: 'table'; tableId: number };

export interface ViewState {
  route: Route;
  /** Projection panel open (default true). */
  panel: boolean;
  settings: Partial<ProjectionSettings>;
  /** Undefined: the settings' default; null: explicitly none. */
  colorBy?: string | null;
  overlay?: string | null;
  camera?: CameraState;
}

const id = (s: string | undefined): number | null => (s && /^\d+$/.test(s) ? Number(s) : null);

function fmt(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(6))) : '0';
}

export function formatCamera(c: CameraState): string {
  if (c.kind === '2d') return [c.camera.x, c.camera.y, c.camera.k].map(fmt).join(',');
  const { target, distance, yaw, pitch } = c.camera;
  return ['3d', ...target, distance, yaw, pitch].map((v) => (typeof v === 'number' ? fmt(v) : v)).join(',');
}

export function parseCamera(s: string | null): CameraState | undefined {
  if (!s) return undefined;
  const parts = s.split(',');
  if (parts[0] === '3d') {
    const n = parts.slice(1).map(Number);
    if (n.length !== 6 || !n.every(Number.isFinite) || !(n[3] > 0)) return undefined;
    return { kind: '3d', camera: { target: [n[0], n[1], n[2]], distance: n[3], yaw: n[4], pitch: n[5], fov: Math.PI / 4 } };
  }
  const n = parts.map(Number);
  if (n.length !== 3 || !n.every(Number.isFinite) || !(n[2] > 0)) return undefined;
  return { kind: '2d', camera: { x: n[0], y: n[1], k: n[2] } };
}

/** Query keys owned by the UI; everything else in the query string is left alone. */
const OWN_KEYS = ['project', 'run', 'table', 'panel', 'algorithm', 'fields', 'seed', 'dims', 'color', 'overlay', 'cam'];

export function parseSearch(search: string): ViewState {
  const q = new URLSearchParams(search.replace(/^\?/, ''));
  let route: Route = { kind: 'projects' };
  const table = id(q.get('table') ?? undefined);
  const run = id(q.get('run') ?? undefined);
  const project = id(q.get('project') ?? undefined);
  if (table !== null) route = { kind: 'table', tableId: table };
  else if (run !== null) route = { kind: 'run', runId: run };
  else if (project !== null) route = { kind: 'project', projectId: project };
  const settings: Partial<ProjectionSettings> = {};
  const algo = q.get('algorithm');
  if (algo) settings.algorithm = algo;
  const fields = q.get('fields');
  if (fields) {
    const [type, cols = ''] = fields.split(':', 2);
    const columns = cols.split(',').filter(Boolean).map(decodeURIComponent);
    if ((type === 'single' || type === 'many') && columns.length) settings.fields = { type, columns };
  }
  const params: Record<string, string> = {};
  for (const [k, v] of q) if (k.startsWith('p.')) params[k.slice(2)] = v;
  if (Object.keys(params).length) settings.params = params;
  const seed = q.get('seed');
  if (seed !== null && /^\d+$/.test(seed)) settings.seed = Number(seed);
  const dims = q.get('dims');
  if (dims === '2' || dims === '3') settings.dims = Number(dims) as 2 | 3;
  const state: ViewState = { route, panel: q.get('panel') !== 'none', settings, camera: parseCamera(q.get('cam')) };
  if (q.has('color')) state.colorBy = q.get('color') || null;
  if (q.has('overlay')) state.overlay = q.get('overlay') || null;
  return state;
}

/** The query string for a view state, keeping foreign keys of `current` (e.g. `token`). */
export function formatSearch(s: ViewState, current = ''): string {
  const q = new URLSearchParams();
  for (const [k, v] of new URLSearchParams(current.replace(/^\?/, '')))
    if (!OWN_KEYS.includes(k) && !k.startsWith('p.')) q.append(k, v);
  const r = s.route;
  if (r.kind === 'project') q.set('project', String(r.projectId));
  if (r.kind === 'run') q.set('run', String(r.runId));
  if (r.kind === 'table') {
    q.set('table', String(r.tableId));
    q.set('panel', s.panel ? 'projection' : 'none');
    const st = s.settings;
    if (st.algorithm) q.set('algorithm', st.algorithm);
    if (st.fields) q.set('fields', `${st.fields.type}:${st.fields.columns.map(encodeURIComponent).join(',')}`);
    for (const [k, v] of Object.entries(st.params ?? {})) q.set(`p.${k}`, String(v));
    if (st.seed !== undefined) q.set('seed', String(st.seed));
    if (st.dims !== undefined) q.set('dims', String(st.dims));
    if (s.colorBy !== undefined) q.set('color', s.colorBy ?? '');
    if (s.overlay !== undefined) q.set('overlay', s.overlay ?? '');
    if (s.camera) q.set('cam', formatCamera(s.camera));
  }
  const qs = q.toString().replace(/%2C/g, ',').replace(/%3A/g, ':');
  return qs ? '?' + qs : '';
}
