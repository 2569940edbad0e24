// Browser tests of the web cockpit, in headless Chromium (Debian's /usr/bin/chromium) driven by
// playwright-core, against a running `dangjian demo` (fixed seed and --today).
//
//   DANGJIAN_URL      the server, e.g. http://127.0.0.1:8080
//   DANGJIAN_TOKENS   demo-tokens.json from the demo's data dir: [{name, role, org, token}]
//                     (the member's entry also names its person: `member`)
//   DANGJIAN_SCREENSHOTS  where screenshots go (default target/screenshots)
//   CHROMIUM          the browser (default /usr/bin/chromium)
//
// Run with tests/web/run.sh. Each page is photographed at 1920×1080 and 1366×768; the
// member's own page (我的党建) at 375×812 (a phone) and 1366×768.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = (process.env.DANGJIAN_URL || '').replace(/\/$/, '');
const TOKENS_FILE = process.env.DANGJIAN_TOKENS;
const SHOTS = process.env.DANGJIAN_SCREENSHOTS || 'target/screenshots';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
if (!BASE || !TOKENS_FILE) throw new Error('set DANGJIAN_URL and DANGJIAN_TOKENS (see tests/web/run.sh)');

const TOKENS = JSON.parse(readFileSync(TOKENS_FILE, 'utf8'));
function token(role, org) {
  const t = TOKENS.find((x) => x.role === role && (!org || x.org === org));
  assert.ok(t, `no demo token for ${role}${org ? ` at ${org}` : ''}`);
  return t;
}
const LAPTOP = { width: 1366, height: 768 };
const SCREEN = { width: 1920, height: 1080 };
const PHONE = { width: 375, height: 812 };
// Generous: CI runs a debug build of the server, and a query over the views parses every event's JSON.
const TIMEOUT = Number(process.env.DANGJIAN_WEB_TIMEOUT_MS || 90_000);

let browser;
before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage'],
  });
});
after(async () => { await browser?.close(); });

