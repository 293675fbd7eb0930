// What the user is exploring in one table: the clicked point's neighbours, the search and its
// matches, the lasso/rectangle selection and the saved selections, and a subset to re-project.
// Shared by the table view and the projection panel (TableScreen makes one per table); the
// server does the work (docs/api.md "Explore"), this class keeps the state and the test hooks.

import { ApiError, type Api } from '../../lib/data/api';
import type { EmbeddingFields, NeighborMetric, SelectionInfo, TableInfo } from '../../lib/data/types';
import type { MapTool } from '../../lib/render/interaction';
import { hooks } from '../hooks';
import { buildFilter, defaultSearch, filterKey, type SearchInput } from './search';
import { combineSelection, normalizeRows, rowMask, type SelectMode } from './selection';

export type TableRows = 'all' | 'selection' | 'matches';

export interface NeighborState {
  row: number;
  k: number;
  metric: NeighborMetric;
  status: 'loading' | 'done' | 'error';
  rows: number[];
  distances: number[];
  error: string | null;
}

const message = (e: unknown) => (e instanceof ApiError || e instanceof Error ? e.message : String(e));

export class ExploreState {
  tool = $state<MapTool>('pan');

  // Neighbours of a clicked point.
  neighbors = $state<NeighborState | null>(null);
  k = $state(10);
  metric = $state<NeighborMetric>('euclidean');

  // Search.
  search = $state<SearchInput>({ column: '', op: 'contains', text: '', min: '', max: '', caseSensitive: false });
  matches = $state.raw<Uint32Array | null>(null);
  searchStatus = $state<'idle' | 'running' | 'done' | 'error'>('idle');
  searchError = $state<string | null>(null);
  isolate = $state(false);

  // Selection.
  selection = $state.raw<Uint32Array>(new Uint32Array(0));
  /** The saved selection the current one was loaded from or saved as (null: unsaved or changed). */
  savedId = $state<number | null>(null);
  saved = $state.raw<SelectionInfo[]>([]);
  selectionError = $state<string | null>(null);

  /** Which rows the table view lists. */
  tableRows = $state<TableRows>('all');
  /** Rows of the subset to project instead of the whole table (null: every row). */
  subset = $state.raw<Uint32Array | null>(null);

  private searchTimer = 0;
  private searchGen = 0;
  private neighborGen = 0;
  private lastFilter = '';

  constructor(
    private readonly api: Api,
    readonly table: TableInfo,
  ) {
    this.search = defaultSearch(table);
    this.publish();
  }

  /** Masks for the table view (null when there is nothing to mark). */
  get matchMask(): Uint8Array | null {
    return rowMask(this.matches, this.table.n_rows);
  }

  get selectionMask(): Uint8Array | null {
    return this.selection.length ? rowMask(this.selection, this.table.n_rows) : null;
  }

  /** The rows the table view should list, or null for every row. */
  get listedRows(): Uint32Array | null {
    if (this.tableRows === 'selection' && this.selection.length) return this.selection;
    if (this.tableRows === 'matches' && this.matches) return this.matches;
    return null;
  }

  // --- neighbours -----------------------------------------------------------------------------

  async showNeighbors(row: number, fields: EmbeddingFields) {
    const gen = ++this.neighborGen;
    const { k, metric } = this;
    this.neighbors = { row, k, metric, status: 'loading', rows: this.neighbors?.row === row ? this.neighbors.rows : [], distances: this.neighbors?.row === row ? this.neighbors.distances : [], error: null };
    this.publish();
    try {
      const a = await this.api.neighbors(this.table.id, row, k, metric, fields);
      if (gen !== this.neighborGen) return;
      this.neighbors = { row, k, metric, status: 'done', rows: a.neighbors.map((n) => n.row), distances: a.neighbors.map((n) => n.distance), error: null };
    } catch (e) {
      if (gen !== this.neighborGen) return;
      this.neighbors = { row, k, metric, status: 'error', rows: [], distances: [], error: message(e) };
    }
    this.publish();
  }

  closeNeighbors() {
    this.neighborGen++;
    this.neighbors = null;
    this.publish();
  }

  // --- search ---------------------------------------------------------------------------------

  /** Runs the search now (or after `delayMs`, replacing a pending one: typing debounces). */
  runSearch(delayMs = 0) {
    window.clearTimeout(this.searchTimer);
    if (delayMs > 0) {
      this.searchTimer = window.setTimeout(() => this.runSearch(0), delayMs);
      return;
    }
    const kind = this.table.columns.find((c) => c.name === this.search.column)?.kind;
    const { filter, error } = buildFilter(this.search, kind);
    if (error) {
      this.searchGen++;
      this.searchStatus = 'error';
      this.searchError = error;
      this.publish();
      return;
    }
    const key = filterKey(filter);
    if (!filter) {
      this.clearSearch(false);
      return;
    }
    if (key === this.lastFilter && this.searchStatus === 'done') return;
    this.lastFilter = key;
    const gen = ++this.searchGen;
    this.searchStatus = 'running';
    this.searchError = null;
    this.publish();
    this.api
      .query(this.table.id, [filter])
      .then((rows) => {
        if (gen !== this.searchGen) return;
        this.matches = rows;
        this.searchStatus = 'done';
        this.publish();
      })
      .catch((e) => {
        if (gen !== this.searchGen) return;
        this.searchStatus = 'error';
        this.searchError = message(e);
        this.lastFilter = '';
        this.publish();
      });
  }

