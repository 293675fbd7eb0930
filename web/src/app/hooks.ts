// `window.__flatspace`: plain data about what the page shows, for the browser tests
// (docs/api.md, "What the browser tests rely on"). The app mutates this one object.

export interface LegendEntry {
  label: string;
  count: number;
}

export interface FlatspaceHooks {
  table_id: number | null;
  projection: {
    status: 'idle' | 'queued' | 'running' | 'done' | 'error' | 'cancelled';
    algorithm: string | null;
    projection_id: number | null;
    job_id: number | null;
    n_points: number;
    n_components: number;
    n_snapshots: number;
    error: string | null;
  };
  color_by: string | null;
  legend: LegendEntry[];
  frames_drawn: number;
  first_frame_ms: number | null;
  hovered_row: number | null;
  /** The layout currently uploaded to the renderer (row-major, `n_components` per row). */
  coords: Float32Array | null;
  screen_position(row: number): { x: number; y: number } | null;
}

export const hooks: FlatspaceHooks = {
  table_id: null,
  projection: {
    status: 'idle',
    algorithm: null,
    projection_id: null,
    job_id: null,
    n_points: 0,
    n_components: 2,
    n_snapshots: 0,
    error: null,
  },
  color_by: null,
  legend: [],
  frames_drawn: 0,
  first_frame_ms: null,
  hovered_row: null,
  coords: null,
  screen_position: () => null,
};

declare global {
  interface Window {
    __flatspace: FlatspaceHooks;
  }
}

if (typeof window !== 'undefined') window.__flatspace = hooks;