// A fresh browser context; with a token the session is signed in before the page loads.
// Console errors and uncaught exceptions are collected; `expected` filters the failed
// requests a test provokes on purpose (Chromium logs a 403 or 400 response as a console error).
async function open({ tok, viewport = SCREEN } = {}) {
  const context = await browser.newContext({ viewport, acceptDownloads: true, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  context.setDefaultTimeout(TIMEOUT);
  if (tok) await context.addInitScript((t) => sessionStorage.setItem('dangjian.token', t), tok.token);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()} @ ${m.location().url}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
  const outside = [];
  page.on('request', (r) => { if (!r.url().startsWith(BASE) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) outside.push(r.url()); });
  return {
    page, context, problems, outside,
    assertClean(expected = []) {
      const left = problems.filter((p) => !expected.some((re) => re.test(p)));
      assert.deepEqual(left, [], 'no console errors');
      assert.deepEqual(outside, [], 'nothing fetched from outside the server');
    },
    close: () => context.close(),
  };
}

async function cockpitReady(page) {
  await page.waitForFunction(() => document.body.dataset.view === 'cockpit' && document.body.dataset.state !== 'loading', null, { timeout: TIMEOUT });
  return page.evaluate(() => document.body.dataset.state);
}
async function waitFor(page, view, state = 'ready') {
  await page.waitForFunction(([v, s]) => document.body.dataset.view === v && document.body.dataset.state === s, [view, state], { timeout: TIMEOUT });
}
async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}-${page.viewportSize().width}x${page.viewportSize().height}.png`) });
}
// The figures on screen: KPI values and the first chart's data of every panel.
async function figures(page) {
  return page.evaluate(() => {
    const kpis = [...document.querySelectorAll('.kpi .kpi-value')].map((e) => e.textContent);
    const charts = [...document.querySelectorAll('.panel .panel-body')].map((el) => {
      const c = window.echarts && window.echarts.getInstanceByDom(el);
      if (!c) return el.textContent.slice(0, 200);
      return JSON.stringify((c.getOption().series || []).map((s) => (s.data || []).map((d) => (d && typeof d === 'object' && 'value' in d ? d.value : d))));
    });
    return { kpis, charts };
  });
}
async function breadcrumb(page) {
  return page.$$eval('#breadcrumb .crumb', (els) => els.map((e) => ({ org: e.dataset.org, text: e.textContent, link: e.tagName === 'A' })));
}

test('sign-in with a token, and a wrong token is refused', async () => {
  const s = await open();
  const { page } = s;
  await page.goto(`${BASE}/`);
  await waitFor(page, 'signin');
  assert.match(page.url(), /#\/signin/);
  await shot(page, 'signin');
  await page.fill('#token', 'not-a-token');
  await page.click('#signin-btn');
  await page.waitForFunction(() => document.getElementById('signin-error').textContent.length > 0);
  assert.match(await page.textContent('#signin-error'), /令牌无效/);

  const leader = token('leader', 'U');
  await page.fill('#token', leader.token);
  await page.click('#signin-btn');
  assert.equal(await cockpitReady(page), 'ready');
  assert.match(await page.textContent('#who-name'), new RegExp(leader.name));
  assert.equal(await page.isVisible('nav a[data-route="sql"]'), true, 'a leader sees the SQL console');
  // The token lives in the session, and is sent as a bearer header.
  assert.equal(await page.evaluate(() => sessionStorage.getItem('dangjian.token')), leader.token);
  // Signing out forgets it.
  await page.click('#signout');
  await waitFor(page, 'signin');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('dangjian.token')), null);
  s.assertClean([/status of 401/]);
  await s.close();
});

test('every cockpit panel renders with data, fast and small, with no console errors', async () => {
  for (const viewport of [SCREEN, LAPTOP]) {
    const s = await open({ tok: token('leader', 'U'), viewport });
    const { page } = s;
    await page.goto(`${BASE}/#/cockpit`);
    assert.equal(await cockpitReady(page), 'ready');
    // Title with the org name and the data's freshness.
    assert.equal(await page.textContent('#app-title'), '党建驾驶舱');
    assert.ok((await page.textContent('#org-name')).length > 0, 'org name shown');
    assert.match(await page.textContent('#freshness'), /数据更新于|实时/);
    // The URL names the org and period shown.
    assert.match(page.url(), /#\/cockpit\?org=[^&]+&from=\d{4}-\d{2}&to=\d{4}-\d{2}/);

    const panels = await page.$$eval('[data-panel]', (els) => els.map((e) => ({
      id: e.dataset.panel, chart: e.dataset.chart, state: e.dataset.state,
      canvas: !!e.querySelector('canvas'), text: e.textContent.slice(0, 160),
    })));
    const failed = panels.filter((p) => p.state !== 'ready');
    assert.deepEqual(failed, [], 'every panel has data and no error');
    const kinds = new Set(panels.map((p) => p.chart));
    for (const k of ['kpi', 'funnel', 'heatmap', 'stat']) assert.ok(kinds.has(k), `a ${k} panel (have ${[...kinds]})`);
    for (const p of panels.filter((x) => ['bar', 'line', 'funnel', 'pie', 'heatmap'].includes(x.chart))) {
      assert.ok(p.canvas, `panel ${p.id} is drawn`);
    }
    // The statistical tests show their verdict; ANOVA and chi-square are both there.
    const verdicts = await page.$$eval('.stat .verdict', (els) => els.map((e) => e.textContent));
    assert.ok(verdicts.length >= 2, `stat verdicts: ${verdicts}`);
    const statText = await page.$$eval('.chart-stat', (els) => els.map((e) => e.textContent).join(' '));
    assert.match(statText, /χ²/);
    assert.match(statText, /Cramér's V/);
    assert.match(statText, /F/);
    // Key figures are numbers with their change.
    const kpis = await page.$$eval('.kpi', (els) => els.map((e) => [e.querySelector('.kpi-value')?.textContent, e.querySelector('.kpi-delta')?.textContent]));
    assert.ok(kpis.length >= 3, 'a strip of key figures');
    for (const [v, d] of kpis) { assert.match(v, /\d/); assert.ok(d); }
    await shot(page, 'cockpit-university');

    if (viewport === SCREEN) {
      // First meaningful render and bytes, cold cache, over loopback.
      const m = await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const res = performance.getEntriesByType('resource');
        const sum = (xs, k) => xs.reduce((a, x) => a + (x[k] || 0), 0);
        const isJson = (r) => r.name.includes('/api/');
        return {
          readyMs: window.__dj.readyAt,
          renderMs: window.__dj.renderMs,
          domContentLoadedMs: nav.domContentLoadedEventEnd,
          transfer: nav.transferSize + sum(res, 'transferSize'),
          decoded: nav.decodedBodySize + sum(res, 'decodedBodySize'),
          jsonTransfer: sum(res.filter(isJson), 'transferSize'),
          jsonDecoded: sum(res.filter(isJson), 'decodedBodySize'),
          assetTransfer: nav.transferSize + sum(res.filter((r) => !isJson(r)), 'transferSize'),
          requests: res.length + 1,
          panels: window.__dj.panels,
        };
      });
      const line = `cockpit first render ${m.readyMs.toFixed(0)} ms (DOMContentLoaded ${m.domContentLoadedMs.toFixed(0)} ms), ${m.requests} requests, `
        + `${(m.transfer / 1024).toFixed(0)} KiB transferred (assets ${(m.assetTransfer / 1024).toFixed(0)} KiB, JSON ${(m.jsonTransfer / 1024).toFixed(0)} KiB; `
        + `${(m.decoded / 1024).toFixed(0)} KiB decoded), ${m.panels} panels`;
      // The goal is 1.5 s; the test fails only past a looser bound (DANGJIAN_RENDER_BUDGET_MS,
      // default 15 s): CI runs a debug build of the server on the same two cores.
      console.log(`${line}; goal 1500 ms ${m.readyMs <= 1500 ? 'met' : 'missed'}`);
      writeFileSync(path.join(SHOTS, 'cockpit-measure.json'), JSON.stringify(m, null, 2));
      assert.ok(m.transfer < 1.5 * 1024 * 1024, `under 1.5 MB transferred: ${line}`);
      assert.ok(m.readyMs < Number(process.env.DANGJIAN_RENDER_BUDGET_MS || 15000), `first render within budget: ${line}`);
    }
    s.assertClean();
    await s.close();
  }
});

