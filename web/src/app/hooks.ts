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

  // Explore (issue 8). Arrays of rows are behind functions so a JSON dump of the hooks stays small.
  /** The map tool: a drag pans, draws a lasso or a rectangle. */
  tool: 'pan' | 'lasso' | 'rect';
  /** The clicked point's neighbours in the original space (null: none shown). */
  neighbors: {
    row: number;
    k: number;
    metric: string;
    status: 'loading' | 'done' | 'error';
    rows: number[];
    distances: number[];
    error: string | null;
  } | null;
  /** Neighbour lines drawn in the last frame. */
  neighbor_lines: number;
  search: { column: string; op: string; status: 'idle' | 'running' | 'done' | 'error'; count: number | null; isolate: boolean; error: string | null };
  selection: { count: number; saved_id: number | null; saved: { id: number; name: string; n_rows: number }[]; error: string | null };
  /** Which rows the table view lists. */
  table_rows: 'all' | 'selection' | 'matches';
  /** Rows of the subset being projected (null: the whole table). */
  subset_rows: number | null;
  /** Row id of each drawn point for a subset layout (null: point i is row i). */
  point_rows: Uint32Array | null;
  selected_rows(): number[];
  matched_rows(): number[];
  /** Points drawn (not hidden by isolate or the legend), counted from the renderer's flags. */
  drawn_points(): number;
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
  tool: 'pan',
  neighbors: null,
  neighbor_lines: 0,
  search: { column: '', op: 'contains', status: 'idle', count: null, isolate: false, error: null },
  selection: { count: 0, saved_id: null, saved: [], error: null },
  table_rows: 'all',
  subset_rows: null,
  point_rows: null,
  selected_rows: () => [],
  matched_rows: () => [],
  drawn_points: () => 0,
};

declare global {
  interface Window {
    __flatspace: FlatspaceHooks;
  }
}

if (typeof window !== 'undefined') window.__flatspace = hooks;
