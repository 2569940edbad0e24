// A stand-in for `dangjian` when developing the page without the binary: serves
// dashboards/web/ the way the binary does (`/` → index.html, `/assets/<path>`) and answers the
// API routes the page uses with the documented shapes and made-up figures that depend on the
// org and the period. Not used by the test suite, which runs against the real binary; run it
// with `node tests/web/mock-server.mjs [port] [tokens.json]` and point DANGJIAN_URL at it to
// try the tests.

import http from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
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

function panels(org, from, to) {
  const k = `${org.org_id}|${from}|${to}`;
  const ms = months(from, to);
  const kids = children(org.org_id).filter((c) => c.kind !== 'group');
  const units = kids.length ? kids : [org];
  const size = { university: 2400, college: 600, branch: 150, group: 70 }[org.kind];
  const stages = ['applicant', 'activist', 'development_target', 'probationary', 'full_member'];
  const p = (id, title, model, chart, dimensions, measures, rows) => ({
    id, title, model, chart, dimensions, measures, columns: rows[0] ? Object.keys(rows[0]) : [...dimensions, ...measures], rows, error: null,
  });
  const list = [
    p('kpi_members', '党员总数', 'members_by_stage', 'kpi', ['month'], ['members'], ms.map((m, i) => ({ month: m, members: Math.round(size * (0.9 + i * 0.01 + rnd(k + m) * 0.02)) }))),
    p('kpi_dues', '党费缴纳率', 'dues_monthly', 'kpi', ['month'], ['paid_share'], ms.map((m) => ({ month: m, paid_share: 0.85 + rnd(`${k}d${m}`) * 0.14 }))),
    p('kpi_attendance', '参会率', 'attendance_rates', 'kpi', ['month'], ['attendance_rate'], ms.map((m) => ({ month: m, attendance_rate: 0.78 + rnd(`${k}a${m}`) * 0.2 }))),
    p('kpi_study', '人均学习分钟', 'study_monthly', 'kpi', ['month'], ['avg_minutes'], ms.map((m) => ({ month: m, avg_minutes: Math.round(120 + rnd(`${k}s${m}`) * 200) }))),
    p('funnel', '党员发展漏斗', 'members_by_stage', 'funnel', ['stage'], ['members'], stages.map((s, i) => ({ stage: s, stage_order: i + 1, members: Math.round(size * [0.5, 0.3, 0.1, 0.08, 1][i] * (0.8 + rnd(k + s) * 0.4)) }))),
    p('dues_by_org', '党费缴纳率（下级组织）', 'dues_monthly', 'bar', ['org_name'], ['paid_share'], units.map((u) => ({ org_id: u.org_id, org_name: u.name, paid_share: 0.8 + rnd(k + u.org_id) * 0.2 }))),
    p('compliance', '三会一课落实（支部 × 月）', 'meeting_compliance', 'heatmap', ['period', 'org_name'], ['compliance_rate'],
      units.flatMap((u) => ms.map((m) => ({ org_id: u.org_id, org_name: u.name, period: m, compliance_rate: Math.round(rnd(k + u.org_id + m) * 4) / 4 })))),
    p('attendance', '组织生活参会率', 'attendance_rates', 'line', ['month'], ['attendance_rate'], ms.map((m) => ({ month: m, attendance_rate: 0.75 + rnd(`${k}at${m}`) * 0.2 }))),
    p('study', '人均学习时长（分钟）', 'study_monthly', 'line', ['month'], ['avg_minutes'], ms.map((m) => ({ month: m, avg_minutes: Math.round(100 + rnd(`${k}st${m}`) * 200) }))),
    p('quiz', '在线测试成绩分布', 'quiz_stats', 'bar', ['org_name'], ['mean', 'stddev'], units.map((u) => ({ org_id: u.org_id, org_name: u.name, mean: 70 + rnd(`${k}q${u.org_id}`) * 20, stddev: 6 + rnd(`${k}qs${u.org_id}`) * 8 }))),
    p('anova_quiz', '支部间测试成绩方差分析', 'anova_quiz_by_college', 'stat', [], ['f', 'p_value'], org.kind === 'branch' ? [] : [{ org_name: org.name, year: Number(to.slice(0, 4)), f: 1 + rnd(`${k}f`) * 5, df_between: units.length - 1, df_within: 400, p_value: rnd(`${k}pf`) * 0.1, eta_squared: rnd(`${k}e`) * 0.1, n: 404 }]),
    p('chi2_grade_rating', '年级与评议结果卡方检验', 'chi2_grade_rating', 'stat', [], ['chi2', 'p_value'], org.kind === 'branch' ? [] : [{ org_name: org.name, year: Number(to.slice(0, 4)), chi2: 10 + rnd(`${k}c`) * 20, dof: 9, p_value: rnd(`${k}pc`) * 0.3, cramers_v: rnd(`${k}v`) * 0.3, n: 800, min_expected: 2.4, cells_below_5: 3, reliable: false }]),
    p('chi2_branch_attendance', '支部与参会情况卡方检验', 'chi2_branch_attendance', 'stat', [], ['chi2', 'p_value'], org.kind === 'branch' ? [] : [{ org_name: org.name, year: Number(to.slice(0, 4)), chi2: 40 + rnd(`${k}c2`) * 20, dof: 6, p_value: 0.0004, cramers_v: 0.12, n: 5000, min_expected: 40.1, cells_below_5: 0, reliable: true }]),
    p('evaluation', '民主评议结果分布', 'evaluation_distribution', 'pie', ['rating'], ['members'], ['excellent', 'qualified', 'basically_qualified', 'unqualified'].map((r, i) => ({ rating: r, members: Math.round(size * [0.3, 0.6, 0.08, 0.02][i]) }))),
    p('member_score', '党员综合评价得分分布', 'member_score', 'bar', ['band'], ['members'], ['<60', '60–70', '70–80', '80–90', '≥90'].map((b, i) => ({ band: b, members: Math.round(size * [0.03, 0.12, 0.35, 0.38, 0.12][i] * (0.9 + rnd(k + b) * 0.2)) }))),
  ];
  if (org.kind === 'branch' || org.kind === 'group') {
    list.push(p('members', '党员情况', 'member_score', 'table', ['member_id'], ['total_score'],
      Array.from({ length: 12 }, (_, i) => ({ member_id: `${org.org_id}-M${String(i + 1).padStart(3, '0')}`, stage: stages[i % 5], total_score: 60 + rnd(`${k}m${i}`) * 40, dues: 100, attendance: 70 + rnd(`${k}ma${i}`) * 30 }))));
  }
  return list;
}

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
  if (PROXY) return proxy(req, res);
  const auth = (req.headers.authorization || '').replace(/^Bearer /, '');
  const caller = TOKENS[auth];
  if (!caller) return err(res, 401, 'unauthorized', 'unknown token');
  let body = '';
  for await (const chunk of req) body += chunk;
  const p = url.pathname;
  if (p === '/api/v1/whoami') return send(res, 200, caller);
  if (p === '/api/v1/dashboards') {
    return send(res, 200, { dashboards: [
      { id: 'university', title: '全校总览', level: 'university', description: '', panels: 15 },
      { id: 'college', title: '学院党建驾驶舱', level: 'college', description: '', panels: 15 },
      { id: 'branch', title: '支部党建驾驶舱', level: 'branch', description: '', panels: 16 },
    ] });
  }
  const dm = p.match(/^\/api\/v1\/dashboards\/([a-z_]+)$/);
  if (dm) {
    const orgId = url.searchParams.get('org') || caller.scope;
    const org = orgs.get(orgId);
    if (!org) return err(res, 404, 'unknown_org', `no org ${orgId}`);
    if (!inScope(caller.scope, orgId)) return err(res, 403, 'forbidden', `org ${orgId} is outside your scope ${caller.scope}`);
    const to = url.searchParams.get('to') || '2026-11';
    const from = url.searchParams.get('from') || '2025-12';
    return send(res, 200, {
      id: dm[1], title: '党建驾驶舱', level: org.kind,
      org: { ...brief(org), path: pathOf(orgId), children: children(orgId).map(brief) },
      period: { from, to }, as_of: null, source: 'materialised', freshness: '2026-11-25T02:00:00Z', panels: panels(org, from, to),
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
      { name: 'people', kind: 'view', title: '人员', description: 'people and stages', sql: 'CREATE VIEW people AS …' },
      { name: 'dues_monthly', kind: 'metric', title: '党费按月缴纳率', description: 'dues', sql: 'SELECT …' },
      { name: 'chi2_grade_rating', kind: 'stat', title: '年级与民主评议结果的卡方检验', description: 'chi2', sql: 'SELECT …' },
    ] });
  }
  if (p === '/api/v1/sql') {
    if (!['admin', 'leader', 'analyst'].includes(caller.role)) return err(res, 403, 'forbidden', 'the role may not run SQL');
    if (/^\s*drop/i.test(body)) return err(res, 400, 'read_only', 'only queries are allowed: DROP TABLE is not');
    if (/no_?such|syntax/i.test(body)) return err(res, 400, 'sql_error', "Error during planning: table 'no_such_table' not found");
    const rows = Array.from({ length: 120 }, (_, i) => ({ n: i + 1, stage: ['applicant', 'activist'][i % 2] }));
    if (url.searchParams.get('format') === 'csv') return send(res, 200, `n,stage\n${rows.map((r) => `${r.n},${r.stage}`).join('\n')}\n`, 'text/csv; charset=utf-8');
    return send(res, 200, { columns: [{ name: 'n', type: 'Int64' }, { name: 'stage', type: 'Utf8' }], rows, row_count: rows.length, truncated: false, elapsed_ms: 3.2, events_version: 1 });
  }
  return err(res, 404, 'not_found', 'no such route');
});

server.listen(port, '127.0.0.1', async () => {
  if (PROXY) { console.log(`files from ${webDir}, API from ${PROXY}, on http://127.0.0.1:${port}`); return; }
  await writeFile(tokensFile, JSON.stringify(Object.entries(TOKENS).map(([token, c]) => ({ name: c.name, role: c.role, org: c.scope, token })), null, 2));
  console.log(`mock dangjian on http://127.0.0.1:${port}, tokens in ${tokensFile}`);
});