test('drill-down college → branch changes the figures and the breadcrumb, and back up', async () => {
  const s = await open({ tok: token('leader', 'U') });
  const { page } = s;
  await page.goto(`${BASE}/#/cockpit`);
  assert.equal(await cockpitReady(page), 'ready');
  const top = await figures(page);
  const crumbsTop = await breadcrumb(page);
  assert.equal(crumbsTop.length, 1);

  // University → its first college.
  const college = await page.$eval('#children .chip', (e) => e.dataset.org);
  await page.click(`#children .chip[data-org="${college}"]`);
  await page.waitForFunction((c) => document.body.dataset.state === 'ready' && new URLSearchParams(location.hash.split('?')[1]).get('org') === c
    && document.querySelector('#breadcrumb .crumb.current')?.dataset.org === c, college);
  const atCollege = await figures(page);
  const crumbsCollege = await breadcrumb(page);
  assert.deepEqual(crumbsCollege.map((c) => c.org), [crumbsTop[0].org, college]);
  assert.notDeepEqual(atCollege, top, 'the college shows other figures than the university');
  await shot(page, 'cockpit-college');

  // College → a branch: click it in a chart when the chart offers one, else its chip.
  const branch = await page.$eval('#children .chip', (e) => e.dataset.org);
  await page.click(`#children .chip[data-org="${branch}"]`);
  await page.waitForFunction((b) => document.body.dataset.state === 'ready'
    && document.querySelector('#breadcrumb .crumb.current')?.dataset.org === b, branch);
  const atBranch = await figures(page);
  assert.deepEqual((await breadcrumb(page)).map((c) => c.org), [crumbsTop[0].org, college, branch]);
  assert.notDeepEqual(atBranch, atCollege, 'the branch shows other figures than its college');
  const branchPanels = await page.$$eval('[data-panel]', (els) => els.map((e) => e.dataset.state));
  assert.ok(branchPanels.every((st) => st !== 'error'), `no failed panel at the branch: ${branchPanels}`);
  await shot(page, 'cockpit-branch');

  // The breadcrumb leads back to the college.
  await page.click(`#breadcrumb a.crumb[data-org="${college}"]`);
  await page.waitForFunction((c) => document.body.dataset.state === 'ready'
    && document.querySelector('#breadcrumb .crumb.current')?.dataset.org === c, college);
  assert.deepEqual(await figures(page), atCollege, 'back at the college, the same figures');
  s.assertClean();
  await s.close();
});

/** Resolves when the page has received a dashboard answer whose query contains `query`. */
const dashboardAnswer = (page, query) =>
  page.waitForResponse((r) => r.url().includes('/api/v1/dashboards/') && r.url().includes(query));

test('the period picker changes the figures and the URL', async () => {
  const s = await open({ tok: token('leader', 'U') });
  const { page } = s;
  await page.goto(`${BASE}/#/cockpit`);
  assert.equal(await cockpitReady(page), 'ready');
  const before = await figures(page);
  const periodBefore = await page.textContent('#period-text');
  const to = new URLSearchParams(page.url().split('?')[1]).get('to');
  const year = Number(to.slice(0, 4)) - 1;
  await page.selectOption('#period-mode', 'year');
  await page.fill('#period-year', String(year));
  // The page is still 'ready' from the old period for a moment after the hash changes:
  // wait for the new period's answer, then for the render that follows it.
  const yearLoaded = dashboardAnswer(page, `from=${year}-01&to=${year}-12`);
  await page.click('#period-apply');
  await yearLoaded;
  await page.waitForFunction((y) => document.body.dataset.state === 'ready' && location.hash.includes(`from=${y}-01&to=${y}-12`), year);
  assert.equal(await page.textContent('#period-text'), `${year}年`);
  assert.notEqual(await page.textContent('#period-text'), periodBefore);
  const after = await figures(page);
  assert.notDeepEqual(after, before, 'another period, other figures');

  // A quarter, and the bookmark reproduces the screen.
  await page.selectOption('#period-mode', 'quarter');
  await page.fill('#period-qyear', String(year));
  await page.selectOption('#period-quarter', '2');
  const quarterLoaded = dashboardAnswer(page, `from=${year}-04&to=${year}-06`);
  await page.click('#period-apply');
  await quarterLoaded;
  await page.waitForFunction((y) => document.body.dataset.state === 'ready' && location.hash.includes(`from=${y}-04&to=${y}-06`), year);
  const quarter = await figures(page);
  const bookmark = page.url();
  await shot(page, 'cockpit-quarter');
  const s2 = await open({ tok: token('leader', 'U') });
  await s2.page.goto(bookmark);
  assert.equal(await cockpitReady(s2.page), 'ready');
  assert.equal(await s2.page.textContent('#period-text'), `${year}年第2季度`);
  assert.deepEqual(await figures(s2.page), quarter, 'the bookmarked URL shows the same screen');
  s.assertClean();
  s2.assertClean();
  await s2.close();
  await s.close();
});

