// The digits demo table in a real browser: points, legend, hover image, UMAP and t-SNE streaming
// to separated layouts, and the cached layout after a reload.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  BASE_URL,
  artifactPath,
  codes,
  coords,
  findTable,
  knnAccuracy,
  launchBrowser,
  openPage,
  waitForState,
} from './lib.mjs';

const N_DIGITS = 1797;
let browser;
let close;
let page;
let errors;
let table;
let labels;
const projections = {};

before(async () => {
  ({ browser, close } = await launchBrowser());
  ({ page, errors } = await openPage(browser));
  table = await findTable('digits');
  labels = (await codes(table.id, 'label')).codes;
});

after(async () => {
  await close?.();
});

test('the digits table opens with 1,797 points coloured by label and a 10-entry legend', async () => {
  await page.goto(`${BASE_URL}/?table=${table.id}&panel=projection`);
  await page.getByTestId('projection-panel').waitFor();
  const state = await waitForState(
    page,
    (s) => s.projection?.status === 'done' && s.projection.n_points === N_DIGITS && s.frames_drawn > 0,
    { what: 'the first projection drawn' },
  );
  assert.equal(state.table_id, table.id);
  assert.equal(state.color_by, 'label');
  assert.equal(state.legend.length, 10);
  assert.equal(
    state.legend.reduce((sum, entry) => sum + entry.count, 0),
    N_DIGITS,
    'legend counts add up to the rows',
  );
  assert.equal(await page.getByTestId('legend-item').count(), 10);
  projections[state.projection.algorithm] = state.projection.projection_id;
  await page.screenshot({ path: artifactPath('demo-digits-pca.png') });
});

test('hovering a point shows its digit image', async () => {
  const row = 0;
  const pos = await page.evaluate((r) => window.__flatspace.screen_position(r), row);
  assert.ok(pos, 'row 0 is on screen');
  await page.mouse.move(pos.x, pos.y);
  await waitForState(page, (s) => s.hovered_row !== null, { timeout: 10_000, what: 'a hovered row' });
  const image = page.getByTestId('hover-image');
  await image.waitFor({ state: 'visible', timeout: 10_000 });
  const src = await image.getAttribute('src');
  assert.match(src, /\/api\/v1\/media\/[0-9a-f]{64}/);
  await page.waitForFunction(
    () => {
      const img = document.querySelector('[data-testid="hover-image"]');
      return img && img.complete && img.naturalWidth === 8 && img.naturalHeight === 8;
    },
    null,
    { timeout: 10_000 },
  );
});

for (const algorithm of ['umap', 'tsne']) {
  test(`switching to ${algorithm} streams progress and separates the classes`, async () => {
    if (!(await page.getByTestId('algorithm-select').isVisible())) {
      await page.getByTestId('settings-button').click();
    }
    await page.getByTestId('algorithm-select').selectOption(algorithm);
    const state = await waitForState(
      page,
      (s) => s.projection?.algorithm === algorithm && ['done', 'error'].includes(s.projection.status),
      { timeout: 300_000, what: `${algorithm} to finish` },
    );
    assert.equal(state.projection.status, 'done', state.projection.error ?? '');
    assert.ok(state.projection.n_snapshots >= 1, 'intermediate layouts streamed over the WebSocket');
    assert.equal(state.projection.n_points, N_DIGITS);
    const xy = await coords(state.projection.projection_id);
    assert.equal(xy.length, 2 * N_DIGITS);
    const accuracy = knnAccuracy(xy, labels);
    assert.ok(accuracy > 0.9, `${algorithm} 10-NN label accuracy in 2D is ${accuracy.toFixed(3)}`);
    projections[algorithm] = state.projection.projection_id;
    await page.screenshot({ path: artifactPath(`demo-digits-${algorithm}.png`) });
  });
}

test('a reload shows the same layout from the cache', async () => {
  const before = await waitForState(page, (s) => s.projection?.status === 'done');
  const id = before.projection.projection_id;
  const layoutBefore = await coords(id);
  await page.reload();
  const state = await waitForState(
    page,
    (s) => s.projection?.status === 'done' && s.projection.n_points === N_DIGITS,
    { timeout: 30_000, what: 'the cached projection after reload' },
  );
  assert.equal(state.projection.algorithm, before.projection.algorithm);
  assert.equal(state.projection.projection_id, id, 'the same projection, not a new job');
  assert.equal(state.projection.n_snapshots, 0, 'no job ran: the layout came from the cache');
  assert.deepEqual(await coords(id), layoutBefore);
});

test('the page logged no errors', () => {
  assert.deepEqual(errors, []);
});
