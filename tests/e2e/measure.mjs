// Measures, in headless Chromium (software WebGL), the time from opening the page to the first
// drawn frame of the generated demo table, cold (the PCA is computed) and warm (from the cache),
// and checks that every row loads and draws without error. Not a test: run by `run --measure`.
import { findTable, launchBrowser, openPage, waitForState, BASE_URL, artifactPath } from './lib.mjs';

const table = await findTable('blobs');
const { browser, close } = await launchBrowser();
try {
  for (const phase of ['cold', 'warm']) {
    const { page, errors } = await openPage(browser);
    const opened = Date.now();
    await page.goto(`${BASE_URL}/?table=${table.id}&panel=projection`);
    const state = await waitForState(
      page,
      (s) => s.projection?.n_points === table.n_rows && s.frames_drawn > 0 && s.first_frame_ms !== null,
      { timeout: 600_000, what: `${table.n_rows} points drawn` },
    );
    const wallMs = Date.now() - opened;
    const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? null);
    console.log(
      JSON.stringify({
        phase,
        n_rows: table.n_rows,
        first_frame_ms: Math.round(state.first_frame_ms),
        wall_ms_until_state_seen: wallMs,
        frames_drawn: state.frames_drawn,
        js_heap_mb: heap && Math.round(heap / 2 ** 20),
        errors,
      }),
    );
    await page.screenshot({ path: artifactPath(`measure-${table.n_rows}-${phase}.png`) });
    await page.context().close();
  }
} finally {
  await close();
}