test('auto-refresh reloads the figures at its interval, and the choice is kept in the URL', async () => {
  const s = await open({ tok: token('leader', 'U') });
  const { page } = s;
  const loads = [];
  page.on('request', (r) => { if (/\/api\/v1\/dashboards\/[^?]+\?/.test(r.url())) loads.push(Date.now()); });
  // The picker offers 30 s and more; the URL takes any number of seconds.
  await page.goto(`${BASE}/#/cockpit?refresh=2`);
  assert.equal(await cockpitReady(page), 'ready');
  const first = loads.length;
  await page.waitForTimeout(5000);
  assert.ok(loads.length > first, `reloaded while open: ${loads.length} loads`);
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'ready');
  await page.selectOption('#refresh', '60');
  assert.match(page.url(), /refresh=60/);
  s.assertClean();
  await s.close();
});

test('a college leader cannot reach another college, in the UI or the API', async () => {
  const leader = token('leader', TOKENS.find((t) => t.role === 'leader' && t.org !== 'U')?.org);
  const s = await open({ tok: leader });
  const { page } = s;
  await page.goto(`${BASE}/`);
  assert.equal(await cockpitReady(page), 'ready');
  const crumbs = await breadcrumb(page);
  assert.equal(crumbs.at(-1).org, leader.org, 'the cockpit opens at the leader\'s college');
  assert.ok(crumbs.slice(0, -1).every((c) => !c.link), 'orgs above the scope cannot be opened');
  const children = await page.$$eval('#children .chip', (els) => els.map((e) => e.dataset.org));
  assert.ok(children.length > 0 && children.every((c) => c.startsWith(leader.org)), `only own branches: ${children}`);

  // Another college, asked for in the URL.
  const university = crumbs[0].org;
  const colleges = await (await fetch(`${BASE}/api/v1/sql`, {
    method: 'POST', headers: { Authorization: `Bearer ${token('analyst').token}` },
    body: "SELECT org_id FROM orgs WHERE kind = 'college' ORDER BY org_id",
  })).json();
  const other = colleges.rows.map((r) => r.org_id).find((id) => id !== leader.org);
  assert.ok(other, 'there is another college');
  await page.goto(`${BASE}/#/cockpit?org=${other}`);
  assert.equal(await cockpitReady(page), 'forbidden');
  assert.equal(await page.$$eval('[data-panel]', (els) => els.length), 0, 'no figures of the other college');
  assert.match(await page.textContent('#panels'), /无权访问/);
  await shot(page, 'cockpit-forbidden');
  // Nor the university as a whole.
  await page.goto(`${BASE}/#/cockpit?org=${university}`);
  assert.equal(await cockpitReady(page), 'forbidden');

  // The API refuses the same, whatever the page does.
  const auth = { headers: { Authorization: `Bearer ${leader.token}` } };
  for (const url of [`/api/v1/dashboards/college?org=${other}`, `/api/v1/dashboards/university?org=${university}`, `/api/v1/warnings?org=${other}`]) {
    const res = await fetch(`${BASE}${url}`, auth);
    assert.equal(res.status, 403, url);
    assert.equal((await res.json()).error, 'forbidden', url);
  }
  const mine = await fetch(`${BASE}/api/v1/dashboards/college?org=${leader.org}`, auth);
  assert.equal(mine.status, 200);
  // A college leader's warnings are all in the college.
  const ws = await (await fetch(`${BASE}/api/v1/warnings?status=all`, auth)).json();
  assert.ok(ws.warnings.every((w) => w.org_id === leader.org || w.org_id.startsWith(`${leader.org}-`)), 'warnings only of the own college');
  s.assertClean([/status of 403/]);
  await s.close();
});

