// Opens the UI in Debian's headless Chromium, waits for the projection to finish, hovers a point
// and saves screenshots; prints page errors and timings. For looking at the UI, not a test suite.
//   node scripts/screenshot.mjs --url 'http://127.0.0.1:8790/?table=1' --out ../test-artifacts/ui [--algorithm umap]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const url = arg('url', 'http://127.0.0.1:8790/?table=1');
const out = arg('out', 'screenshots');
const algorithm = arg('algorithm', null);
const timeoutMs = Number(arg('timeout', '120000'));
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: Number(arg('width', '1440')), height: Number(arg('height', '860')) }, deviceScaleFactor: 1 });
const problems = [];
page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
page.on('console', (m) => (m.type() === 'error' || m.type() === 'warning') && !m.text().includes('GL Driver Message') && problems.push(`console: ${m.text()}`));

const t0 = Date.now();
await page.goto(url);
const state = () => page.evaluate(() => ({ ...window.__flatspace.projection, first_frame_ms: window.__flatspace.first_frame_ms, legend: window.__flatspace.legend.length }));
const waitDone = async () => {
  await page.waitForFunction(() => window.__flatspace?.projection.status === 'done' && window.__flatspace.projection.n_points > 0, null, { timeout: timeoutMs });
  await page.waitForTimeout(700);
};
await waitDone();
console.log('open → done (ms):', Date.now() - t0, JSON.stringify(await state()));
await page.screenshot({ path: join(out, 'projection.png') });

// Hover the point of row 0 (its screen position comes from the page).
const pos = await page.evaluate(() => window.__flatspace.screen_position(0));
if (pos) {
  await page.mouse.move(pos.x, pos.y);
  await page.waitForSelector('[data-testid="hover-card"]', { timeout: 5000 }).catch(() => problems.push('no hover card'));
  await page.waitForTimeout(400);
  console.log('hovered:', await page.evaluate(() => window.__flatspace.hovered_row));
  await page.screenshot({ path: join(out, 'hover.png') });
}
await page.mouse.move(5, 5);

await page.click('[data-testid="settings-button"]');
await page.waitForTimeout(200);
await page.screenshot({ path: join(out, 'settings.png') });
await page.click('[data-testid="settings-button"]');

if (algorithm) {
  await page.selectOption('[data-testid="algorithm-select"]', algorithm);
  await page.waitForSelector('[data-testid="progress"]', { timeout: 10000 }).catch(() => problems.push('no progress shown'));
  await page.waitForTimeout(600);
  await page.screenshot({ path: join(out, `${algorithm}-running.png`) });
  await waitDone();
  console.log(`${algorithm} done:`, JSON.stringify(await state()));
  await page.screenshot({ path: join(out, `${algorithm}.png`) });
}
console.log(problems.length ? problems.join('\n') : 'no page errors');
await browser.close();