  clearSearch(clearInputs = true) {
    window.clearTimeout(this.searchTimer);
    this.searchGen++;
    this.lastFilter = '';
    if (clearInputs) this.search = { ...this.search, text: '', min: '', max: '' };
    this.matches = null;
    this.searchStatus = 'idle';
    this.searchError = null;
    this.isolate = false;
    if (this.tableRows === 'matches') this.tableRows = 'all';
    this.publish();
  }

  setIsolate(on: boolean) {
    this.isolate = on;
    this.publish();
  }

  // --- selection ------------------------------------------------------------------------------

  /** A lasso/rectangle picked `rows` (any order); combine with the current selection. */
  select(rows: ArrayLike<number>, mode: SelectMode) {
    const next = combineSelection(this.selection, normalizeRows(rows), mode);
    this.setSelection(next, null);
    if (next.length && this.tableRows === 'all') this.tableRows = 'selection';
  }

  setSelection(rows: Uint32Array, savedId: number | null) {
    this.selection = rows;
    this.savedId = savedId;
    this.selectionError = null;
    if (!rows.length && this.tableRows === 'selection') this.tableRows = 'all';
    this.publish();
  }

  clearSelection() {
    this.setSelection(new Uint32Array(0), null);
  }

  async refreshSaved() {
    try {
      this.saved = await this.api.selections(this.table.id);
    } catch (e) {
      // Listing is a convenience: an older server without selections shows none.
      if (!(e instanceof ApiError && e.status === 404)) this.selectionError = message(e);
    }
    this.publish();
  }

  /** Saves the current selection under `name` (the same name replaces it); returns its id. */
  async saveSelection(name: string): Promise<number | null> {
    const trimmed = name.trim();
    if (!trimmed) {
      this.selectionError = 'give the selection a name';
      this.publish();
      return null;
    }
    if (!this.selection.length) {
      this.selectionError = 'nothing is selected';
      this.publish();
      return null;
    }
    try {
      const info = await this.api.saveSelection(this.table.id, trimmed, this.selection);
      this.savedId = info.id;
      this.selectionError = null;
      await this.refreshSaved();
      return info.id;
    } catch (e) {
      this.selectionError = message(e);
      this.publish();
      return null;
    }
  }

  async loadSelection(id: number) {
    try {
      const s = await this.api.selection(id);
      this.setSelection(normalizeRows(s.rows), s.id);
      if (this.selection.length) this.tableRows = 'selection';
      this.publish();
    } catch (e) {
      this.selectionError = message(e);
      this.publish();
    }
  }

  async deleteSelection(id: number) {
    try {
      await this.api.deleteSelection(id);
      if (this.savedId === id) this.savedId = null;
      await this.refreshSaved();
    } catch (e) {
      this.selectionError = message(e);
      this.publish();
    }
  }

  /** A name for an unsaved selection that no saved one has yet. */
  freshName(): string {
    const taken = new Set(this.saved.map((s) => s.name));
    for (let i = 1; ; i++) if (!taken.has(`selection ${i}`)) return `selection ${i}`;
  }

  // --- subset projection ----------------------------------------------------------------------

  /** Projects just these rows (the matches, or the selection) instead of the whole table. */
  reproject(rows: Uint32Array | null) {
    this.subset = rows && rows.length ? rows.slice() : null;
    this.publish();
  }

  destroy() {
    window.clearTimeout(this.searchTimer);
    this.searchGen++;
    this.neighborGen++;
  }

  publish() {
    const n = this.neighbors;
    const sel = this.selection;
    const matches = this.matches;
    hooks.tool = this.tool;
    hooks.neighbors = n
      ? { row: n.row, k: n.k, metric: n.metric, status: n.status, rows: [...n.rows], distances: [...n.distances], error: n.error }
      : null;
    hooks.search = {
      column: this.search.column,
      op: this.search.op,
      status: this.searchStatus,
      count: matches ? matches.length : null,
      isolate: this.isolate,
      error: this.searchError,
    };
    hooks.selection = {
      count: sel.length,
      saved_id: this.savedId,
      saved: this.saved.map((s) => ({ id: s.id, name: s.name, n_rows: s.n_rows })),
      error: this.selectionError,
    };
    hooks.table_rows = this.tableRows;
    hooks.subset_rows = this.subset ? this.subset.length : null;
    hooks.selected_rows = () => Array.from(sel);
    hooks.matched_rows = () => (matches ? Array.from(matches) : []);
  }
}