test('a secretary acknowledges a warning and it leaves the open list', async () => {
  const sec = token('secretary');
  for (const viewport of [SCREEN, LAPTOP]) {
    const s = await open({ tok: sec, viewport });
    const { page } = s;
    await page.goto(`${BASE}/`);
    await waitFor(page, 'warnings');
    assert.equal(await page.isVisible('nav a[data-route="sql"]'), false, 'no SQL console for a secretary');
    const rows = await page.$$eval('#warning-list tr.w-row', (els) => els.map((e) => ({ id: e.dataset.id, status: e.dataset.status })));
    assert.ok(rows.length > 0, 'the demo has open warnings for the secretary');
    assert.ok(rows.every((r) => r.status === 'open'));
    await shot(page, 'warnings');
    if (viewport === LAPTOP) { await s.close(); break; }

    const id = rows[0].id;
    await page.click(`#warning-list tr.w-row[data-id="${id}"]`);
    await page.waitForSelector('#ack-btn');
    await shot(page, 'warning-detail');
    await page.fill('#ack-note', '已与本人谈话，本周补缴。');
    await page.click('#ack-btn');
    await page.waitForFunction((wid) => document.body.dataset.state === 'ready' && !location.hash.includes(wid)
      && !document.querySelector(`#warning-list tr.w-row[data-id="${wid}"]`), id);
    const left = await page.$$eval('#warning-list tr.w-row', (els) => els.map((e) => e.dataset.id));
    assert.ok(!left.includes(id), 'the acknowledged warning left the open list');
    assert.equal(left.length, rows.length - 1);

    // It is listed as acknowledged, with the note and who did it.
    await page.selectOption('#w-status', 'acknowledged');
    await page.waitForFunction((wid) => document.body.dataset.state === 'ready' && !!document.querySelector(`#warning-list tr.w-row[data-id="${wid}"]`), id);
    await page.click(`#warning-list tr.w-row[data-id="${id}"]`);
    const detail = await page.textContent('#warning-detail');
    assert.match(detail, /已与本人谈话/);
    const acked = (await (await fetch(`${BASE}/api/v1/warnings?status=acknowledged`, { headers: { Authorization: `Bearer ${sec.token}` } })).json())
      .warnings.find((w) => w.warning_id === id);
    assert.ok(acked && acked.acknowledged_by && acked.acknowledged_at, 'recorded who acknowledged it and when');
    assert.match(detail, new RegExp(acked.acknowledged_by));
    assert.equal(await page.$('#ack-btn'), null, 'no second acknowledgement');
    // A second acknowledgement through the API is a conflict.
    const again = await fetch(`${BASE}/api/v1/warnings/${encodeURIComponent(id)}/ack`, {
      method: 'POST', headers: { Authorization: `Bearer ${sec.token}`, 'Content-Type': 'application/json' }, body: '{}',
    });
    assert.equal(again.status, 409);
    assert.equal((await again.json()).error, 'already_acknowledged');
    s.assertClean();
    await s.close();
  }
});

