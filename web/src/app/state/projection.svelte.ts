// One projection panel's lifecycle: ask the server for a projection, follow its job over the
// WebSocket (progress and intermediate layouts), fetch the final layout and its metrics. Starting a
// new one leaves the previous layout on screen until the new one streams in.

import { Api, ApiError } from '../../lib/data/api';
import { watchJob, type JobWatch } from '../../lib/data/progress';
import type { Metrics } from '../../lib/data/types';
import { hooks } from '../hooks';
import { settingsKey, toRequest, type ProjectionSettings } from './settings';

export type Status = 'idle' | 'queued' | 'running' | 'done' | 'error' | 'cancelled';

export interface LayoutUpdate {
  coords: Float32Array;
  dims: 2 | 3;
  /** True for the first layout of a new request (the camera refits). */
  first: boolean;
  /** True when the job is finished and this is its final layout. */
  final: boolean;
  /** Row id of each point when only a subset of rows was projected (null: point i is row i). */
  rows: Uint32Array | null;
}

export class ProjectionController {
  status = $state<Status>('idle');
  stage = $state('');
  done = $state(0);
  total = $state(0);
  elapsed = $state<number | null>(null);
  loss = $state<number | null>(null);
  error = $state<string | null>(null);
  metrics = $state<Metrics | null>(null);
  projectionId = $state<number | null>(null);
  jobId = $state<number | null>(null);
  algorithm = $state<string | null>(null);
  snapshots = $state(0);

  private key = '';
  /** The last request, for `retry`. */
  private last: { s: ProjectionSettings; rows: Uint32Array | null } | null = null;
  private generation = 0;
  private watch: JobWatch | null = null;
  private poll = 0;
  private startedAt = 0;
  private tick = 0;

  constructor(
    private readonly api: Api,
    private readonly tableId: number,
    private readonly nRows: number,
    private readonly onLayout: (u: LayoutUpdate) => void,
  ) {}

  /**
   * Starts (or joins) the projection for `s`, of every row or of just `rows` (sorted unique ids);
   * a repeat of the current request does nothing.
   */
  start(s: ProjectionSettings, rows: Uint32Array | null = null) {
    const key = settingsKey(s) + (rows ? `|rows:${rows.length}:${rowsHash(rows)}` : '');
    if (key === this.key && this.status !== 'error' && this.status !== 'cancelled') return;
    this.key = key;
    this.last = { s, rows };
    this.stop();
    const gen = ++this.generation;
    this.status = 'queued';
    this.stage = 'queued';
    this.done = 0;
    this.total = 0;
    this.loss = null;
    this.error = null;
    this.metrics = null;
    this.snapshots = 0;
    this.algorithm = s.algorithm;
    this.elapsed = 0;
    this.startedAt = performance.now();
    this.tick = window.setInterval(() => {
      if (this.status === 'queued' || this.status === 'running') this.elapsed = (performance.now() - this.startedAt) / 1000;
    }, 200);
    this.publish();
    void this.run(gen, s, rows);
  }

  /**
   * Asks the server again for the last request after it failed or was cancelled. The server
   * starts a new job for a projection whose job failed (a full disk, a server that stopped), so
   * this recomputes rather than re-reading the failure.
   */
  retry() {
    if (!this.last || (this.status !== 'error' && this.status !== 'cancelled')) return;
    this.start(this.last.s, this.last.rows);
  }

  private live(gen: number) {
    return gen === this.generation;
  }

