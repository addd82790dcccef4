// report_load.mjs - load time of report.html files in headless Chromium:
// for each file, the time from navigation start to the map on screen
// (window.__report.t, set by report.js once the map is drawn) and to the
// parallel axes finished when there are any; best of 3 loads in one browser.
// usage: node bench/report_load.mjs FILE.html...   (playwright-core from
// tests/browser/node_modules, as tests/browser/run.sh installs it)
import { createRequire } from 'module';
import path from 'path';
import { fileURLToPath } from 'url';
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tests/browser/package.json'));
const { chromium } = require('playwright-core');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
    '--no-first-run', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
for (const f of process.argv.slice(2)) {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    await page.goto('file://' + path.resolve(f));
    await page.waitForFunction(() => window.__report && window.__report.ready, null, { timeout: 60000 });
    best = Math.min(best, await page.evaluate(() => window.__report.t));
  }
  console.log(`${path.basename(f).padEnd(16)} map on screen after ${best.toFixed(0).padStart(5)} ms (best of 3)`);
}
await browser.close();
