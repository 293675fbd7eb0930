// Failed projection jobs in a real browser against real servers of their own (no API mocks):
// - a full disk: the server runs under a file-size limit (RLIMIT_FSIZE via `ulimit -f`, SIGXFSZ
//   ignored) too small for the layout's coordinate file, so the job computes and then fails to
//   save; the panel says so with the reason and a Retry that starts a new job (failing again
//   while the disk is still "full", succeeding once the server runs without the limit);
// - a crash: the server is SIGKILLed while a UMAP job runs and restarted on the same port; the
//   page, polling the job, shows it failed because the process ended, and Retry recomputes it.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { artifactPath, launchBrowser, openPage, waitForState } from './lib.mjs';

const BIN = process.env.FLATSPACE_BIN;
// The layout of BIG_ROWS rows (8 bytes a row) is well over the limit; the catalog is well under.
const BIG_ROWS = 100_000;
const LIMIT_BYTES = 512 * 1024;

let dir;
let store;
let port;
let server = null;
let browser;
let close;
let page;
let errors;
const tables = {};

/** A `.npy` of rows × dim float32 values: a few clusters, so layouts have structure. */
function writeNpy(path, rows, dim) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  const values = new Float32Array(rows * dim);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < dim; j++) values[i * dim + j] = (i % 5) * 4 + ((i * (j + 7)) % 101) / 101;
  }
  writeFileSync(path, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(values.buffer)]));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port: p } = s.address();
      s.close(() => resolve(p));
    });
  });
}

/** Starts `flatspace serve` on `port`, under a file-size limit when `limitBytes` is given. */
async function startServer(limitBytes) {
  const args = ['--data-dir', store, 'serve', '--port', String(port), '--threads', '1'];
  // sh: ignore SIGXFSZ (writes past the limit then fail with EFBIG, as a full disk fails them
  // with ENOSPC), set the limit in 512-byte blocks, and exec the server (same pid).
  const script = limitBytes ? `trap '' XFSZ; ulimit -f ${Math.floor(limitBytes / 512)}; exec "$0" "$@"` : 'exec "$0" "$@"';
  const child = spawn('sh', ['-c', script, BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server printed no URL: ${log}`)), 60_000);
    child.stdout.on('data', (d) => {
      log += d;
      if (log.includes(`127.0.0.1:${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}): ${log}`)));
  });
  child.stdout.resume();
  server = { child, log: () => log };
  return server;
}

async function stopServer(signal) {
  if (!server) return;
  const { child } = server;
  server = null;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

async function api(path, init) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, init);
  const body = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${body.error}`);
  return body;
}

/** The projection panel's visible state: status, error box text, retry button. */
async function panel() {
  const box = page.getByTestId('projection-error');
  const visible = await box.isVisible();
  return {
    status: await page.getByTestId('projection-panel').getAttribute('data-status'),
    message: visible ? await page.getByTestId('projection-error-message').textContent() : null,
    heading: visible ? await box.locator('b').textContent() : null,
    retry: await page.getByTestId('retry-button').isVisible(),
  };
}

before(async () => {
  assert.ok(BIN, 'FLATSPACE_BIN names the flatspace binary (tests/e2e/run sets it)');
  dir = mkdtempSync(join(tmpdir(), 'flatspace-failed-job-'));
  store = join(dir, 'store');
  for (const [key, rows, dim] of [
    ['big', BIG_ROWS, 4],
    ['slow', 1500, 16],
  ]) {
    const file = join(dir, `${key}.npy`);
    writeNpy(file, rows, dim);
    execFileSync(BIN, ['--data-dir', store, 'import', file, '--key', key], { stdio: 'pipe' });
  }
  port = await freePort();
  await startServer(null);
  for (const project of await api('/api/v1/projects')) {
    for (const run of await api(`/api/v1/projects/${project.id}/runs`)) {
      for (const t of await api(`/api/v1/runs/${run.id}/tables`)) tables[t.key] = t;
    }
  }
  assert.ok(tables.big && tables.slow, `both tables imported: ${Object.keys(tables)}`);
  await stopServer('SIGTERM');
  ({ browser, close } = await launchBrowser());
  ({ page, errors } = await openPage(browser));
});