  private async run(gen: number, s: ProjectionSettings, rows: Uint32Array | null) {
    let first = true;
    const expected = (rows ? rows.length : this.nRows) * s.dims;
    const layout = (coords: Float32Array, final: boolean) => {
      if (coords.length !== expected) return;
      this.onLayout({ coords, dims: s.dims, first, final, rows });
      first = false;
    };
    try {
      const req = toRequest(this.tableId, s);
      if (rows) req.rows = Array.from(rows);
      const started = await this.api.createProjection(req);
      if (!this.live(gen)) return;
      this.projectionId = started.projection_id;
      this.jobId = started.job_id;
      this.status = started.status === 'running' ? 'running' : started.status === 'done' ? 'done' : 'queued';
      this.publish();
      if (started.status === 'done') {
        await this.finish(gen, started.projection_id, layout);
        return;
      }
      this.watch = watchJob(
        this.api.jobSocketUrl(started.job_id),
        (e) => {
          if (!this.live(gen)) return;
          if (e.type === 'progress') {
            this.stage = e.stage;
            this.done = e.done;
            this.total = e.total;
            this.loss = e.loss;
            if (e.stage !== 'queued') this.status = 'running';
          } else if (e.type === 'snapshot') {
            this.status = 'running';
            this.snapshots++;
            layout(e.coords, false);
          } else if (e.type === 'done') {
            void this.finish(gen, e.projection_id >= 0 ? e.projection_id : started.projection_id, layout);
          } else if (e.type === 'error') {
            this.fail(e.message);
          } else if (e.type === 'cancelled') {
            this.status = 'cancelled';
            this.stopTimer();
          }
          this.publish();
        },
        (clean) => {
          // The socket dropped before the job ended: fall back to polling its status.
          if (!clean && this.live(gen)) this.pollUntilDone(gen, started.projection_id, layout);
        },
      );
    } catch (e) {
      if (this.live(gen)) this.fail(e instanceof ApiError ? e.message : String(e));
    }
  }

  private pollUntilDone(gen: number, id: number, layout: (c: Float32Array, f: boolean) => void) {
    const step = async () => {
      if (!this.live(gen)) return;
      try {
        const info = await this.api.projection(id);
        if (!this.live(gen)) return;
        if (info.status === 'done') return void this.finish(gen, id, layout);
        if (info.status === 'error') return this.fail(info.error ?? 'the projection failed');
        if (info.status === 'cancelled') {
          this.status = 'cancelled';
          this.stopTimer();
          return this.publish();
        }
      } catch (e) {
        if (e instanceof ApiError && e.status >= 400 && e.status < 500) return this.fail(e.message);
      }
      this.poll = window.setTimeout(step, 1000);
    };
    this.poll = window.setTimeout(step, 500);
  }

  private async finish(gen: number, id: number, layout: (c: Float32Array, f: boolean) => void) {
    try {
      const coords = await this.api.coords(id);
      if (!this.live(gen)) return;
      this.projectionId = id;
      layout(coords, true);
      this.status = 'done';
      this.stopTimer();
      this.publish();
      // Metrics may be computed after the layout: ask again a few times while they are missing.
      for (let attempt = 0; attempt < 6 && this.live(gen); attempt++) {
        const info = await this.api.projection(id);
        if (!this.live(gen)) return;
        if (info.elapsed_secs !== null && info.elapsed_secs !== undefined) this.elapsed = info.elapsed_secs;
        this.metrics = info.metrics;
        const m = info.metrics;
        if (m && m.knn_recall !== null && m.knn_recall !== undefined && m.trustworthiness !== null && m.trustworthiness !== undefined) break;
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
      }
    } catch (e) {
      if (this.live(gen)) this.fail(e instanceof ApiError ? e.message : String(e));
    }
  }

  private fail(message: string) {
    this.status = 'error';
    this.error = message;
    this.stopTimer();
    this.publish();
  }

  async cancel() {
    if (this.status !== 'queued' && this.status !== 'running') return;
    this.watch?.cancel();
    if (this.jobId !== null) {
      try {
        await this.api.cancel(this.jobId);
      } catch {
        /* the socket's cancel may have won */
      }
    }
  }

  private stopTimer() {
    if (this.tick) window.clearInterval(this.tick);
    this.tick = 0;
  }

  private stop() {
    this.watch?.close();
    this.watch = null;
    if (this.poll) window.clearTimeout(this.poll);
    this.poll = 0;
    this.stopTimer();
  }

  destroy() {
    this.generation++;
    this.stop();
  }

  private publish() {
    Object.assign(hooks.projection, {
      status: this.status,
      algorithm: this.algorithm,
      projection_id: this.projectionId,
      job_id: this.jobId,
      n_snapshots: this.snapshots,
      error: this.error,
    });
  }
}

/** FNV-1a over the row ids: tells two subsets of the same size apart in the request key. */
function rowsHash(rows: Uint32Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < rows.length; i++) {
    h ^= rows[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16);
}
