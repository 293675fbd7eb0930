// Job progress over the WebSocket: text frames are JSON events, binary frames are the latest layout
// snapshot (row-major float32). Parsing is separate from the socket so it is unit-tested.

import { decodeFloat32 } from './binary';

export type JobEvent =
  | { type: 'progress'; stage: string; done: number; total: number; loss: number | null; elapsed_secs: number }
  | { type: 'snapshot'; coords: Float32Array }
  | { type: 'done'; projection_id: number }
  | { type: 'error'; message: string }
  | { type: 'cancelled' };

/** One WebSocket message → an event, or null for a message this client does not know. */
export function parseJobMessage(data: string | ArrayBuffer): JobEvent | null {
  if (typeof data !== 'string') {
    if (data.byteLength % 4 !== 0) return null;
    return { type: 'snapshot', coords: decodeFloat32(data) };
  }
  let msg: Record<string, unknown>;
  try {
    msg = JSON.parse(data) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (!msg || typeof msg !== 'object') return null;
  const num = (v: unknown, fallback = 0) => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
  switch (msg.type) {
    case 'progress':
      return {
        type: 'progress',
        stage: typeof msg.stage === 'string' ? msg.stage : '',
        done: num(msg.done),
        total: num(msg.total),
        loss: typeof msg.loss === 'number' && Number.isFinite(msg.loss) ? msg.loss : null,
        elapsed_secs: num(msg.elapsed_secs),
      };
    case 'queued':
      return { type: 'progress', stage: 'queued', done: 0, total: 0, loss: null, elapsed_secs: num(msg.elapsed_secs) };
    case 'done':
      return { type: 'done', projection_id: num(msg.projection_id, -1) };
    case 'error':
      return { type: 'error', message: typeof msg.message === 'string' ? msg.message : 'the job failed' };
    case 'cancelled':
      return { type: 'cancelled' };
    default:
      return null;
  }
}

/** Fraction done in [0, 1] for a progress event (0 when the total is unknown). */
export function progressFraction(e: { done: number; total: number }): number {
  return e.total > 0 ? Math.min(1, Math.max(0, e.done / e.total)) : 0;
}

export interface JobWatch {
  close(): void;
  /** Asks the server to cancel the job over the socket. */
  cancel(): void;
}

/**
 * Follows a job until it ends. Snapshots are coalesced: only the latest one is handed on, once per
 * animation frame, so a slow renderer never queues stale layouts.
 */
export function watchJob(url: string, onEvent: (e: JobEvent) => void, onClose?: (clean: boolean) => void): JobWatch {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  let ended = false;
  let pending: Float32Array | null = null;
  let frame = 0;
  const flush = () => {
    frame = 0;
    if (pending && !ended) onEvent({ type: 'snapshot', coords: pending });
    pending = null;
  };
  ws.onmessage = (m) => {
    const e = parseJobMessage(m.data as string | ArrayBuffer);
    if (!e) return;
    if (e.type === 'snapshot') {
      pending = e.coords;
      if (!frame) frame = requestAnimationFrame(flush);
      return;
    }
    if (e.type === 'done' || e.type === 'error' || e.type === 'cancelled') {
      if (frame) cancelAnimationFrame(frame);
      frame = 0;
      pending = null;
      ended = true;
    }
    onEvent(e);
  };
  ws.onclose = () => onClose?.(ended);
  return {
    cancel() {
      if (ws.readyState === WebSocket.OPEN) ws.send('cancel');
    },
    close() {
      ended = true;
      if (frame) cancelAnimationFrame(frame);
      ws.onmessage = null;
      ws.onclose = null;
      ws.close();
    },
  };
}