test('the SQL console runs a saved query, pages the result and downloads CSV', async () => {
  for (const viewport of [SCREEN, LAPTOP]) {
    const s = await open({ tok: token('analyst'), viewport });
    const { page } = s;
    await page.goto(`${BASE}/#/sql`);
    await waitFor(page, 'sql');
    await page.waitForSelector('#saved-queries button.saved');
    const names = await page.$$eval('#saved-queries button.saved', (els) => els.map((e) => e.dataset.name));
    assert.ok(names.includes('people'), `saved queries from queries/: ${names.slice(0, 8)}`);
    await page.click('#saved-queries button.saved[data-name="people"]');
    assert.match(await page.inputValue('#sql-editor'), /FROM people/);
    await page.click('#sql-run');
    await waitFor(page, 'sql', 'ready');
    await page.waitForSelector('#sql-result table tbody tr');
    assert.match(await page.textContent('#sql-status'), /\d+ 行/);
    const rowsShown = await page.$$eval('#sql-result tbody tr', (els) => els.length);
    assert.equal(rowsShown, 50, 'a page holds 50 rows');
    const first = await page.textContent('#sql-result tbody tr');
    await page.click('#sql-next');
    assert.match(await page.textContent('#sql-page'), /第 2 \//);
    assert.notEqual(await page.textContent('#sql-result tbody tr'), first, 'the next page shows other rows');
    await shot(page, 'sql');

    if (viewport === SCREEN) {
      await page.fill('#sql-editor', 'SELECT stage, count(*) AS people FROM people GROUP BY stage ORDER BY stage');
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#sql-csv')]);
      assert.match(download.suggestedFilename(), /\.csv$/);
      const file = path.join(SHOTS, 'download.csv');
      await download.saveAs(file);
      const csv = readFileSync(file, 'utf8').trim().split('\n');
      assert.equal(csv[0], 'stage,people');
      assert.ok(csv.length >= 3, `CSV rows: ${csv.length}`);
    }
    s.assertClean();
    await s.close();
  }
});

// Reads in scope: the console answers from the caller's session (tests/e2e/scoped.rs has the
// whole matrix); here as a user sees it.
test('the SQL console counts only the leader\'s college, and shows an analyst pseudonyms', async () => {
  const college = TOKENS.find((x) => x.role === 'leader' && x.org !== token('admin').org);
  assert.ok(college, 'a college leader among the demo tokens');
  const run = async (tok, sql) => {
    const s = await open({ tok, viewport: SCREEN });
    const { page } = s;
    await page.goto(`${BASE}/#/sql`);
    await waitFor(page, 'sql');
    await page.fill('#sql-editor', sql);
    await page.click('#sql-run');
    await waitFor(page, 'sql', 'ready');
    await page.waitForSelector('#sql-result table tbody tr');
    const cells = await page.$$eval('#sql-result tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
    s.assertClean();
    await s.close();
    return cells;
  };
  const colleges = await run(college, "SELECT substr(org_id, 1, strpos(org_id || '-', '-') - 1) AS college, count(*) AS people FROM people GROUP BY 1 ORDER BY 1");
  assert.deepEqual(colleges.map((r) => r[0]), [college.org], `only ${college.org}: ${JSON.stringify(colleges)}`);
  const names = await run(token('analyst'), 'SELECT name, phone FROM people ORDER BY member_id LIMIT 20');
  assert.equal(names.length, 20);
  for (const [name, phone] of names) {
    assert.match(name, /^P-[0-9a-f]{8}$/, `a pseudonym, not a name: ${name}`);
    assert.ok(!/\d{11}/.test(phone), `no phone number: ${phone}`);
  }
});

test('a bad query shows the server\'s error', async () => {
  const s = await open({ tok: token('analyst') });
  const { page } = s;
  await page.goto(`${BASE}/#/sql`);
  await waitFor(page, 'sql');
  await page.fill('#sql-editor', 'SELECT no_such_column FROM no_such_table');
  await page.click('#sql-run');
  await waitFor(page, 'sql', 'error');
  const key = await page.textContent('#sql-error .error-key');
  const message = await page.textContent('#sql-error .error-message');
  const res = await fetch(`${BASE}/api/v1/sql`, { method: 'POST', headers: { Authorization: `Bearer ${token('analyst').token}` }, body: 'SELECT no_such_column FROM no_such_table' });
  const server = await res.json();
  assert.equal(res.status, 400);
  assert.equal(key, server.error);
  assert.equal(message, server.message, 'the message is the server\'s');
  assert.equal(await page.$$eval('#sql-result tr', (e) => e.length), 0);
  // A write is refused with its own key.
  await page.fill('#sql-editor', 'DROP TABLE events');
  await page.click('#sql-run');
  await page.waitForFunction((m) => document.body.dataset.state === 'error'
    && document.querySelector('#sql-error .error-message')?.textContent !== m, message);
  assert.ok((await page.textContent('#sql-error .error-key')).length > 0);
  await shot(page, 'sql-error');
  s.assertClean([/status of 400/]);
  await s.close();
});

// 我的党建: a member signs in and lands on their own page, which works on a phone (no
// horizontal scrolling at 375 px) and on a laptop; the member reaches nothing else — not
// another member's page, not the cockpit.
test('the member\'s own page at 375×812 and 1366×768', async () => {
  const member = token('member');
  assert.ok(member.member, 'the demo\'s member token names its person');
  const own = member.member;
  const headers = (t) => ({ Authorization: `Bearer ${t.token}` });
  // What the server answers for this member, to compare with the page.
  const res = await fetch(`${BASE}/api/v1/members/${encodeURIComponent(own)}`, { headers: headers(member) });
  assert.equal(res.status, 200, `the member reads their own page: ${res.status}`);
  const record = await res.json();
  // Another person, found by the admin (the member cannot run SQL).
  const people = await fetch(`${BASE}/api/v1/sql`, {
    method: 'POST', headers: headers(token('admin')),
    body: `SELECT member_id FROM people WHERE member_id <> '${own}' ORDER BY member_id LIMIT 1`,
  });
  assert.equal(people.status, 200);
  const other = (await people.json()).rows[0]?.member_id;
  assert.ok(other, 'another person in the demo');

  for (const viewport of [PHONE, LAPTOP]) {
    const s = await open({ tok: member, viewport });
    const { page } = s;
    await page.goto(`${BASE}/`);
    await waitFor(page, 'me');
    assert.match(page.url(), /#\/me$/, 'a member lands on their own page');
    assert.equal(await page.getAttribute('#me-page', 'data-member'), own);
    const name = (await page.textContent('#me-name')).trim();
    assert.ok(name.length > 0 && name !== '—', 'the name is shown');
    assert.equal(name, record.member.name);
    assert.match(await page.textContent('#who-name'), /党员/);
    assert.doesNotMatch(await page.textContent('#me-page'), /null|undefined|NaN|\[object/, 'no placeholder of a missing value');
    for (const section of ['header', 'next-step', 'dues', 'attendance', 'study', 'score', 'recommendations', 'push', 'quizzes', 'warnings', 'notices']) {
      assert.ok(await page.$(`[data-section="${section}"]`), `section ${section}`);
    }
    // The figures are the server's.
    const dues = await page.textContent('[data-section="dues"]');
    assert.ok(dues.includes(`${record.dues.paid_months} / ${record.dues.due_months}`), `dues paid / due: ${dues}`);
    assert.ok(dues.includes((record.dues.owed_fen / 100).toFixed(2)), 'the amount owed in yuan');
    assert.equal(await page.$$eval('#dues-months .me-month', (els) => els.length), record.dues.months.length);
    const recs = await page.$$eval('[data-section="recommendations"] [data-resource]', (els) => els.map((e) => [e.dataset.resource, e.querySelector('.rec-reason').textContent]));
    assert.deepEqual(recs.map((r) => r[0]), record.recommendations.map((r) => r.resource_id), 'the recommendations, best first');
    assert.ok(recs.every(([, reason]) => reason.length > 0), 'each recommendation with its reason');
    if (!recs.length) assert.match(await page.textContent('[data-section="recommendations"]'), /本周暂无推荐/);
    // Only the member's own link in the navigation.
    assert.equal(await page.isVisible('nav a[data-route="me"]'), true, 'the member sees 我的党建');
    for (const r of ['cockpit', 'warnings', 'sql']) assert.equal(await page.isVisible(`nav a[data-route="${r}"]`), false, `no ${r} link for a member`);
    // Nothing wider than the screen (the top bar included).
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, view: window.innerWidth }));
    assert.ok(widths.scroll <= viewport.width, `no horizontal scrolling at ${viewport.width} px: scrollWidth ${widths.scroll}`);
    if (viewport === PHONE) assert.ok(widths.scroll <= 375);
    await shot(page, 'me');
    await page.screenshot({ path: path.join(SHOTS, `me-full-${viewport.width}x${viewport.height}.png`), fullPage: true });

    if (viewport === PHONE) {
      // Another member's page: as the page would ask, with the same token — unknown to this member.
      const status = await page.evaluate(async (id) => (await fetch(`/api/v1/members/${encodeURIComponent(id)}`, {
        headers: { Authorization: `Bearer ${sessionStorage.getItem('dangjian.token')}` },
      })).status, other);
      assert.equal(status, 404, 'a member cannot read another member');
      // Nor by the URL: the page shows the member's own record whatever it names.
      await page.goto(`${BASE}/#/me?member=${encodeURIComponent(other)}`);
      await waitFor(page, 'me');
      assert.equal(await page.getAttribute('#me-page', 'data-member'), own);
      // The cockpit leads back to the member's page; the API refuses the rest.
      await page.goto(`${BASE}/#/cockpit`);
      await page.waitForFunction(() => location.hash === '#/me' && document.body.dataset.view === 'me' && document.body.dataset.state === 'ready');
      for (const url of ['/api/v1/dashboards/university', '/api/v1/warnings']) {
        assert.equal((await fetch(`${BASE}${url}`, { headers: headers(member) })).status, 403, url);
      }
      const sql = await fetch(`${BASE}/api/v1/sql`, { method: 'POST', headers: headers(member), body: 'SELECT 1' });
      assert.equal(sql.status, 403, 'no SQL for a member');
    } else {
      // The weekly push: opt out, and back in (the demo is left as it was).
      const before = await page.getAttribute('#push', 'data-opted-out');
      for (const want of [before === 'true' ? 'false' : 'true', before]) {
        await page.click('#push-toggle');
        await page.waitForFunction((w) => document.body.dataset.state === 'ready' && document.querySelector('#push')?.dataset.optedOut === w, want);
        if (want !== before) await shot(page, 'me-push-off');
      }
    }
    s.assertClean([/status of 404/]);
    await s.close();
  }

  // The admin opens the member's page by its id (a secretary or leader of their scope would too).
  const s = await open({ tok: token('admin'), viewport: LAPTOP });
  await s.page.goto(`${BASE}/#/me?member=${encodeURIComponent(own)}`);
  await waitFor(s.page, 'me');
  assert.equal((await s.page.textContent('#me-name')).trim(), record.member.name);
  assert.equal(await s.page.isVisible('nav a[data-route="me"]'), false, 'the 我的党建 link is the members\'');
  assert.equal(await s.page.isVisible('nav a[data-route="cockpit"]'), true);
  s.assertClean();
  await s.close();
});

test('screenshots of every page at 1920×1080 and 1366×768', async () => {
  const leader = token('leader', 'U');
  const college = TOKENS.find((t) => t.role === 'leader' && t.org !== leader.org).org;
  const branch = token('secretary').org;
  const pages = [
    ['page-signin', null, '#/signin', 'signin'],
    ['page-cockpit-university', leader, '#/cockpit', 'cockpit'],
    ['page-cockpit-college', leader, `#/cockpit?org=${college}`, 'cockpit'],
    ['page-cockpit-branch', leader, `#/cockpit?org=${branch}`, 'cockpit'],
    ['page-statistics', leader, `#/cockpit?org=${college}&board=statistics`, 'cockpit'],
    ['page-warnings', token('secretary'), '#/warnings?status=all', 'warnings'],
    ['page-sql', token('analyst'), '#/sql', 'sql'],
  ];
  for (const viewport of [SCREEN, LAPTOP]) {
    for (const [name, tok, hash, view] of pages) {
      const s = await open({ tok, viewport });
      await s.page.goto(`${BASE}/${hash}`);
      await waitFor(s.page, view);
      if (view === 'sql') {
        await s.page.click('#sql-run');
        await s.page.waitForSelector('#sql-result table');
      }
      await shot(s.page, name);
      s.assertClean();
      await s.close();
    }
  }
});

// Last, because it renames an org of the demo (and names it back at the end): a secretary
// who names their branch with a script payload runs nothing in anyone's browser. The
// cockpit is rendered live (`as_of` with `live=true`: the model tables of that instant
// were written before the rename), so every chart carries the new name, and every chart
// is hovered so its tooltip (HTML built from org and series names) is drawn.
test('an org named with a script payload runs nothing on any page', async () => {
  const admin = token('admin');
  const college = TOKENS.find((t) => t.role === 'leader' && t.org !== token('leader', 'U').org).org;
  const branch = token('secretary').org;
  const headers = { Authorization: `Bearer ${admin.token}`, 'Content-Type': 'application/json' };
  const dash = async () => (await (await fetch(`${BASE}/api/v1/dashboards/college?org=${college}`, { headers })).json());
  const original = (await dash()).org.children.find((c) => c.org_id === branch).name;
  // The server's clock (the demo runs on its own day), not this machine's.
  const me = await (await fetch(`${BASE}/api/v1/whoami`, { headers })).json();
  const payload = `<img src=x onerror="window.__xss=1">${original}<script>window.__xss=2</script>"'><svg onload=window.__xss=3>`;
  const rename = async (name) => {
    const res = await fetch(`${BASE}/api/v1/events`, { method: 'POST', headers, body: JSON.stringify({ event_type: 'org.renamed', occurred_at: me.today, org_id: branch, payload: { name } }) });
    assert.equal(res.status, 200, await res.text());
    // The server's org tree reads the view again after a rename.
    for (let i = 0; i < 200; i++) {
      if ((await dash()).org.children.some((c) => c.org_id === branch && c.name === name)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail('the rename did not reach the org tree');
  };
  await rename(payload);
  try {
    const asOf = encodeURIComponent(new Date(Date.parse(me.now) + 3600_000).toISOString());
    const pages = [
      [token('leader', 'U'), `#/cockpit?org=${college}&as_of=${asOf}&live=true`, 'cockpit'],
      [token('leader', 'U'), `#/cockpit?org=${college}&board=statistics&as_of=${asOf}&live=true`, 'cockpit'],
      [token('leader', 'U'), `#/cockpit?org=${branch}&as_of=${asOf}&live=true`, 'cockpit'],
      [token('secretary'), '#/warnings?status=all', 'warnings'],
      [token('analyst'), '#/sql', 'sql'],
      [token('member'), '#/me', 'me'],
    ];
    for (const [tok, hash, view] of pages) {
      const s = await open({ tok });
      await s.page.goto(`${BASE}/${hash}`);
      await waitFor(s.page, view);
      if (view === 'sql') {
        await s.page.fill('#sql-editor', `SELECT org_id, name FROM orgs WHERE org_id = '${branch}'`);
        await s.page.click('#sql-run');
        await s.page.waitForSelector('#sql-result table');
        assert.match(await s.page.textContent('#sql-result'), /onerror/, 'the name is shown as text');
      }
      // Every chart's tooltip, at a few points of each.
      for (const canvas of await s.page.$$('.panel .panel-body canvas')) {
        const box = await canvas.boundingBox();
        if (!box) continue;
        for (const [fx, fy] of [[0.3, 0.5], [0.5, 0.5], [0.7, 0.4], [0.5, 0.7]]) {
          await s.page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
          await s.page.waitForTimeout(40);
        }
      }
      assert.equal(await s.page.evaluate(() => window.__xss), undefined, `${hash}: the payload ran`);
      assert.equal(await s.page.$$eval('img[src="x"], svg[onload]', (els) => els.length), 0, `${hash}: the payload became markup`);
      if (view === 'cockpit') await shot(s.page, `xss-${hash.includes('statistics') ? 'statistics' : hash.includes(branch) ? 'branch' : 'college'}`);
      s.assertClean();
      await s.close();
    }
  } finally {
    await rename(original);
  }
});
