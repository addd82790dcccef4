// report.mjs OUTDIR RUNDIR... - opens each run's report.html in headless
// Chromium (Playwright + Debian's chromium) and checks, as a person would
// use it: the map is drawn (SVG for small archives, canvas for big ones),
// hovering a filled cell shows a tooltip with the objective (and the
// category names on QDAIF's axes), clicking it fills the detail panel with
// the elite (its text or genome), the table sorts with a direction mark and
// pages, a row click shows its elite and marks its cell on the map, 3-D runs draw parallel axes over every
// elite, and the page logs no error. Screenshots go to OUTDIR/NAME-*.png.
// Ends with "browser pages: N passed, M failed".
import { createRequire } from 'module';
import path from 'path';
import { fileURLToPath } from 'url';
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, 'package.json'));
const { chromium } = require('playwright-core');

const [outdir, ...runs] = process.argv.slice(2);
let passed = 0, failed = 0;
function check(name, ok, what) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok' : 'FAIL'}: ${name}: ${what}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
    '--no-first-run', '--disable-component-update', '--disable-sync'],
});
for (const dir of runs) {
  const name = path.basename(dir);
  const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  try {
    await page.goto('file://' + path.resolve(dir, 'report.html'));
    await page.waitForFunction(() => window.__report && window.__report.ready, null, { timeout: 60000 });
    const info = await page.evaluate(() => ({ mode: window.__report.mode, n: window.__report.elites }));
    const expectMode = /canvas/.test(name) ? 'canvas' : /svg/.test(name) ? 'svg' : info.mode;
    check(name, info.mode === expectMode && info.n > 0, `map drawn as ${info.mode} with ${info.n} elites`);
    await page.screenshot({ path: path.join(outdir, `${name}-map.png`) });
    // every text of an SVG map inside the picture (the y axis's end names ran off it)
    if (info.mode === 'svg') {
      const out = await page.$eval('#map svg', (svg) => {
        const b = svg.getBoundingClientRect();
        return [...svg.querySelectorAll('text')].filter((t) => {
          const r = t.getBoundingClientRect();
          return r.width > 0 && (r.left < b.left - 1 || r.right > b.right + 1 || r.top < b.top - 1 || r.bottom > b.bottom + 1);
        }).map((t) => t.textContent);
      });
      check(name, out.length === 0, out.length ? `texts outside the SVG map: ${out.join(', ')}` : 'every text inside the SVG map');
    }
    // a CVT canvas: light borders between empty cells, dark ones around filled cells
    if (/cvt-canvas/.test(name)) {
      const px = await page.evaluate(() => {
        const cv = document.getElementById('mapcanvas'), d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
        let light = 0, dark = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i] === 187 && d[i + 1] === 187 && d[i + 2] === 187) light++;
          if (d[i] === 85 && d[i + 1] === 85 && d[i + 2] === 85) dark++;
        }
        return { light, dark };
      });
      check(name, px.light > px.dark && px.dark > 0, `cell borders: ${px.light} light pixels, ${px.dark} dark`);
    }
    // the canvas map's y axis name keeps clear of its widest tick label
    const lay = info.mode === 'canvas' ? await page.evaluate(() => window.__report.layout) : null;
    if (info.mode === 'canvas')
      check(name, !!(lay && lay.yName && lay.yName[0] >= 0 && lay.yName[1] < lay.yTicks[0]), lay && lay.yName ?
        `y axis name at x ${lay.yName.map(Math.round).join('-')}, tick labels from x ${Math.round(lay.yTicks[0])}` :
        'the page reports no y axis layout');

    // a filled cell: the best elite (table row 1) is always drawn
    const rows = await page.$$eval('#elites tbody tr', (trs) => trs.map((t) => +t.getAttribute('data-index')));
    let pt = null;
    for (const i of rows) {
      pt = await page.evaluate((i) => window.__report.pointOf(i), i);
      if (pt) break;
    }
    check(name, !!pt, 'a filled cell found on the map');
    if (pt) {
      await page.mouse.move(pt.x, pt.y);
      await page.waitForTimeout(100);
      const tip = await page.$eval('#tip', (t) => ({ shown: getComputedStyle(t).display !== 'none', text: t.textContent }));
      check(name, tip.shown && /objective/.test(tip.text), `hover shows the tooltip "${tip.text.slice(0, 80)}"`);
      if (/labels/.test(name))
        check(name, /a very long category \d\d/.test(tip.text), 'the tooltip names the category');
      if (/stories/.test(name))
        check(name, /romance 0 \u2194 1 horror/.test(tip.text) && /tragic 0 \u2194 1 happy/.test(tip.text),
          'the tooltip names both ends of the genre and ending axes');
      if (/poems/.test(name))
        check(name, /haiku|sonnet|ballad|limerick|hymn/.test(tip.text) && /happy|dark|mysterious|romantic|reflective/.test(tip.text),
          'the tooltip names the genre and tone categories');
      await page.screenshot({ path: path.join(outdir, `${name}-hover.png`) });
      await page.mouse.click(pt.x, pt.y);
      const det = await page.$eval('#detail', (d) => d.textContent);
      check(name, /objective/.test(det) && (/qdaif/.test(name) ? /Text/.test(det) : /Genome/.test(det)),
        `clicking the cell shows its elite (${/qdaif/.test(name) ? 'text' : 'genome'})`);
      if (/stories/.test(name))
        check(name, /genre[\s\S]*\(romance 0 \u2194 1 horror\)/.test(det), 'the detail panel names the genre axis\'s ends');
      if (/poems/.test(name))
        check(name, /genre[\s\S]*\((haiku|sonnet|ballad|limerick|hymn)\)/.test(det), 'the detail panel names the genre category');
    }
    // sort by objective: starts descending (▼), a click makes it ascending (▲)
    const before = await page.$eval('#elites th[data-key="objective"]', (t) => t.textContent);
    await page.click('#elites th[data-key="objective"]');
    const after = await page.$eval('#elites th[data-key="objective"]', (t) => t.textContent);
    const objs = await page.$$eval('#elites tbody tr td:nth-child(2)', (tds) => tds.map((t) => +t.textContent));
    const ascending = objs.every((v, i) => i === 0 || objs[i - 1] <= v);
    check(name, /\u25bc/.test(before) && /\u25b2/.test(after) && ascending, `sort mark ${before} -> ${after}, rows ascending`);
    // a row click shows that row's elite
    const firstCell = await page.$eval('#elites tbody tr td', (t) => t.textContent);
    await page.click('#elites tbody tr');
    const h3 = await page.$eval('#detail h3', (t) => t.textContent);
    check(name, h3.startsWith('Cell ' + firstCell), `row click shows "${h3}"`);
    // ... scrolled into view (the table is below the fold; the panel beside the map)
    await page.waitForFunction(() => {
      const r = document.getElementById('detail').getBoundingClientRect();
      return r.top >= 0 && r.top < window.innerHeight - 40;
    }, null, { timeout: 3000 }).then(() => check(name, true, 'the detail panel scrolled into view'),
      async () => check(name, false, `the detail panel is off screen (top at ${await page.$eval('#detail',
        (d) => Math.round(d.getBoundingClientRect().top))} px)`));
    // ... and the map marks that row's cell in red (the mouse moved off the map first)
    await page.mouse.move(1, 1);
    const red = await page.evaluate(() => {
      const svg = document.querySelector('#map svg');
      if (svg) return svg.querySelectorAll('[stroke="#e00"]').length;
      const ov = document.querySelectorAll('#map canvas')[1], d = ov.getContext('2d').getImageData(0, 0, ov.width, ov.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i] > 200 && d[i + 1] < 60) n++;
      return n;
    });
    check(name, red > 0, `the map marks the row's cell (${red} red ${/svg/.test(info.mode) ? 'outlines' : 'pixels'})`);
    // paging
    if (info.n > 100) {
      await page.click('#next');
      const count = await page.$eval('#count', (t) => t.textContent);
      check(name, /rows 101\u2013/.test(count) && /page 2 of/.test(count), `next page: "${count}"`);
    }
    if (/cube/.test(name)) {
      await page.waitForFunction(() => document.getElementById('parallel').getAttribute('data-drawn'), null, { timeout: 30000 });
      const drawn = await page.$eval('#parallel', (p) => +p.getAttribute('data-drawn'));
      check(name, drawn === info.n, `parallel axes drew ${drawn} of ${info.n} elites`);
      const facets = info.mode === 'svg' ? await page.$$eval('#map .facet', (f) => f.length) : -1;
      if (info.mode === 'svg') check(name, facets === 4, `${facets} facets for the third measure's 4 bins`);
    }
    await page.screenshot({ path: path.join(outdir, `${name}-page.png`), fullPage: true });
  } catch (e) {
    check(name, false, 'page test threw ' + e);
  }
  check(name, errors.length === 0, errors.length ? 'page errors: ' + errors.join('; ') : 'no page errors');
  await page.close();
}
await browser.close();
console.log(`browser pages: ${passed} passed, ${failed} failed`);
