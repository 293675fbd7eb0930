// The view state lives in the URL's hash, so a link reopens the same table, settings and camera:
//   #/table/12?algo=umap&fields=single:emb&p.n_neighbors=15&seed=0&dims=2&color=label&overlay=image&cam=0.1,2.3,45
// The query string stays free for the server (e.g. `?token=`).

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

export function parseHash(hash: string): ViewState {
  const raw = hash.replace(/^#/, '');
  const [path, query = ''] = raw.split('?', 2);
  const segs = path.split('/').filter(Boolean);
  const q = new URLSearchParams(query);
  let route: Route = { kind: 'projects' };
  const n = id(segs[1]);
  if (n !== null) {
    if (segs[0] === 'project') route = { kind: 'project', projectId: n };
    else if (segs[0] === 'run') route = { kind: 'run', runId: n };
    else if (segs[0] === 'table') route = { kind: 'table', tableId: n };
  }
  const settings: Partial<ProjectionSettings> = {};
  const algo = q.get('algo');
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
  const state: ViewState = { route, panel: q.get('panel') !== '0', settings, camera: parseCamera(q.get('cam')) };
  if (q.has('color')) state.colorBy = q.get('color') || null;
  if (q.has('overlay')) state.overlay = q.get('overlay') || null;
  return state;
}

export function formatHash(s: ViewState): string {
  const r = s.route;
  const path =
    r.kind === 'projects' ? '/' : r.kind === 'project' ? `/project/${r.projectId}` : r.kind === 'run' ? `/run/${r.runId}` : `/table/${r.tableId}`;
  if (r.kind !== 'table') return '#' + path;
  const q = new URLSearchParams();
  if (!s.panel) q.set('panel', '0');
  const st = s.settings;
  if (st.algorithm) q.set('algo', st.algorithm);
  if (st.fields) q.set('fields', `${st.fields.type}:${st.fields.columns.map(encodeURIComponent).join(',')}`);
  for (const [k, v] of Object.entries(st.params ?? {})) q.set(`p.${k}`, String(v));
  if (st.seed !== undefined) q.set('seed', String(st.seed));
  if (st.dims !== undefined) q.set('dims', String(st.dims));
  if (s.colorBy !== undefined) q.set('color', s.colorBy ?? '');
  if (s.overlay !== undefined) q.set('overlay', s.overlay ?? '');
  if (s.camera) q.set('cam', formatCamera(s.camera));
  const qs = q.toString().replace(/%2C/g, ',').replace(/%3A/g, ':');
  return '#' + path + (qs ? '?' + qs : '');
}
