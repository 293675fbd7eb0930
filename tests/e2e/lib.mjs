// Shared helpers of the browser tests: launching Debian's Chromium through playwright-core, the
// server's API, and a layout-quality check computed from the coordinates themselves.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const BASE_URL = process.env.FLATSPACE_URL ?? 'http://127.0.0.1:8790';
export const ARTIFACTS = process.env.FLATSPACE_ARTIFACTS ?? join(process.cwd(), 'test-artifacts');

/** Chromium headless with software WebGL2 (SwiftShader) and a fresh profile. */
export async function launchBrowser() {
  // playwright's launch() already gives every browser a fresh temporary profile.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
    ],
  });
  const close = async () => {
    await browser.close();
  };
  return { browser, close };
}

/** A page that records console errors and uncaught exceptions. */
export async function openPage(browser, { width = 1400, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  return { page, errors };
}

export function artifactPath(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

export async function apiJson(path, init) {
  const res = await fetch(`${BASE_URL}${path}`, init);
  const body = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${body.error}`);
  return body;
}

export async function apiBytes(path) {
  const res = await fetch(`${BASE_URL}${path}`);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** The id of the latest version of the table named `key` (any project and run). */
export async function findTable(key) {
  for (const project of await apiJson('/api/v1/projects')) {
    for (const run of await apiJson(`/api/v1/projects/${project.id}/runs`)) {
      const tables = await apiJson(`/api/v1/runs/${run.id}/tables`);
      const matches = tables.filter((t) => t.key === key);
      if (matches.length) return matches.reduce((a, b) => (b.version > a.version ? b : a));
    }
  }
  throw new Error(`no table ${key} in the store`);
}

export async function coords(projectionId) {
  const bytes = await apiBytes(`/api/v1/projections/${projectionId}/coords`);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/** Category codes of a column as numbers, one per row. */
export async function codes(tableId, column) {
  const meta = await apiJson(`/api/v1/tables/${tableId}/columns/${column}/categories`);
  const bytes = await apiBytes(`/api/v1/tables/${tableId}/columns/${column}/codes`);
  const Kind = { uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array }[meta.code_type];
  return { meta, codes: new Kind(bytes.buffer, bytes.byteOffset, bytes.byteLength / Kind.BYTES_PER_ELEMENT) };
}

/**
 * Leave-one-out k-nearest-neighbour classification accuracy of the labels in the 2D layout: near 1
 * when classes form separate clusters, near 1/n_classes for a random layout.
 */
export function knnAccuracy(xy, labels, k = 10) {
  const n = labels.length;
  let correct = 0;
  const dist = new Float64Array(n);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const dx = xy[2 * i] - xy[2 * j];
      const dy = xy[2 * i + 1] - xy[2 * j + 1];
      dist[j] = j === i ? Infinity : dx * dx + dy * dy;
      order[j] = j;
    }
    order.sort((a, b) => dist[a] - dist[b]);
    const votes = new Map();
    for (let m = 0; m < k; m++) {
      const label = labels[order[m]];
      votes.set(label, (votes.get(label) ?? 0) + 1);
    }
    let best = -1;
    let bestVotes = -1;
    for (const [label, v] of votes) {
      if (v > bestVotes) {
        best = label;
        bestVotes = v;
      }
    }
    if (best === labels[i]) correct++;
  }
  return correct / n;
}

/** Waits until `predicate(window.__flatspace)` holds; returns the state. */
export async function waitForState(page, predicate, { timeout = 120_000, what = 'page state' } = {}) {
  const started = Date.now();
  let last = null;
  while (Date.now() - started < timeout) {
    last = await page.evaluate(() => {
      const s = window.__flatspace;
      if (!s) return null;
      // Leave out the layout itself (up to millions of floats) and functions.
      const { coords, screen_position, ...rest } = s;
      return JSON.parse(JSON.stringify({ ...rest, has_coords: coords != null }));
    });
    if (last && predicate(last)) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`timed out waiting for ${what}; last state: ${JSON.stringify(last)}`);
}