after(async () => {
  await close?.();
  await stopServer('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a layout that cannot be saved (full disk) shows why, and Retry asks the server again', async () => {
  await startServer(LIMIT_BYTES);
  await page.goto(`http://127.0.0.1:${port}/?table=${tables.big.id}&panel=projection&algorithm=pca`);
  const failed = await waitForState(page, (s) => s.projection?.status === 'error', { what: 'the PCA job to fail' });
  assert.equal(failed.projection.algorithm, 'pca');
  const firstJob = failed.projection.job_id;
  assert.ok(Number.isInteger(firstJob), `a job ran: ${JSON.stringify(failed.projection)}`);
  const shown = await panel();
  assert.equal(shown.status, 'error');
  assert.equal(shown.heading, 'PCA failed');
  assert.match(shown.message, /could not be saved/);
  assert.match(shown.message, /File too large|No space left/);
  assert.match(shown.message, /free some space, then retry/);
  assert.ok(shown.retry, 'a Retry button');
  // The API says the same as the panel.
  const info = await api(`/api/v1/projections/${failed.projection.projection_id}`);
  assert.equal(info.status, 'error');
  assert.equal(info.error, shown.message);
  await page.screenshot({ path: artifactPath('failed-job.png') });

  // Still full: Retry starts a new job on the server, which fails the same way.
  await page.getByTestId('retry-button').click();
  const again = await waitForState(page, (s) => s.projection?.status === 'error' && s.projection.job_id !== firstJob, {
    what: 'a second job to fail',
  });
  assert.ok(again.projection.job_id > firstJob, 'a new job');
  assert.equal(again.projection.projection_id, failed.projection.projection_id, 'the same projection');
  assert.match((await panel()).message, /File too large|No space left/);

  // Room again (the server restarted without the limit, same port): Retry draws the layout.
  await stopServer('SIGTERM');
  await startServer(null);
  await page.getByTestId('retry-button').click();
  const done = await waitForState(page, (s) => s.projection?.status === 'done' && s.projection.n_points === BIG_ROWS && s.frames_drawn > 0, {
    what: 'the retried PCA drawn',
  });
  assert.equal(done.projection.projection_id, failed.projection.projection_id);
  const after = await panel();
  assert.equal(after.message, null, 'the failure box is gone');
  assert.equal(after.retry, false);
  await stopServer('SIGTERM');
});

test('a job interrupted by a server crash is shown failed after the restart, and Retry recomputes it', async () => {
  await startServer(null);
  await page.goto(`http://127.0.0.1:${port}/?table=${tables.slow.id}&panel=projection&algorithm=umap&p.n_epochs=3000`);
  const running = await waitForState(page, (s) => s.projection?.status === 'running' && s.projection.algorithm === 'umap', {
    what: 'the UMAP job running',
  });
  // SIGKILL: no clean shutdown, the job's row says running; the page loses its WebSocket.
  await stopServer('SIGKILL');
  await startServer(null);
  const failed = await waitForState(page, (s) => s.projection?.status === 'error', { what: 'the interrupted job shown failed' });
  assert.equal(failed.projection.projection_id, running.projection.projection_id);
  const shown = await panel();
  assert.equal(shown.heading, 'UMAP failed');
  assert.match(shown.message, /ended before it finished/);
  assert.ok(shown.retry);
  await page.screenshot({ path: artifactPath('failed-job-interrupted.png') });

  await page.getByTestId('retry-button').click();
  const done = await waitForState(page, (s) => s.projection?.status === 'done' && s.projection.n_points === 1500, {
    timeout: 240_000,
    what: 'the retried UMAP done',
  });
  assert.equal(done.projection.projection_id, running.projection.projection_id, 'the same projection, recomputed');
  assert.ok(done.projection.job_id > running.projection.job_id, 'by a new job');
  assert.equal((await panel()).message, null);
  // A lost WebSocket and failed polls while the server was down are expected; nothing else.
  const unexpected = errors.filter((e) => !/WebSocket|Failed to load resource|ERR_CONNECTION_REFUSED|Failed to fetch/.test(e));
  assert.deepEqual(unexpected, []);
});
