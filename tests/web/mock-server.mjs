// A stand-in for `dangjian` when developing the page without the binary: serves
// dashboards/web/ the way the binary does (`/` → index.html, `/assets/<path>`) and answers the
// API routes the page uses with the documented shapes and made-up figures that depend on the
// org and the period. Not used by the test suite, which runs against the real binary; run it
// with `node tests/web/mock-server.mjs [port] [tokens.json]` and point DANGJIAN_URL at it to
// try the tests.

import http from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = path.resolve(here, '../../dashboards/web');
const port = Number(process.argv[2] || 8089);
const tokensFile = process.argv[3] || '/tmp/mock-demo-tokens.json';

const TOKENS = {
  'tok-admin': { name: '校党委管理员', role: 'admin', scope: 'U' },
  'tok-leader': { name: '校党委书记', role: 'leader', scope: 'U' },
  'tok-leader-c01': { name: '学院党委书记', role: 'leader', scope: 'C01' },
  'tok-analyst': { name: '组织部分析员', role: 'analyst', scope: 'U' },
  'tok-secretary': { name: '支部书记', role: 'secretary', scope: 'C01-B01' },
  'tok-producer': { name: '数据接入', role: 'producer', scope: 'U' },
};

// With DANGJIAN_TOKENS (a demo-tokens.json) those tokens are known too.
if (process.env.DANGJIAN_TOKENS) {
  for (const t of JSON.parse(readFileSync(process.env.DANGJIAN_TOKENS, 'utf8'))) TOKENS[t.token] = { name: t.name, role: t.role, scope: t.org };
}

// The org tree: U → C01..C04 → 4 branches → 2 groups.
const COLLEGES = ['计算机学院党委', '机械工程学院党委', '外国语学院党总支', '经济管理学院党委'];
const orgs = new Map();
orgs.set('U', { org_id: 'U', name: '江城大学党委', kind: 'university', parent: null });
COLLEGES.forEach((name, i) => {
  const c = `C0${i + 1}`;
  orgs.set(c, { org_id: c, name, kind: 'college', parent: 'U' });
  for (let b = 1; b <= 4; b++) {
    const bid = `${c}-B0${b}`;
    orgs.set(bid, { org_id: bid, name: `${name.replace(/党委|党总支/, '')}${['本科生第一', '本科生第二', '研究生', '教工'][b - 1]}党支部`, kind: 'branch', parent: c });
    for (let g = 1; g <= 2; g++) orgs.set(`${bid}-G${g}`, { org_id: `${bid}-G${g}`, name: `第${g}党小组`, kind: 'group', parent: bid });
  }
});
const brief = (o) => ({ org_id: o.org_id, name: o.name, kind: o.kind });
const children = (id) => [...orgs.values()].filter((o) => o.parent === id);
function pathOf(id) {
  const out = [];
  for (let o = orgs.get(id); o; o = orgs.get(o.parent)) out.unshift(brief(o));
  return out;
}
const inScope = (scope, id) => pathOf(id).some((o) => o.org_id === scope);

// Deterministic pseudo-random figures from a string.
function rnd(key) {
  let h = 2166136261;
  for (const ch of key) { h ^= ch.charCodeAt(0); h = Math.imul(h, 16777619); }
  return ((h >>> 0) % 10000) / 10000;
}
function months(from, to) {
  const out = [];
  let [y, m] = from.split('-').map(Number);
  const [ty, tm] = to.split('-').map(Number);
  while (y < ty || (y === ty && m <= tm)) { out.push(`${y}-${String(m).padStart(2, '0')}`); m++; if (m > 12) { m = 1; y++; } }
  return out;
}

// Panels from the real dashboard specs (dashboards/specs/*.toml), with made-up rows of the same shape.
function readSpecs() {
  const specs = {};
  const specDir = path.resolve(webDir, '..', 'specs');
  for (const f of readdirSync(specDir)) {
    if (!f.endsWith('.toml')) continue;
    const spec = { panels: [] };
    let cur = spec;
    for (const line of readFileSync(path.resolve(specDir, f), 'utf8').split('\n')) {
      if (/^\s*(#|$)/.test(line)) continue;
      if (/^\[\[panels\]\]/.test(line)) { cur = {}; spec.panels.push(cur); continue; }
      const m = line.match(/^(\w+)\s*=\s*(.*)$/);
      if (m) cur[m[1]] = JSON.parse(m[2]);
    }
    specs[spec.id] = spec;
  }
  return specs;
}
const SPECS = readSpecs();
const STAGES = ['none', 'applicant', 'activist', 'development_target', 'probationary', 'full_member'];
const STAT_VALUES = { chi2: 14.2, dof: 8, p_value: 0.03, cramers_v: 0.11, n: 812, min_expected: 3.1, cells_below_5: 2, reliable: true,
  f: 2.4, df_between: 3, df_within: 400, eta_squared: 0.02, branches: 4 };
function panels(org, from, to, spec) {
  const k = `${org.org_id}|${from}|${to}`;
  const ms = months(from, to);
  const years = uniqArr(ms.map((m) => Number(m.slice(0, 4))));
  const kids = children(org.org_id);
  const size = { university: 2400, college: 600, branch: 150, group: 70 }[org.kind];
  return spec.panels.map((p) => {
    const dims = p.dimensions || [];
    let rows = [{}];
    const units = p.rows === 'children' ? kids : [org];
    const expand = (d, values) => { rows = rows.flatMap((r) => values.map((v) => ({ ...r, ...v }))); };
    for (const d of dims) {
      if (d === 'month') expand(d, ms.map((m) => ({ month: m })));
      else if (d === 'period') expand(d, ms.map((m) => ({ period: m })));
      else if (d === 'year') expand(d, years.map((y) => ({ year: y })));
      else if (d === 'org_name') expand(d, units.map((u) => ({ org_id: u.org_id, org_name: u.name })));
      else if (d === 'stage') expand(d, STAGES.map((st, i) => ({ stage: st, stage_order: i })));
      else if (d === 'kind') expand(d, ['branch_assembly', 'committee', 'group', 'lecture'].map((x) => ({ kind: x })));
      else if (d === 'metric') expand(d, ['attendance_rate', 'dues_paid_share'].map((x) => ({ metric: x })));
      else if (d === 'band_label') expand(d, ['<60', '60–70', '70–80', '80–90', '≥90'].map((x, i) => ({ band: i, band_label: x })));
      else if (d === 'member_id') expand(d, Array.from({ length: 12 }, (_, i) => ({ member_id: `${org.org_id}-M${String(i + 1).padStart(3, '0')}` })));
    }
    if (p.chart === 'stat' && org.kind === 'branch') rows = [];
    if (p.chart === 'stat') rows = rows.slice(-1);
    rows = rows.map((r, i) => {
      const out = { ...r };
      for (const m of p.measures || []) {
        const x = rnd(`${k}|${p.id}|${m}|${JSON.stringify(r)}`);
        if (m in STAT_VALUES) out[m] = typeof STAT_VALUES[m] === 'number' ? STAT_VALUES[m] * (0.5 + x) : STAT_VALUES[m];
        else if (/share|rate/.test(m)) out[m] = p.id.includes('compliance') ? Math.round(x * 4) / 4 : 0.7 + x * 0.3;
        else if (/score/.test(m)) out[m] = m === 'min_score' ? 20 + x * 30 : m === 'max_score' ? 90 + x * 10 : 60 + x * 30;
        else if (m === 'stddev' || m === 'spread' || m === 'mean') out[m] = x * 20;
        else if (m === 'reached') out[m] = Math.round(size * (1.6 - (r.stage_order || 0) * 0.25));
        else if (m === 'last_paid_period') out[m] = ms[0];
        else out[m] = Math.round(size * x * 0.3 + (r.stage === 'full_member' ? size * 0.6 : 0)) + i % 3;
      }
      return out;
    });
    const columns = uniqArr([...dims, ...(p.measures || []), ...Object.keys(rows[0] || {})]);
    return { id: p.id, title: p.title, model: p.model, chart: p.chart, dimensions: dims, measures: p.measures || [], columns, rows, error: null };
  });
}
const uniqArr = (xs) => [...new Set(xs)];

const warnings = [];
['C01-B01', 'C01-B01', 'C01-B02', 'C02-B01', 'C01-B01', 'C03-B02'].forEach((org, i) => {
  warnings.push({
    warning_id: `W${String(i + 1).padStart(4, '0')}`, rule: ['dues_arrears', 'branch_assembly_missing', 'probation_ending', 'no_org_life', 'application_not_answered', 'committee_term_expired'][i],
    title: ['党费欠缴', '支部党员大会未召开', '预备期即将届满', '长期未参加组织生活', '入党申请未谈话', '支委会任期届满'][i],
    severity: ['warning', 'warning', 'critical', 'critical', 'warning', 'notice'][i], status: 'open', org_id: org, org_name: orgs.get(org).name,
    member_id: i % 2 ? null : `${org}-M00${i + 1}`, subject: i % 2 ? orgs.get(org).name : `党员 ${org}-M00${i + 1}`,
    message: '连续 3 个月未缴纳党费。', raised_at: '2026-11-20T01:00:00Z', deadline: '2026-12-05T16:00:00Z', notified_at: '2026-11-20T01:00:05Z',
    acknowledged_at: null, acknowledged_by: null, note: null, escalated_to: null,
  });
});

function send(res, status, body, type = 'application/json') {
  const data = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': type });
  res.end(data);
}
const err = (res, status, error, message) => send(res, status, { error, message });

async function serveStatic(req, res, rel) {
  const file = path.join(webDir, rel);
  if (!file.startsWith(webDir)) return err(res, 404, 'not_found', 'no such file');
  let body;
  try { body = await readFile(file); } catch { return err(res, 404, 'not_found', 'no such file'); }
  const type = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' }[path.extname(file)] || 'text/plain; charset=utf-8';
  if (/\bgzip\b/.test(req.headers['accept-encoding'] || '')) {
    res.writeHead(200, { 'Content-Type': type, 'Content-Encoding': 'gzip' });
    return res.end(zlib.gzipSync(body));
  }
  send(res, 200, body, type);
}

// With DANGJIAN_PROXY=http://127.0.0.1:8080 the API goes to a real server and only the files
// come from disk: the page as edited, against real data, without rebuilding the binary.
const PROXY = process.env.DANGJIAN_PROXY;
function proxy(req, res) {
  const target = new URL(req.url, PROXY);
  const up = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  up.on('error', (e) => err(res, 502, 'proxy_error', e.message));
  req.pipe(up);
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/') return serveStatic(req, res, 'index.html');
  if (url.pathname.startsWith('/assets/')) return serveStatic(req, res, url.pathname.slice('/assets/'.length));
  if (!url.pathname.startsWith('/api/')) return err(res, 404, 'not_found', 'no such route');
  // DANGJIAN_MOCK_WARNINGS=1: the warnings routes from this mock even in proxy mode.
  if (PROXY && !(process.env.DANGJIAN_MOCK_WARNINGS && url.pathname.startsWith('/api/v1/warnings'))) return proxy(req, res);
  const auth = (req.headers.authorization || '').replace(/^Bearer /, '');
  const caller = TOKENS[auth];
  if (!caller) return err(res, 401, 'unauthorized', 'unknown token');
  let body = '';
  for await (const chunk of req) body += chunk;
  const p = url.pathname;
  if (p === '/api/v1/whoami') return send(res, 200, caller);
  if (p === '/api/v1/dashboards') {
    return send(res, 200, { dashboards: Object.values(SPECS).map((d) => ({ id: d.id, title: d.title, level: d.level, description: d.description, panels: d.panels.length })) });
  }
  const dm = p.match(/^\/api\/v1\/dashboards\/([a-z_]+)$/);
  if (dm) {
    const orgId = url.searchParams.get('org') || caller.scope;
    const org = orgs.get(orgId);
    if (!org) return err(res, 404, 'unknown_org', `no org ${orgId}`);
    if (!inScope(caller.scope, orgId)) return err(res, 403, 'forbidden', `org ${orgId} is outside your scope ${caller.scope}`);
    const spec = SPECS[dm[1]];
    if (!spec) return err(res, 404, 'unknown_dashboard', `no dashboard ${dm[1]}`);
    const to = url.searchParams.get('to') || '2026-11';
    const from = url.searchParams.get('from') || '2025-12';
    return send(res, 200, {
      id: dm[1], title: spec.title, level: spec.level,
      org: { ...brief(org), path: pathOf(orgId), children: children(orgId).map(brief) },
      period: { from, to }, as_of: null, source: 'materialised', freshness: '2026-11-25T02:00:00Z', panels: panels(org, from, to, spec),
    });
  }
  if (p === '/api/v1/warnings') {
    const q = url.searchParams;
    const root = q.get('org') || caller.scope;
    if (!inScope(caller.scope, root)) return err(res, 403, 'forbidden', 'outside your scope');
    const list = warnings.filter((w) => inScope(root, w.org_id) && (!q.get('status') || q.get('status') === 'all' || w.status === q.get('status'))
      && (!q.get('severity') || w.severity === q.get('severity')) && (!q.get('rule') || w.rule === q.get('rule')));
    return send(res, 200, { warnings: list });
  }
  const am = p.match(/^\/api\/v1\/warnings\/([^/]+)\/ack$/);
  if (am && req.method === 'POST') {
    const w = warnings.find((x) => x.warning_id === decodeURIComponent(am[1]));
    if (!w) return err(res, 404, 'not_found', 'no such warning');
    if (!['admin', 'secretary'].includes(caller.role) || !inScope(caller.scope, w.org_id)) return err(res, 403, 'forbidden', 'not your warning');
    if (w.status !== 'open') return err(res, 409, 'already_acknowledged', 'already acknowledged');
    Object.assign(w, { status: 'acknowledged', acknowledged_at: new Date().toISOString(), acknowledged_by: caller.name, note: body ? JSON.parse(body).note ?? null : null });
    return send(res, 200, w);
  }
  if (p === '/api/v1/queries') {
    return send(res, 200, { queries: [
      { name: 'people', kind: 'view', title: '人员', description: 'people and stages', sql: 'SELECT * FROM people LIMIT 100' },
      { name: 'dues_monthly', kind: 'metric', title: '党费按月缴纳率', description: 'dues', sql: 'SELECT * FROM dues_monthly LIMIT 100' },
      { name: 'chi2_grade_rating', kind: 'stat', title: '年级与民主评议结果的卡方检验', description: 'chi2', sql: 'SELECT * FROM chi2_grade_rating LIMIT 100' },
    ] });
  }
  if (p === '/api/v1/sql') {
    if (!['admin', 'leader', 'analyst'].includes(caller.role)) return err(res, 403, 'forbidden', 'the role may not run SQL');
    if (/^\s*drop/i.test(body)) return err(res, 400, 'read_only', 'only queries are allowed: DROP TABLE is not');
    if (/no_?such|syntax/i.test(body)) return err(res, 400, 'sql_error', "Error during planning: table 'no_such_table' not found");
    let rows = Array.from({ length: /LIMIT 100/.test(body) ? 100 : 120 }, (_, i) => ({ n: i + 1, stage: ['applicant', 'activist'][i % 2] }));
    if (/FROM orgs/i.test(body)) rows = [...orgs.values()].filter((o) => o.kind === 'college').map((o) => ({ org_id: o.org_id }));
    if (/GROUP BY stage/i.test(body)) rows = [{ stage: 'activist', people: 60 }, { stage: 'applicant', people: 60 }];
    const columns = Object.keys(rows[0]);
    if (url.searchParams.get('format') === 'csv') return send(res, 200, `${columns.join(',')}\n${rows.map((r) => columns.map((c) => r[c]).join(',')).join('\n')}\n`, 'text/csv; charset=utf-8');
    return send(res, 200, { columns: columns.map((name) => ({ name, type: 'Utf8' })), rows, row_count: rows.length, truncated: false, elapsed_ms: 3.2, events_version: 1 });
  }
  return err(res, 404, 'not_found', 'no such route');
});

server.listen(port, '127.0.0.1', async () => {
  if (PROXY) { console.log(`files from ${webDir}, API from ${PROXY}, on http://127.0.0.1:${port}`); return; }
  await writeFile(tokensFile, JSON.stringify(Object.entries(TOKENS).map(([token, c]) => ({ name: c.name, role: c.role, org: c.scope, token })), null, 2));
  console.log(`mock dangjian on http://127.0.0.1:${port}, tokens in ${tokensFile}`);
});
