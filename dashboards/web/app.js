// 党建驾驶舱 — the web cockpit of dangjian.
//
// Plain ES module, no framework, no build step. Pages are hash routes:
//   #/signin                                  sign in with a bearer token (kept in sessionStorage)
//   #/cockpit?org=C01&from=2026-01&to=2026-11[&refresh=60]
//                                             the big screen; drill-down by org, period picker
//   #/warnings?status=open&severity=&rule=&org=&id=
//                                             warnings in the caller's scope, detail, acknowledge
//   #/sql                                     SQL console (admin, leader, analyst)
// Every request carries `Authorization: Bearer <token>`; the server decides what the caller may
// see, the page only hides what the role cannot use. Charts are Apache ECharts (vendored, global
// `echarts`). For the browser tests the page marks its state on <body>: data-view (the page) and
// data-state (loading | ready | error), and window.__dj holds the cockpit's timings.

const TOKEN_KEY = 'dangjian.token';
const SQL_ROLES = ['admin', 'leader', 'analyst'];
const ACK_ROLES = ['admin', 'secretary'];
const PAGE_ROWS = 50;

// ---------------------------------------------------------------------------------------------
// Labels (user-facing text is Chinese; codes stay in the data)

const VALUE_LABELS = {
  stage: {
    none: '仅登记', applicant: '入党申请人', activist: '入党积极分子',
    development_target: '发展对象', probationary: '预备党员', full_member: '正式党员',
  },
  rating: { excellent: '优秀', qualified: '合格', basically_qualified: '基本合格', unqualified: '不合格' },
  severity: { notice: '提示', warning: '预警', critical: '严重' },
  status: {
    open: '待处理', acknowledged: '已确认', resolved: '已解除', escalated: '已上报',
    present: '出席', excused: '请假', absent: '缺席',
  },
  kind: {
    branch_assembly: '支部党员大会', committee: '支委会', group: '党小组会', lecture: '党课',
    theme_day: '主题党日', life_meeting: '组织生活会',
    university: '学校党委', college: '学院党委', branch: '党支部',
  },
  gender: { male: '男', female: '女', M: '男', F: '女', m: '男', f: '女' },
  period_kind: { month: '月', quarter: '季度', half_year: '半年', year: '年' },
  metric: { attendance_rate: '参会率', dues_paid_share: '党费缴纳率', paid_share: '党费缴纳率' },
  dimension: { all: '全部', grade: '年级', gender: '性别' },
  level: { university: '学校', college: '学院', branch: '支部', group: '党小组', member: '党员' },
};
VALUE_LABELS.attendance_status = VALUE_LABELS.status;
VALUE_LABELS.meeting_kind = VALUE_LABELS.kind;
VALUE_LABELS.org_kind = VALUE_LABELS.kind;
VALUE_LABELS.to_stage = VALUE_LABELS.stage;

const COLUMN_LABELS = {
  org_id: '组织编号', org_name: '组织', org_kind: '组织类型', parent_id: '上级组织', branch_name: '支部',
  college_name: '学院', member_id: '党员编号', member_name: '姓名', name: '名称', subject: '对象',
  month: '月份', period: '期间', period_kind: '周期', year: '年度', grade: '年级', gender: '性别',
  stage: '发展阶段', stage_order: '阶段序号', members: '人数', reached: '累计人数', admissions: '发展人数',
  members_due: '应缴人数', members_paid: '已缴人数', members_paid_on_time: '按时缴纳人数',
  paid_share: '党费缴纳率', on_time_share: '按时缴纳率', months_owed: '欠缴月数',
  kind: '类型', meeting_kind: '会议类型', required: '应开', held: '已开', branches: '支部数',
  branches_compliant: '达标支部', compliant: '达标', compliance_rate: '三会一课达标率',
  invited: '应到人次', present: '出席', excused: '请假', absent: '缺席', attendance_rate: '参会率',
  minutes: '学习分钟', avg_minutes: '人均学习分钟', members_studied: '参学人数', sessions: '学习次数',
  quizzes: '测试次数', takers: '参测人数', mean: '平均分', mean_score: '平均分', variance: '方差',
  stddev: '标准差', min: '最低', max: '最高', spread: '极差', min_score: '最低分', max_score: '最高分',
  rated: '参评人数', rating: '评议结果', excellent: '优秀', qualified: '合格',
  basically_qualified: '基本合格', unqualified: '不合格', excellent_share: '优秀占比',
  excellent_within_limit: '优秀比例合规', total_score: '综合得分', score: '得分', avg_score: '平均综合得分',
  score_band: '得分区间', band: '得分区间', dues: '党费', attendance: '参会', study: '学习', quiz: '测试',
  evaluation: '评议', interaction: '互动', posts: '发帖', comments: '评论', likes: '点赞',
  index: '互动指数', avg_index: '人均互动指数', severity: '严重程度', warnings: '预警数',
  open_warnings: '待处理预警', count: '数量', rule: '规则', status: '状态',
  chi2: 'χ²', dof: '自由度', p_value: 'p 值', cramers_v: "Cramér's V", n: '样本量',
  min_expected: '最小期望频数', cells_below_5: '期望频数<5的格数', reliable: '近似可靠',
  f: 'F', df_between: '组间自由度', df_within: '组内自由度', eta_squared: 'η²', grades: '年级数',
  ratings: '评议等级数', metric: '指标', in_progress: '进行中',
  owing_0: '未欠缴', owing_1_2: '欠缴1–2个月', owing_3_5: '欠缴3–5个月', owing_6_plus: '欠缴6个月及以上',
  converted_on_time: '按期转正', converted_late: '逾期转正', overdue: '逾期未转正', pending: '预备期中',
  band_label: '得分区间', mean_score: '平均分', last_paid_period: '最近缴费月份', level: '层级',
  dues_score: '党费', attendance_score: '参会', study_score: '学习', quiz_score: '测试',
  evaluation_score: '评议', interaction_score: '互动', weight_used: '权重合计', members_active: '活跃人数',
  first_due_month: '起缴月份', period_start: '期间', period_end: '期末',
};
// Where one column name means different things in different models.
const MODEL_LABELS = {
  admissions_yearly: { on_time_share: '按期转正率', members: '人数' },
  quiz_stats: { members: '参测人数' },
  rate_spread: { mean: '均值', stddev: '标准差', spread: '极差' },
};

const SEVERITY_COLORS = { notice: '#4aa3df', warning: '#f0b429', critical: '#e5484d' };
const PALETTE = ['#e5484d', '#f0b429', '#4aa3df', '#3fb27f', '#a77bf3', '#ff8a4c', '#2ec4b6', '#f06595', '#94a3b8'];

const label = (column, model) => (MODEL_LABELS[model] && MODEL_LABELS[model][column]) || COLUMN_LABELS[column] || column;
function valueLabel(column, value) {
  if (value === null || value === undefined) return '—';
  const map = VALUE_LABELS[column];
  if (map && Object.prototype.hasOwnProperty.call(map, value)) return map[value];
  return String(value);
}
const isShareColumn = (c) => /(^|_)(share|rate|ratio|pct_share)$/.test(c) || c === 'cramers_v_share';

// ---------------------------------------------------------------------------------------------
// Formatting

const intFmt = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 0 });
const decFmt = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 2 });

function fmtNumber(column, value) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? '是' : '否';
  if (typeof value !== 'number') {
    const n = Number(value);
    if (!Number.isFinite(n) || typeof value === 'string' && value.trim() === '') return valueLabel(column, value);
    value = n;
  }
  if (column === 'p_value') return fmtP(value);
  if (/^(year|grade|month|period)$|_id$/.test(column)) return String(value);
  if (isShareColumn(column)) return `${(value * 100).toFixed(1)}%`;
  if (Number.isInteger(value)) return intFmt.format(value);
  return decFmt.format(value);
}
/**
 * Text for a tooltip. Tooltips are drawn as ECharts rich text on the canvas
 * (`renderMode: 'richText'`), never as HTML, so an org or series name — which secretaries
 * write — cannot become markup, and the page needs no inline style under its CSP. Braces
 * are rich-text syntax: shown as full-width ones.
 */
function plain(value) {
  return (value === null || value === undefined ? '' : String(value)).replace(/\{/g, '｛').replace(/\}/g, '｝');
}
function fmtP(p) {
  if (p === null || p === undefined) return '—';
  if (p < 0.001) return '< 0.001';
  return p.toFixed(3);
}
function fmtCell(column, value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number' || typeof value === 'boolean') return fmtNumber(column, value);
  if (typeof value === 'object') return JSON.stringify(value);
  return valueLabel(column, value);
}
function fmtTime(iso) {
  if (!iso) return '—';
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso.replace(/-/g, '/'); // a day, not an instant
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}
function fmtAge(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  const mins = Math.round((serverNow() - d.getTime()) / 60000);
  if (mins < 0) return '';
  if (mins < 1) return '刚刚';
  if (mins < 60) return `${mins} 分钟前`;
  if (mins < 48 * 60) return `${Math.round(mins / 60)} 小时前`;
  return `${Math.round(mins / 1440)} 天前`;
}

// ---------------------------------------------------------------------------------------------
// Small DOM helper

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const $view = () => document.getElementById('view');
function setState(view, state) {
  document.body.dataset.view = view;
  document.body.dataset.state = state;
}

// ---------------------------------------------------------------------------------------------
// API

class ApiError extends Error {
  constructor(status, key, message, field) {
    super(message || key || `HTTP ${status}`);
    this.status = status;
    this.key = key || `http_${status}`;
    this.field = field;
  }
}

const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  set token(t) { if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY); },
  me: null,
};

async function api(path, { method = 'GET', body, headers = {}, raw = false, signingIn = false } = {}) {
  const res = await fetch(path, {
    method,
    body,
    headers: { Authorization: `Bearer ${session.token}`, ...headers },
  });
  if (res.status === 401 && !signingIn) {
    session.token = null;
    session.me = null;
    const err = await readError(res);
    location.hash = '#/signin?expired=1';
    throw err;
  }
  if (!res.ok) throw await readError(res);
  if (raw) return res;
  return res.json();
}
async function readError(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  if (body && typeof body === 'object') return new ApiError(res.status, body.error, body.message, body.field);
  return new ApiError(res.status, null, `服务器返回 ${res.status}`);
}
function errorBox(err, extra) {
  const box = h('div', { class: 'error-box', role: 'alert' },
    h('strong', { text: err.status === 403 ? '无权访问' : '出错了' }),
    h('code', { class: 'error-key', text: err.key || 'error' }),
    h('span', { class: 'error-message', text: err.message }));
  if (err.field) box.append(h('span', { class: 'error-field', text: `字段：${err.field}` }));
  if (extra) box.append(extra);
  return box;
}

async function whoami(signingIn = false) {
  if (session.me) return session.me;
  const me = await api('/api/v1/whoami', { signingIn });
  // The server names the scope `scope`; accept `org` too.
  me.scope = me.scope || me.org;
  // The server's clock is the page's: a server pinned to a day (clock.today) shows the
  // same ages and default periods on any machine.
  const serverMs = Date.parse(me.now || '');
  session.skewMs = Number.isNaN(serverMs) ? 0 : serverMs - Date.now();
  session.me = me;
  return me;
}

/** Now by the server's clock (see whoami), in milliseconds. */
function serverNow() {
  return Date.now() + (session.skewMs || 0);
}

// ---------------------------------------------------------------------------------------------
// Router

let teardown = null; // disposes the current page (charts, timers)

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?');
  return { route: path || '', params: new URLSearchParams(query || '') };
}
function routeHash(route, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return `#/${route}${s ? `?${s}` : ''}`;
}
function go(route, params = {}) { location.hash = routeHash(route, params); }

async function router() {
  if (teardown) { teardown(); teardown = null; }
  const { route, params } = parseHash();
  if (route === 'signin' || !session.token) {
    if (route !== 'signin') { go('signin'); return; }
    renderNav(null);
    return signinPage(params);
  }
  let me;
  try {
    me = await whoami();
  } catch (err) {
    if (err.status !== 401) { setState('error', 'error'); $view().replaceChildren(errorBox(err)); }
    return;
  }
  renderNav(me, route);
  switch (route) {
    case 'cockpit': return me.role === 'producer' ? noAccessPage('驾驶舱') : cockpitPage(me, params);
    case 'warnings': return me.role === 'producer' ? noAccessPage('预警') : warningsPage(me, params);
    case 'sql': return SQL_ROLES.includes(me.role) ? sqlPage(me) : noAccessPage('SQL 控制台');
    default: go(defaultRoute(me));
  }
}
function defaultRoute(me) {
  if (me.role === 'secretary') return 'warnings';
  if (me.role === 'producer') return 'none';
  return 'cockpit';
}

function renderNav(me, route) {
  const nav = document.getElementById('nav');
  const signout = document.getElementById('signout');
  document.getElementById('who-name').textContent = me ? `${me.name} · ${roleLabel(me.role)} · ${me.scope}` : '';
  nav.hidden = !me;
  signout.hidden = !me;
  if (!me) { document.getElementById('org-name').textContent = ''; document.getElementById('freshness').textContent = ''; return; }
  for (const a of nav.querySelectorAll('a')) {
    const roles = a.dataset.roles ? a.dataset.roles.split(' ') : null;
    const hidden = (roles && !roles.includes(me.role)) || me.role === 'producer';
    a.hidden = hidden;
    a.classList.toggle('active', a.dataset.route === route);
  }
  if (route !== 'cockpit') document.getElementById('freshness').textContent = '';
}
function roleLabel(role) {
  return { admin: '管理员', leader: '领导', analyst: '分析员', secretary: '书记', producer: '数据接入' }[role] || role;
}
function noAccessPage(what) {
  setState('forbidden', 'ready');
  $view().replaceChildren(h('div', { class: 'page-message' },
    h('h2', { text: '无权访问' }), h('p', { text: `当前角色不能使用${what}。` })));
}

// ---------------------------------------------------------------------------------------------
// Sign-in

function signinPage(params) {
  setState('signin', 'ready');
  const input = h('textarea', { id: 'token', rows: 2, placeholder: '粘贴访问令牌（token）', autocomplete: 'off', spellcheck: 'false' });
  const msg = h('p', { id: 'signin-error', class: 'form-error', role: 'alert' });
  if (params.get('expired')) msg.textContent = '登录已失效，请重新输入令牌。';
  const submit = async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) { msg.textContent = '请输入令牌。'; return; }
    session.token = token;
    session.me = null;
    try {
      const me = await whoami(true);
      go(defaultRoute(me));
    } catch (err) {
      session.token = null;
      msg.textContent = err.status === 401 ? '令牌无效。' : `登录失败：${err.message}`;
    }
  };
  const form = h('form', { class: 'signin', onsubmit: submit },
    h('h2', { text: '登录党建驾驶舱' }),
    h('label', { for: 'token', text: '访问令牌' }), input,
    h('button', { id: 'signin-btn', type: 'submit', class: 'primary', text: '登录' }), msg,
    h('p', { class: 'hint', text: '令牌只保存在本浏览器会话中，关闭标签页即失效。' }));
  $view().replaceChildren(form);
  input.focus();
}

// ---------------------------------------------------------------------------------------------
// Periods: month / quarter / year / custom, as inclusive month ranges `YYYY-MM`

const pad2 = (n) => String(n).padStart(2, '0');
const ym = (y, m) => `${y}-${pad2(m)}`;
function periodMode(from, to) {
  if (!from || !to) return 'custom';
  const [fy, fm] = from.split('-').map(Number);
  const [ty, tm] = to.split('-').map(Number);
  if (from === to) return 'month';
  if (fy === ty && fm === 1 && tm === 12) return 'year';
  if (fy === ty && (fm - 1) % 3 === 0 && tm === fm + 2) return 'quarter';
  return 'custom';
}
function periodText(from, to) {
  if (!from || !to) return '';
  const mode = periodMode(from, to);
  const [fy, fm] = from.split('-').map(Number);
  if (mode === 'month') return `${fy}年${fm}月`;
  if (mode === 'quarter') return `${fy}年第${(fm + 2) / 3}季度`;
  if (mode === 'year') return `${fy}年`;
  return `${from} 至 ${to}`;
}

function periodPicker(period, onChange) {
  const from = period.from || '';
  const to = period.to || '';
  const mode = periodMode(from, to);
  const [fy, fm] = (from || ym(new Date(serverNow()).getFullYear(), 1)).split('-').map(Number);
  const modeSel = h('select', { id: 'period-mode', 'aria-label': '周期' },
    ...[['month', '月'], ['quarter', '季度'], ['year', '年'], ['custom', '自定义']].map(([v, t]) =>
      h('option', { value: v, selected: v === mode, text: t })));
  const month = h('input', { id: 'period-month', type: 'month', value: to || from, 'aria-label': '月份' });
  const year = h('input', { id: 'period-year', type: 'number', min: 2000, max: 2100, value: fy, 'aria-label': '年份' });
  const quarter = h('select', { id: 'period-quarter', 'aria-label': '季度' },
    ...[1, 2, 3, 4].map((q) => h('option', { value: q, selected: Math.ceil(fm / 3) === q, text: `第${q}季度` })));
  const cFrom = h('input', { id: 'period-from', type: 'month', value: from, 'aria-label': '起始月' });
  const cTo = h('input', { id: 'period-to', type: 'month', value: to, 'aria-label': '截止月' });
  const apply = h('button', { id: 'period-apply', type: 'button', text: '应用' });
  const groups = {
    month: h('span', { class: 'pp-group', dataset: { mode: 'month' } }, month),
    quarter: h('span', { class: 'pp-group', dataset: { mode: 'quarter' } }, year.cloneNode(), quarter),
    year: h('span', { class: 'pp-group', dataset: { mode: 'year' } }, year),
    custom: h('span', { class: 'pp-group', dataset: { mode: 'custom' } }, cFrom, h('span', { text: '至' }), cTo),
  };
  // The quarter group has its own year input (a node lives in one place only).
  const qYear = groups.quarter.firstChild;
  qYear.id = 'period-qyear';
  qYear.value = fy;
  const show = () => { for (const [m, g] of Object.entries(groups)) g.hidden = m !== modeSel.value; };
  modeSel.addEventListener('change', show);
  show();
  apply.addEventListener('click', () => {
    const m = modeSel.value;
    let range = null;
    if (m === 'month' && month.value) range = [month.value, month.value];
    if (m === 'quarter' && qYear.value) {
      const q = Number(quarter.value);
      range = [ym(qYear.value, q * 3 - 2), ym(qYear.value, q * 3)];
    }
    if (m === 'year' && year.value) range = [ym(year.value, 1), ym(year.value, 12)];
    if (m === 'custom' && cFrom.value && cTo.value) range = cFrom.value <= cTo.value ? [cFrom.value, cTo.value] : [cTo.value, cFrom.value];
    if (range) onChange({ from: range[0], to: range[1] });
  });
  return h('div', { class: 'period-picker', id: 'period-picker' },
    h('span', { class: 'pp-label', text: '统计周期' }), modeSel, ...Object.values(groups), apply);
}

// ---------------------------------------------------------------------------------------------
// Cockpit

let dashboardList = null;
let firstPaint = true; // the first cockpit drawn since the page loaded
async function dashboards() {
  if (!dashboardList) dashboardList = (await api('/api/v1/dashboards')).dashboards || [];
  return dashboardList;
}
function pickDashboard(list, kind) {
  const by = (pred) => list.find(pred);
  return by((d) => d.level === kind) || by((d) => d.id === kind)
    || (kind === 'group' ? by((d) => d.level === 'branch') : null)
    || by((d) => d.level === 'any' && d.id !== 'statistics') || list[0];
}

const dashQuery = (q) => {
  const s = new URLSearchParams();
  for (const k of ['org', 'from', 'to', 'as_of']) if (q[k]) s.set(k, q[k]);
  return s.toString();
};

// The dashboard of the org's level (and, on the main board, the chi-square and ANOVA panels of
// `statistics` it lacks), or the `statistics` board itself.
async function fetchCockpit(q, me) {
  const list = await dashboards();
  const stats = list.find((d) => d.id === 'statistics');
  const onStats = q.board === 'statistics' && stats;
  // The level is known only from the answer: guess it from the id, re-ask if the guess was wrong.
  const guessKind = kindOfId(q.org || me.scope) || 'university';
  let main = onStats ? stats : pickDashboard(list, guessKind);
  if (!main) throw new ApiError(404, 'no_dashboard', '服务器没有配置驾驶舱');
  const wantStats = (kind) => !onStats && stats && stats.id !== main.id && (kind === 'university' || kind === 'college');
  const getStats = (kind) => (wantStats(kind)
    ? api(`/api/v1/dashboards/${stats.id}?${dashQuery(q)}`).catch((err) => ({ error: err }))
    : Promise.resolve(null));
  let [data, statData] = await Promise.all([api(`/api/v1/dashboards/${main.id}?${dashQuery(q)}`), getStats(guessKind)]);
  const kind = data.org && data.org.kind;
  const better = onStats ? main : pickDashboard(list, kind);
  if (better && better.id !== main.id) {
    main = better;
    const q2 = { ...q, org: data.org.org_id };
    [data, statData] = await Promise.all([
      api(`/api/v1/dashboards/${main.id}?${dashQuery(q2)}`),
      statData || (wantStats(kind) ? api(`/api/v1/dashboards/${stats.id}?${dashQuery(q2)}`).catch((err) => ({ error: err })) : null),
    ]);
  }
  if (!wantStats(kind)) statData = null;
  const panels = [...(data.panels || [])];
  if (statData && !statData.error) {
    const seen = new Set(panels.map((p) => p.model));
    for (const p of statData.panels || []) if (p.chart === 'stat' && !seen.has(p.model)) panels.push(p);
  }
  return { ...data, panels, hasStats: !!stats };
}
// The demo's ids read U, C01, C01-B01, C01-B01-G1: a guess only, the answer's org.kind decides.
function kindOfId(id) {
  if (/^C\d+-B\d+-G\d+$/.test(id)) return 'group';
  if (/^C\d+-B\d+$/.test(id)) return 'branch';
  if (/^C\d+$/.test(id)) return 'college';
  return null;
}

function cockpitPage(me, params) {
  const q = {
    org: params.get('org') || '', from: params.get('from') || '', to: params.get('to') || '',
    as_of: params.get('as_of') || '', refresh: params.get('refresh') || sessionStorage.getItem('dangjian.refresh') || '',
    board: params.get('board') || '',
  };
  setState('cockpit', 'loading');
  const t0 = performance.now();
  window.__dj = { navStart: t0, readyAt: null, panels: 0 };
  const root = h('div', { class: 'cockpit', id: 'cockpit' });
  const head = h('div', { class: 'cockpit-head' }, h('p', { class: 'loading', text: '正在载入驾驶舱…' }));
  const kpis = h('div', { class: 'kpi-strip', id: 'kpis' });
  const grid = h('div', { class: 'panel-grid', id: 'panels' });
  root.append(head, kpis, grid);
  $view().replaceChildren(root);

  let charts = [];
  let timer = null;
  let seq = 0;
  let alive = true;
  const disposeCharts = () => { for (const c of charts) c.dispose(); charts = []; };
  const onResize = () => { for (const c of charts) c.resize(); };
  window.addEventListener('resize', onResize);
  teardown = () => {
    alive = false;
    clearInterval(timer);
    window.removeEventListener('resize', onResize);
    disposeCharts();
  };

  const navigate = (patch) => go('cockpit', { ...q, ...patch, as_of: patch.as_of ?? q.as_of });

  const load = async (quiet) => {
    const mine = ++seq;
    if (!quiet) setState('cockpit', 'loading');
    let data;
    // The open warnings are asked for beside the dashboard (for the panel drawn when the
    // dashboard has none of its own).
    const warnings = api(`/api/v1/warnings?org=${encodeURIComponent(q.org || me.scope)}&status=open`);
    warnings.catch(() => {});
    try {
      data = await fetchCockpit(q, me);
    } catch (err) {
      if (!alive || mine !== seq) return;
      if (quiet && err.status !== 403) return; // keep the screen; the next tick tries again
      disposeCharts();
      head.replaceChildren();
      kpis.replaceChildren();
      const back = h('a', { href: routeHash('cockpit', { org: me.scope, from: q.from, to: q.to }), class: 'button', text: '返回本单位' });
      grid.replaceChildren(errorBox(err, err.status === 403 ? back : null));
      document.getElementById('org-name').textContent = '';
      document.getElementById('freshness').textContent = '';
      setState('cockpit', err.status === 403 ? 'forbidden' : 'error');
      return;
    }
    if (!alive || mine !== seq) return;
    if (window.__dj.dataAt === undefined) window.__dj.dataAt = performance.now();
    // Bookmarkable: the URL names the org and the period actually shown.
    const shown = { org: data.org.org_id, from: data.period.from, to: data.period.to };
    if (shown.org !== q.org || shown.from !== q.from || shown.to !== q.to) {
      Object.assign(q, shown);
      history.replaceState(null, '', routeHash('cockpit', q));
    }
    try {
      await echartsReady;
    } catch (err) {
      grid.replaceChildren(errorBox(err));
      setState('cockpit', 'error');
      return;
    }
    if (!alive || mine !== seq) return;
    renderHead(data);
    disposeCharts();
    const drawn = renderPanels(data, warnings);
    await drawn;
    if (!alive || mine !== seq) return;
    // readyAt: since the navigation started (performance.now()'s origin); renderMs: this page's load.
    if (window.__dj.readyAt === null) {
      Object.assign(window.__dj, { readyAt: firstPaint ? performance.now() : null, renderMs: performance.now() - t0 });
      firstPaint = false;
    }
    window.__dj.panels = data.panels.length;
    setState('cockpit', 'ready');
  };

  const renderHead = (data) => {
    const org = data.org;
    document.getElementById('org-name').textContent = org.name;
    const fresh = document.getElementById('freshness');
    fresh.textContent = data.freshness
      ? `数据更新于 ${fmtTime(data.freshness)}（${fmtAge(data.freshness)}${data.source === 'live' ? '，实时' : ''}）`
      : (data.source === 'live' ? '实时数据' : '');
    if (data.as_of) fresh.textContent += ` · 回看至 ${fmtTime(data.as_of)}`;
    document.title = `${org.name} · 党建驾驶舱`;

    // Breadcrumb: orgs above the caller's scope are shown but cannot be opened.
    const path = org.path && org.path.length ? org.path : [org];
    const scopeAt = path.findIndex((p) => p.org_id === me.scope);
    const crumbs = h('nav', { class: 'breadcrumb', id: 'breadcrumb', 'aria-label': '组织层级' });
    path.forEach((p, i) => {
      if (i > 0) crumbs.append(h('span', { class: 'sep', text: '›' }));
      const current = i === path.length - 1;
      if (current || (scopeAt >= 0 && i < scopeAt)) {
        crumbs.append(h('span', { class: current ? 'crumb current' : 'crumb locked', dataset: { org: p.org_id }, text: p.name }));
      } else {
        crumbs.append(h('a', { class: 'crumb', href: routeHash('cockpit', { ...q, org: p.org_id }), dataset: { org: p.org_id }, text: p.name }));
      }
    });
    const children = org.children || [];
    const childBar = children.length
      ? h('div', { class: 'children', id: 'children' },
        h('span', { class: 'children-label', text: `下级${VALUE_LABELS.level[children[0].kind] || '组织'}` }),
        ...shorten(children.map((c) => c.name)).map((short, i) => h('a', {
          class: 'chip', href: routeHash('cockpit', { ...q, org: children[i].org_id }), title: children[i].name, dataset: { org: children[i].org_id }, text: short,
        })))
      : null;
    const refresh = h('select', { id: 'refresh', 'aria-label': '自动刷新' },
      ...[['', '不自动刷新'], ['30', '每 30 秒'], ['60', '每 1 分钟'], ['300', '每 5 分钟'], ['900', '每 15 分钟']].map(([v, t]) =>
        h('option', { value: v, selected: v === (q.refresh || ''), text: t })));
    refresh.addEventListener('change', () => {
      sessionStorage.setItem('dangjian.refresh', refresh.value);
      q.refresh = refresh.value;
      history.replaceState(null, '', routeHash('cockpit', q));
      schedule();
    });
    const boards = data.hasStats && (org.kind === 'university' || org.kind === 'college' || q.board)
      ? h('div', { class: 'boards', id: 'boards', role: 'tablist' },
        h('a', { role: 'tab', class: q.board ? '' : 'active', href: routeHash('cockpit', { ...q, board: '' }), dataset: { board: 'cockpit' }, text: '驾驶舱' }),
        h('a', { role: 'tab', class: q.board === 'statistics' ? 'active' : '', href: routeHash('cockpit', { ...q, board: 'statistics' }), dataset: { board: 'statistics' }, text: '统计分析' }))
      : null;
    head.replaceChildren(
      h('div', { class: 'head-left' }, h('div', { class: 'crumb-row' }, crumbs, boards), childBar),
      h('div', { class: 'head-right' },
        h('span', { class: 'period-text', id: 'period-text', text: periodText(data.period.from, data.period.to) }),
        periodPicker(data.period, (p) => navigate(p)), refresh));
  };

  const renderPanels = (data, warnings) => {
    const childIds = new Map((data.org.children || []).map((c) => [c.org_id, c]));
    const childNames = new Map((data.org.children || []).map((c) => [c.name, c]));
    const drill = (row, ...names) => {
      let target = null;
      if (row) for (const k of ['org_id', 'branch_id', 'college_id', 'child_id']) if (row[k] && childIds.has(row[k])) target = row[k];
      for (const name of names) {
        if (!target && name && childNames.has(name)) target = childNames.get(name).org_id;
        if (!target && name && childIds.has(name)) target = name;
      }
      if (target) navigate({ org: target });
    };
    const kpiPanels = data.panels.filter((p) => p.chart === 'kpi');
    const others = data.panels.filter((p) => p.chart !== 'kpi');
    kpis.replaceChildren(...kpiPanels.map(kpiCard));
    kpis.hidden = kpiPanels.length === 0;
    const waits = [];
    const sections = others.map((p) => {
      const { el, wait, chart } = panelSection(p, drill);
      if (chart) charts.push(chart);
      if (wait) waits.push(wait);
      return el;
    });
    if (q.board !== 'statistics' && !others.some((p) => /warning/.test(`${p.id} ${p.model}`))) {
      const { el, wait, chart } = warningsPanel(data.org.org_id, warnings);
      sections.push(el);
      waits.push(wait.then((c) => { if (c) charts.push(c); }));
    }
    grid.replaceChildren(...sections);
    // Charts are made after the nodes are in the document, so they know their size.
    for (const s of sections) if (s._draw) { const c = s._draw(); if (c) { charts.push(c); waits.push(c.__drawn); } }
    return Promise.all(waits);
  };

  function schedule() {
    clearInterval(timer);
    const secs = Number(q.refresh);
    if (secs > 0) timer = setInterval(() => load(true), secs * 1000);
  }
  schedule();
  load(false);
}

// A KPI card: the last value of the series, big, and its change from the row before.
function kpiCard(panel) {
  const card = h('section', { class: 'kpi', dataset: { panel: panel.id, chart: 'kpi' } });
  const title = h('h3', { text: panel.title });
  card.append(title);
  if (panel.error) { card.dataset.state = 'error'; card.append(h('p', { class: 'panel-error', text: panel.error })); return card; }
  const measure = (panel.measures && panel.measures[0]) || panel.columns.find((c) => typeof (panel.rows[0] || {})[c] === 'number');
  const xdim = panel.dimensions && panel.dimensions[0];
  const rows = [...(panel.rows || [])].filter((r) => r[measure] !== null && r[measure] !== undefined);
  if (xdim) rows.sort((a, b) => String(a[xdim]).localeCompare(String(b[xdim])));
  if (!rows.length) { card.dataset.state = 'empty'; card.append(h('p', { class: 'kpi-value', text: '—' }), h('p', { class: 'kpi-delta', text: '暂无数据' })); return card; }
  const last = rows[rows.length - 1];
  const prev = rows.length > 1 ? rows[rows.length - 2] : null;
  const v = Number(last[measure]);
  const share = isShareColumn(measure);
  const value = h('p', { class: 'kpi-value' }, fmtNumber(measure, v));
  let delta = '与上期持平';
  let dir = 'flat';
  if (prev) {
    const d = v - Number(prev[measure]);
    dir = d > 1e-12 ? 'up' : d < -1e-12 ? 'down' : 'flat';
    const arrow = dir === 'up' ? '▲' : dir === 'down' ? '▼' : '■';
    const mag = share ? `${Math.abs(d * 100).toFixed(1)} 个百分点` : fmtNumber(measure, Math.abs(d));
    delta = dir === 'flat' ? '与上期持平' : `${arrow} ${mag}`;
    if (!share && Number(prev[measure]) !== 0 && dir !== 'flat') delta += `（${((d / Math.abs(Number(prev[measure]))) * 100).toFixed(1)}%）`;
  } else {
    delta = '无上期数据';
  }
  card.dataset.state = 'ready';
  card.append(value,
    h('p', { class: `kpi-delta ${dir}` }, delta, prev && xdim ? h('span', { class: 'kpi-vs', text: ` 较 ${prev[xdim]}` }) : null),
    sparkline(rows.map((r) => Number(r[measure]))),
    h('p', { class: 'kpi-at', text: xdim ? `${label(measure)} · ${last[xdim]}` : label(measure) }));
  return card;
}
function sparkline(values) {
  if (values.length < 2) return null;
  const w = 160, ht = 28;
  const min = Math.min(...values), max = Math.max(...values);
  const span = max - min || 1;
  const pts = values.map((v, i) => `${((i / (values.length - 1)) * w).toFixed(1)},${(ht - 2 - ((v - min) / span) * (ht - 4)).toFixed(1)}`).join(' ');
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${ht}`);
  svg.setAttribute('class', 'spark');
  svg.setAttribute('preserveAspectRatio', 'none');
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute('points', pts);
  svg.append(line);
  return svg;
}

// One panel: a section with its title and a body; charts are drawn by `_draw` once attached.
function panelSection(panel, drill) {
  const kind = panel.chart;
  const wide = kind === 'heatmap' || kind === 'table' || (kind === 'line' && (panel.dimensions || []).length > 1);
  const el = h('section', { class: `panel chart-${kind}${wide ? ' wide' : ''}`, dataset: { panel: panel.id, chart: kind, model: panel.model || '' } },
    h('h3', { title: panel.description || '', text: panel.title }));
  // Yearly rounds (民主评议, the member score) name the round they show.
  if (panel.note) el.append(h('p', { class: 'panel-note', text: panel.note }));
  const body = h('div', { class: 'panel-body' });
  el.append(body);
  if (panel.error) {
    el.dataset.state = 'error';
    body.append(h('p', { class: 'panel-error', text: `载入失败：${panel.error}` }));
    return { el };
  }
  const rows = panel.rows || [];
  if (!rows.length) {
    el.dataset.state = 'empty';
    body.append(h('p', { class: 'panel-empty', text: '本期暂无数据' }));
    return { el };
  }
  if (kind === 'stat') { body.append(statView(panel)); el.dataset.state = 'ready'; return { el }; }
  const build = CHARTS[kind];
  if (!build || kind === 'table') { body.append(tableView(panel.columns, rows, 200, panel.model)); el.dataset.state = 'ready'; return { el }; }
  el._draw = () => {
    const chart = drawChart(body, build(panel));
    chart.on('click', (p) => {
      const row = p.data && p.data.__row ? p.data.__row : null;
      drill(row, p.name, p.seriesName);
    });
    el.dataset.state = 'ready';
    return chart;
  };
  return { el };
}

// ECharts (1 MB) loads beside the API calls instead of before them: the page asks for its data
// first and draws when both have arrived.
const echartsReady = new Promise((resolve, reject) => {
  if (window.echarts) { resolve(window.echarts); return; }
  const s = document.createElement('script');
  s.src = '/assets/vendor/echarts.min.js';
  s.onload = () => resolve(window.echarts);
  s.onerror = () => reject(new Error('图表组件 echarts.min.js 加载失败'));
  document.head.append(s);
});

// Drawn without animation: a big screen shows figures, and 'finished' then means all drawn.
function drawChart(container, option) {
  const chart = echarts.init(container, 'dark', { renderer: 'canvas' });
  chart.__drawn = new Promise((resolve) => {
    chart.on('finished', resolve);
    setTimeout(resolve, 3000);
  });
  chart.setOption({
    backgroundColor: 'transparent',
    color: PALETTE,
    textStyle: { fontFamily: 'inherit' },
    animation: false,
    ...option,
  });
  if (window.ResizeObserver) {
    const ro = new ResizeObserver(() => { if (!chart.isDisposed()) chart.resize(); });
    ro.observe(container);
    const dispose = chart.dispose.bind(chart);
    chart.dispose = () => { ro.disconnect(); dispose(); };
  }
  return chart;
}

// --- chart builders: panel → ECharts option ---

function measuresOf(panel) {
  const r = panel.rows[0] || {};
  const ms = (panel.measures || []).filter((m) => m in r);
  if (ms.length) return ms;
  return panel.columns.filter((c) => typeof r[c] === 'number' && !(panel.dimensions || []).includes(c)).slice(0, 1);
}
function uniq(values) { return [...new Set(values)]; }
// Names of sibling orgs share their parent's name ("计算机学院本科生第一党支部", …): drop the
// common prefix so the axis shows what tells them apart.
function shorten(names) {
  const strs = names.map((n) => String(n));
  if (strs.length < 2) return strs;
  let k = 0;
  while (strs.every((s) => k < s.length - 2 && s[k] === strs[0][k])) k++;
  return k >= 2 ? strs.map((s) => s.slice(k)) : strs;
}
const orgDim = (d) => /(^|_)name$/.test(d) || d === 'org_id';
const timeLike = (d) => /^(month|period|period_start|year|date|day|week|quarter)$/.test(d);
// Dimensions that name categories (a `*_order` column only orders its partner).
function dimsOf(panel) {
  const r = panel.rows[0] || {};
  return (panel.dimensions || []).filter((d) => d in r && !/_order$/.test(d));
}
// Categories in the server's order (the spec's `order`), time-like ones sorted.
function orderedCategories(rows, dim) {
  const orderCol = [`${dim}_order`, 'stage_order'].find((c) => c in (rows[0] || {}));
  if (orderCol) rows = [...rows].sort((a, b) => (a[orderCol] ?? 0) - (b[orderCol] ?? 0));
  else if (timeLike(dim)) rows = [...rows].sort((a, b) => String(a[dim]).localeCompare(String(b[dim])));
  return uniq(rows.map((r) => r[dim]));
}
const axisFmt = (m) => (isShareColumn(m) ? (v) => `${Math.round(v * 100)}%` : undefined);
const baseGrid = { left: 12, right: 18, top: 36, bottom: 10, containLabel: true };
const splitLine = { lineStyle: { color: '#1f3358' } };

// Rows → x categories and series, for bar and line charts:
//   no dimension: the measures are the categories (one row, e.g. arrears buckets);
//   one dimension: x is it, a series per measure;
//   two, one measure: x is the first, a series per value of the second;
//   two, several measures, bar with time first: the latest time only, x is the second;
//   two, several measures otherwise: a series per (second value, measure).
function seriesModel(panel) {
  const model = panel.model;
  const ms = measuresOf(panel);
  const dims = dimsOf(panel);
  let rows = panel.rows;
  let slice = null;
  if (!dims.length) {
    const r = rows[rows.length - 1];
    return { xdim: null, xs: ms, xnames: ms.map((m) => label(m, model)), series: [{ name: panel.title, measure: ms[0], data: ms.map((m) => ({ value: r[m], __row: r })) }], slice };
  }
  let [xdim, sdim] = dims;
  if (sdim && ms.length > 1 && panel.chart === 'bar' && timeLike(xdim) && !timeLike(sdim)) {
    const latest = orderedCategories(rows, xdim).at(-1);
    rows = rows.filter((r) => r[xdim] === latest);
    slice = { dim: xdim, value: latest };
    xdim = sdim;
    sdim = null;
  }
  const xs = orderedCategories(rows, xdim);
  const find = (x, s) => rows.find((r) => r[xdim] === x && (s === undefined || r[sdim] === s));
  const point = (r, m) => (r ? { value: r[m], __row: r } : null);
  let series;
  if (!sdim) series = ms.map((m) => ({ name: label(m, model), measure: m, data: xs.map((x) => point(find(x), m)) }));
  else {
    const ss = uniq(rows.map((r) => r[sdim]));
    series = ss.flatMap((s) => ms.map((m) => ({
      name: ms.length > 1 ? `${valueLabel(sdim, s)}·${label(m, model)}` : valueLabel(sdim, s),
      measure: m, data: xs.map((x) => point(find(x, s), m)),
    })));
  }
  let xnames = xs.map((v) => valueLabel(xdim, v));
  if (orgDim(xdim)) xnames = shorten(xnames);
  if (sdim && orgDim(sdim) && ms.length === 1) shorten(series.map((x) => x.name)).forEach((n, i) => { series[i].name = n; });
  return { xdim, xs, xnames, series, slice };
}
// Measures of another unit than the first one's (a share beside counts, an average beside a
// head count) go on a right axis.
const unitOf = (m) => (isShareColumn(m) ? 'share' : /^(avg_|mean)|_score$|^score|minutes$|index$/.test(m) ? 'average' : 'count');
function assignAxes(series) {
  const first = series[0];
  for (const s of series) s.yAxisIndex = s === first || unitOf(s.measure) === unitOf(first.measure) ? 0 : 1;
  return series.some((s) => s.yAxisIndex === 1);
}
function valueAxes(series, twoAxes) {
  const leftM = series.find((s) => s.yAxisIndex === 0).measure;
  const axes = [{ type: 'value', axisLabel: { formatter: axisFmt(leftM) }, splitLine }];
  if (twoAxes) axes.push({ type: 'value', axisLabel: { formatter: axisFmt(series.find((s) => s.yAxisIndex === 1).measure) }, splitLine: { show: false } });
  return axes;
}
const tooltipFor = (series) => ({
  trigger: 'axis',
  renderMode: 'richText',
  formatter: (ps) => {
    const list = Array.isArray(ps) ? ps : [ps];
    const head = list[0] ? list[0].axisValueLabel || list[0].name : '';
    return [plain(head), ...list.filter((p) => p.value !== undefined && p.value !== null && !p.seriesName.startsWith('\u200b'))
      .map((p) => `${p.marker}${plain(p.seriesName)}：${plain(fmtNumber(series[p.seriesIndex]?.measure, Array.isArray(p.value) ? p.value[1] : p.value))}`)].join('\n');
  },
});

// Scores as a range (lowest to highest) with the mean and ± one standard deviation.
function rangeChart(panel, sm) {
  const rows = sm.series[0].data.map((d) => (d ? d.__row : null));
  const get = (r, ...cs) => { for (const c of cs) if (r && r[c] !== null && r[c] !== undefined) return Number(r[c]); return null; };
  const mins = rows.map((r) => get(r, 'min_score', 'min'));
  const maxs = rows.map((r) => get(r, 'max_score', 'max'));
  const means = rows.map((r) => get(r, 'mean_score', 'mean'));
  const sds = rows.map((r) => get(r, 'stddev'));
  return {
    tooltip: {
      trigger: 'axis',
      renderMode: 'richText',
      formatter: (ps) => {
        const i = ps[0].dataIndex;
        return `${plain(sm.xnames[i])}\n平均分：${plain(fmtNumber('mean', means[i]))}\n标准差：${plain(fmtNumber('stddev', sds[i]))}\n最低—最高：${plain(fmtNumber('min', mins[i]))}—${plain(fmtNumber('max', maxs[i]))}`;
      },
    },
    legend: { top: 0, data: ['最低—最高', '平均分', '±1 标准差'] },
    grid: baseGrid,
    xAxis: { type: 'category', data: sm.xnames, axisLabel: { interval: 0, rotate: sm.xnames.length * Math.max(...sm.xnames.map((n) => String(n).length)) > 30 ? 35 : 0, width: 90, overflow: 'truncate' } },
    yAxis: { type: 'value', min: 0, max: 100, splitLine },
    series: [
      { name: '\u200bbase', type: 'bar', stack: 'r', silent: true, itemStyle: { color: 'transparent' }, data: mins.map((v, i) => ({ value: v, __row: rows[i] })) },
      { name: '最低—最高', type: 'bar', stack: 'r', barMaxWidth: 26, itemStyle: { color: 'rgba(215,38,61,0.55)', borderColor: '#e5484d' }, data: maxs.map((v, i) => ({ value: v === null || mins[i] === null ? null : v - mins[i], __row: rows[i] })) },
      { name: '平均分', type: 'scatter', symbol: 'diamond', symbolSize: 12, itemStyle: { color: '#f5c451' }, data: means.map((v, i) => ({ value: v, __row: rows[i] })) },
      { name: '±1 标准差', type: 'custom', itemStyle: { color: '#f5c451' },
        renderItem: (params, api) => {
          const i = api.value(0);
          if (means[i] === null || sds[i] === null) return null;
          const lo = api.coord([i, means[i] - sds[i]]);
          const hi = api.coord([i, means[i] + sds[i]]);
          const w = 6;
          return { type: 'group', children: [
            { type: 'line', shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style: { stroke: '#f5c451', lineWidth: 1.5 } },
            { type: 'line', shape: { x1: lo[0] - w, y1: lo[1], x2: lo[0] + w, y2: lo[1] }, style: { stroke: '#f5c451', lineWidth: 1.5 } },
            { type: 'line', shape: { x1: hi[0] - w, y1: hi[1], x2: hi[0] + w, y2: hi[1] }, style: { stroke: '#f5c451', lineWidth: 1.5 } },
          ] };
        },
        data: sm.xs.map((_, i) => [i, means[i]]), z: 10 },
    ],
  };
}

function sliceTitle(sm) {
  return sm.slice ? { text: `${valueLabel(sm.slice.dim, sm.slice.value)}${sm.slice.dim === 'year' ? ' 年' : ''}`, right: 8, top: 0, textStyle: { fontSize: 12, color: '#8ea3c7', fontWeight: 'normal' } } : undefined;
}

const CHARTS = {
  bar(panel) {
    const sm = seriesModel(panel);
    const ms = measuresOf(panel);
    if (['min_score', 'max_score'].every((m) => ms.includes(m)) || ['min', 'max', 'mean'].every((m) => ms.includes(m))) {
      return { ...rangeChart(panel, sm), title: sliceTitle(sm) };
    }
    const two = assignAxes(sm.series);
    const maxLen = Math.max(...sm.xnames.map((n) => String(n).length));
    const long = sm.xnames.length >= 3 && maxLen > 5 && !two && !timeLike(sm.xdim);
    const catAxis = { type: 'category', data: sm.xnames, axisLabel: { interval: 0, width: 110, overflow: 'truncate', rotate: !long && sm.xnames.length * maxLen > 36 ? 30 : 0 } };
    const vAxes = valueAxes(sm.series, two);
    const stackCounts = /^owing_/.test(sm.series[0]?.measure || '');
    return {
      title: sliceTitle(sm),
      tooltip: tooltipFor(sm.series),
      legend: sm.series.length > 1 ? { top: 0, left: 0, right: sm.slice ? 60 : 0, type: 'scroll' } : undefined,
      grid: baseGrid,
      xAxis: long ? vAxes[0] : catAxis,
      yAxis: long ? { ...catAxis, inverse: true } : vAxes,
      series: sm.series.map((s) => (s.yAxisIndex === 1
        ? { name: s.name, data: s.data, type: 'line', yAxisIndex: 1, smooth: true, symbolSize: 6 }
        : { name: s.name, data: s.data, type: 'bar', barMaxWidth: 26, stack: stackCounts ? 'all' : undefined })),
    };
  },
  line(panel) {
    const sm = seriesModel(panel);
    const two = assignAxes(sm.series);
    return {
      tooltip: tooltipFor(sm.series),
      legend: sm.series.length > 1 ? { top: 0, type: 'scroll' } : undefined,
      grid: baseGrid,
      xAxis: { type: 'category', data: sm.xnames, boundaryGap: false },
      yAxis: valueAxes(sm.series, two),
      series: sm.series.map((s) => ({
        name: s.name, data: s.data, type: 'line', yAxisIndex: s.yAxisIndex, smooth: true, symbolSize: 5, connectNulls: true,
        areaStyle: sm.series.length === 1 ? { opacity: 0.15 } : undefined,
      })),
    };
  },
  funnel(panel) {
    const dim = dimsOf(panel)[0] || panel.columns[0];
    const ms = measuresOf(panel);
    const width = ms.includes('reached') ? 'reached' : ms[0];
    const shown = ms.includes('members') ? 'members' : ms[0];
    const cats = orderedCategories(panel.rows, dim).filter((c) => c !== 'none');
    const data = cats.map((c) => { const r = panel.rows.find((row) => row[dim] === c); return { name: valueLabel(dim, c), value: r[width], __row: r }; });
    const max = Math.max(1, ...data.map((d) => Number(d.value) || 0));
    return {
      tooltip: { trigger: 'item', renderMode: 'richText', formatter: (p) => `${plain(p.name)}\n${plain(label(shown, panel.model))}：${plain(fmtNumber(shown, p.data.__row[shown]))}${width !== shown ? `\n${plain(label(width, panel.model))}：${plain(fmtNumber(width, p.value))}` : ''}` },
      series: [{
        type: 'funnel', sort: 'none', left: '6%', right: '6%', top: 10, bottom: 6, min: 0, max, minSize: '8%', gap: 2,
        label: { show: true, position: 'inside', formatter: (p) => `${p.name} ${fmtNumber(shown, p.data.__row[shown])}`, color: '#fff', fontSize: 12 },
        data,
      }],
    };
  },
  pie(panel) {
    const dims = dimsOf(panel);
    const ms = measuresOf(panel);
    let data;
    if (!dims.length) {
      const r = panel.rows[panel.rows.length - 1];
      data = ms.map((m) => ({ name: label(m, panel.model), value: r[m], __row: r }));
    } else {
      const dim = dims[0];
      data = orderedCategories(panel.rows, dim).map((c) => {
        const rs = panel.rows.filter((row) => row[dim] === c);
        return { name: valueLabel(dim, c), value: rs.reduce((s, r) => s + (Number(r[ms[0]]) || 0), 0), __row: rs[0], itemStyle: dim === 'severity' ? { color: SEVERITY_COLORS[c] } : undefined };
      });
    }
    return {
      color: ['#3fb27f', '#f0b429', '#ff8a4c', '#e5484d', '#4aa3df', '#a77bf3', '#2ec4b6'],
      tooltip: { trigger: 'item', renderMode: 'richText', formatter: (p) => `${plain(p.name)}：${plain(fmtNumber(ms[0], p.value))}（${plain(p.percent)}%）` },
      legend: { orient: 'vertical', right: 4, top: 'middle', type: 'scroll' },
      series: [{ type: 'pie', radius: ['38%', '66%'], center: ['36%', '54%'], label: { formatter: '{d}%' }, data }],
    };
  },
  heatmap(panel) {
    const [xdim, ydim] = dimsOf(panel).length >= 2 ? dimsOf(panel) : panel.columns;
    const m = measuresOf(panel)[0];
    const xs = orderedCategories(panel.rows, xdim);
    const ys = uniq(panel.rows.map((r) => r[ydim]));
    const data = panel.rows.filter((r) => r[m] !== null && r[m] !== undefined)
      .map((r) => ({ value: [xs.indexOf(r[xdim]), ys.indexOf(r[ydim]), r[m]], __row: r, name: r[ydim] }));
    const values = data.map((d) => Number(d.value[2]));
    const share = isShareColumn(m);
    const min = share ? 0 : Math.min(0, ...values);
    const max = share ? 1 : Math.max(1, ...values);
    return {
      tooltip: { position: 'top', renderMode: 'richText', formatter: (p) => `${plain(valueLabel(ydim, ys[p.value[1]]))}\n${plain(valueLabel(xdim, xs[p.value[0]]))}：${plain(fmtNumber(m, p.value[2]))}` },
      grid: { left: 12, right: 16, top: 8, bottom: 40, containLabel: true },
      xAxis: { type: 'category', data: xs.map((v) => valueLabel(xdim, v)), splitArea: { show: true } },
      yAxis: { type: 'category', data: orgDim(ydim) ? shorten(ys) : ys.map((v) => valueLabel(ydim, v)), inverse: true, splitArea: { show: true }, axisLabel: { width: 130, overflow: 'truncate' } },
      visualMap: {
        min, max, calculable: true, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 140, itemWidth: 10,
        formatter: (v) => fmtNumber(share ? m : 'n', share ? v : Math.round(v)), textStyle: { fontSize: 11 },
        inRange: { color: ['#7a1020', '#c23531', '#e6a23c', '#f5d76e', '#3fb27f'] },
      },
      series: [{
        type: 'heatmap', data,
        label: { show: data.length <= 200, formatter: (p) => (share ? `${Math.round(p.value[2] * 100)}` : fmtNumber(m, p.value[2])), fontSize: 10 },
        emphasis: { itemStyle: { borderColor: '#fff', borderWidth: 1 } },
      }],
    };
  },
};


// A chi-square or ANOVA result with its verdict.
function statView(panel) {
  const rows = panel.rows;
  const yearCol = ['year', 'month', 'period'].find((c) => c in rows[0]);
  const row = yearCol ? [...rows].sort((a, b) => String(a[yearCol]).localeCompare(String(b[yearCol]))).at(-1) : rows[rows.length - 1];
  const isAnova = 'f' in row || 'eta_squared' in row;
  const p = row.p_value;
  const wrap = h('div', { class: 'stat' });
  const fields = isAnova
    ? [['F', row.f === null ? '—' : fmtNumber('f', row.f)], ['自由度', `${row.df_between ?? '—'} / ${row.df_within ?? '—'}`], ['p', fmtP(p)], ['η²', fmtNumber('eta_squared', row.eta_squared)], ['n', fmtNumber('n', row.n)]]
    : [['χ²', fmtNumber('chi2', row.chi2)], ['自由度', fmtNumber('dof', row.dof)], ['p', fmtP(p)], ["Cramér's V", fmtNumber('cramers_v', row.cramers_v)], ['n', fmtNumber('n', row.n)]];
  wrap.append(h('div', { class: 'stat-figures' }, ...fields.map(([k, v]) => h('div', { class: 'fig' }, h('span', { class: 'fig-k', text: k }), h('span', { class: 'fig-v', text: v })))));
  let verdict;
  let cls;
  if (p === null || p === undefined) { verdict = '数据不足，无法检验'; cls = 'na'; }
  else if (p < 0.05) {
    cls = 'significant';
    verdict = isAnova ? '各组均值差异显著（p < 0.05）' : '两变量不独立，关联显著（p < 0.05）';
    if (!isAnova && row.cramers_v !== null && row.cramers_v !== undefined) verdict += `，关联强度${row.cramers_v < 0.1 ? '很弱' : row.cramers_v < 0.3 ? '较弱' : row.cramers_v < 0.5 ? '中等' : '较强'}`;
  } else { cls = 'not-significant'; verdict = isAnova ? '各组均值差异不显著（p ≥ 0.05）' : '未发现显著关联（p ≥ 0.05）'; }
  wrap.append(h('p', { class: `verdict ${cls}`, text: verdict }));
  if (!isAnova && ((row.cells_below_5 ?? 0) > 0 || (row.min_expected !== null && row.min_expected !== undefined && row.min_expected < 5))) {
    wrap.append(h('p', { class: 'stat-note', text: `注意：${row.cells_below_5 ?? '部分'} 个单元格的期望频数小于 5（最小 ${fmtNumber('min_expected', row.min_expected)}）${row.reliable === false ? '，卡方近似不可靠' : '，结论需谨慎'}。` }));
  }
  const extra = [yearCol ? `${label(yearCol)} ${row[yearCol]}` : null, row.org_name].filter(Boolean).join(' · ');
  if (extra) wrap.append(h('p', { class: 'stat-meta', text: extra }));
  return wrap;
}

function tableView(columns, rows, limit, model) {
  const shown = limit ? rows.slice(0, limit) : rows;
  const table = h('table', { class: 'data' },
    h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { text: label(c, model), title: c })))),
    h('tbody', {}, ...shown.map((r) => h('tr', {}, ...columns.map((c) => h('td', { class: typeof r[c] === 'number' ? 'num' : null, text: fmtCell(c, r[c]) }))))));
  const wrap = h('div', { class: 'table-wrap' }, table);
  if (limit && rows.length > limit) wrap.append(h('p', { class: 'hint', text: `仅显示前 ${limit} 行，共 ${rows.length} 行` }));
  return wrap;
}

// Open warnings by severity, from the warnings list, when the dashboard has no such panel.
function warningsPanel(org, request) {
  const el = h('section', { class: 'panel chart-pie', dataset: { panel: 'open_warnings', chart: 'pie', model: 'warnings' } },
    h('h3', { text: '待处理预警（按严重程度）' }));
  const body = h('div', { class: 'panel-body' });
  el.append(body);
  const wait = request.then(async (data) => {
    const counts = { critical: 0, warning: 0, notice: 0 };
    for (const w of data.warnings || []) counts[w.severity] = (counts[w.severity] || 0) + 1;
    const rows = Object.entries(counts).map(([severity, warnings]) => ({ severity, warnings }));
    const total = rows.reduce((s, r) => s + r.warnings, 0);
    el.dataset.state = 'ready';
    const chart = drawChart(body, {
      tooltip: { trigger: 'item', renderMode: 'richText' },
      title: { text: String(total), subtext: '条待处理', left: '39%', top: '44%', textAlign: 'center', textStyle: { fontSize: 26, color: '#fff' }, subtextStyle: { color: '#9fb3d9' } },
      legend: { orient: 'vertical', right: 4, top: 'middle' },
      series: [{
        type: 'pie', radius: ['45%', '70%'], center: ['40%', '55%'], label: { formatter: '{c}' },
        data: rows.map((r) => ({ name: VALUE_LABELS.severity[r.severity], value: r.warnings, itemStyle: { color: SEVERITY_COLORS[r.severity] } })),
      }],
    });
    chart.on('click', () => go('warnings', { org, status: 'open' }));
    await chart.__drawn;
    return chart;
  }).catch((err) => {
    el.dataset.state = 'error';
    body.replaceChildren(h('p', { class: 'panel-error', text: `载入失败：${err.message}` }));
    return null;
  });
  return { el, wait };
}

// ---------------------------------------------------------------------------------------------
// Warnings

async function warningsPage(me, params) {
  const f = {
    status: params.get('status') || 'open', severity: params.get('severity') || '',
    rule: params.get('rule') || '', org: params.get('org') || '', id: params.get('id') || '',
  };
  setState('warnings', 'loading');
  const page = h('div', { class: 'warnings-page' });
  $view().replaceChildren(page);
  const sel = (id, lbl, value, options) => h('label', {}, lbl, h('select', { id, name: id.replace('w-', '') },
    ...options.map(([v, t]) => h('option', { value: v, selected: v === value, text: t }))));
  const statusSel = sel('w-status', '状态', f.status, [['open', '待处理'], ['acknowledged', '已确认'], ['resolved', '已解除'], ['all', '全部']]);
  const sevSel = sel('w-severity', '严重程度', f.severity, [['', '全部'], ['critical', '严重'], ['warning', '预警'], ['notice', '提示']]);
  const ruleIn = h('input', { id: 'w-rule', name: 'rule', value: f.rule, placeholder: '规则名', list: 'w-rules' });
  const orgIn = h('input', { id: 'w-org', name: 'org', value: f.org, placeholder: me.scope, size: 10 });
  const filters = h('form', { class: 'filters', id: 'warning-filters', onsubmit: (e) => { e.preventDefault(); apply(); } },
    statusSel, sevSel, h('label', {}, '规则', ruleIn), h('label', {}, '组织', orgIn),
    h('button', { type: 'submit', text: '筛选' }), h('datalist', { id: 'w-rules' }));
  const apply = () => go('warnings', {
    status: statusSel.querySelector('select').value, severity: sevSel.querySelector('select').value,
    rule: ruleIn.value.trim(), org: orgIn.value.trim(),
  });
  statusSel.querySelector('select').addEventListener('change', apply);
  sevSel.querySelector('select').addEventListener('change', apply);
  const listBox = h('div', { class: 'warning-list', id: 'warning-list' }, h('p', { class: 'loading', text: '载入中…' }));
  const detail = h('aside', { class: 'warning-detail', id: 'warning-detail' }, h('p', { class: 'hint', text: '选择一条预警查看详情。' }));
  page.append(h('div', { class: 'page-head' }, h('h2', { text: '党建测控预警' }), filters), h('div', { class: 'warnings-body' }, listBox, detail));

  const q = new URLSearchParams();
  for (const k of ['org', 'status', 'severity', 'rule']) if (f[k]) q.set(k, f[k]);
  let data;
  try {
    data = await api(`/api/v1/warnings?${q}`);
  } catch (err) {
    listBox.replaceChildren(errorBox(err));
    setState('warnings', 'error');
    return;
  }
  const warnings = data.warnings || [];
  filters.querySelector('datalist').append(...uniq(warnings.map((w) => w.rule)).map((r) => h('option', { value: r })));
  const counts = { critical: 0, warning: 0, notice: 0 };
  for (const w of warnings) counts[w.severity] = (counts[w.severity] || 0) + 1;
  const summary = h('p', { class: 'warning-summary', id: 'warning-summary' }, `共 ${warnings.length} 条：`,
    ...['critical', 'warning', 'notice'].map((s) => h('span', { class: `sev sev-${s}`, text: `${VALUE_LABELS.severity[s]} ${counts[s]}` })));
  if (!warnings.length) {
    listBox.replaceChildren(summary, h('p', { class: 'panel-empty', text: '没有符合条件的预警。' }));
    setState('warnings', 'ready');
    return;
  }
  const rows = warnings.map((w) => {
    const tr = h('tr', { class: `w-row${w.warning_id === f.id ? ' selected' : ''}`, tabindex: 0, dataset: { id: w.warning_id, severity: w.severity, status: w.status } },
      h('td', {}, h('span', { class: `sev sev-${w.severity}`, text: VALUE_LABELS.severity[w.severity] || w.severity })),
      h('td', { text: w.title || w.rule }),
      h('td', { text: w.org_name || w.org_id }),
      h('td', { text: w.subject || w.member_id || '—' }),
      h('td', { text: fmtTime(w.raised_at) }),
      h('td', { text: w.deadline ? fmtTime(w.deadline) : '—' }),
      h('td', { text: VALUE_LABELS.status[w.status] || w.status }));
    const open = () => {
      for (const r of listBox.querySelectorAll('tr.selected')) r.classList.remove('selected');
      tr.classList.add('selected');
      f.id = w.warning_id;
      history.replaceState(null, '', routeHash('warnings', f));
      showDetail(w);
    };
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); });
    return tr;
  });
  listBox.replaceChildren(summary, h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
    h('thead', {}, h('tr', {}, ...['严重程度', '预警', '组织', '对象', '发出时间', '处理期限', '状态'].map((t) => h('th', { text: t })))),
    h('tbody', {}, ...rows))));

  function showDetail(w) {
    const field = (k, v) => [h('dt', { text: k }), h('dd', { text: v || '—' })];
    const box = h('div', { class: 'detail-card', dataset: { id: w.warning_id } },
      h('h3', {}, h('span', { class: `sev sev-${w.severity}`, text: VALUE_LABELS.severity[w.severity] || w.severity }), ' ', w.title || w.rule),
      h('p', { class: 'w-message', text: w.message || '' }),
      h('dl', {}, ...field('规则', w.rule), ...field('组织', `${w.org_name || ''}（${w.org_id}）`), ...field('对象', w.subject || w.member_id),
        ...field('状态', VALUE_LABELS.status[w.status] || w.status), ...field('发出时间', fmtTime(w.raised_at)),
        ...field('处理期限', w.deadline && fmtTime(w.deadline)), ...field('通知时间', w.notified_at && fmtTime(w.notified_at)),
        ...field('确认时间', w.acknowledged_at && fmtTime(w.acknowledged_at)), ...field('确认人', w.acknowledged_by),
        ...field('备注', w.note), ...field('已上报至', w.escalated_to)));
    if (ACK_ROLES.includes(me.role) && w.status === 'open') {
      const note = h('textarea', { id: 'ack-note', rows: 2, placeholder: '处理说明（可选）' });
      const msg = h('p', { class: 'form-error', id: 'ack-error', role: 'alert' });
      const btn = h('button', { id: 'ack-btn', type: 'button', class: 'primary', text: '确认已知悉' });
      btn.addEventListener('click', async () => {
        btn.disabled = true;
        msg.textContent = '';
        try {
          await api(`/api/v1/warnings/${encodeURIComponent(w.warning_id)}/ack`, {
            method: 'POST', headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(note.value.trim() ? { note: note.value.trim() } : {}),
          });
          const next = routeHash('warnings', { ...f, id: '' });
          if (next === location.hash) router(); else location.hash = next;
        } catch (err) {
          btn.disabled = false;
          msg.textContent = err.key === 'already_acknowledged' ? '该预警已被确认。' : `确认失败：${err.message}`;
        }
      });
      box.append(h('div', { class: 'ack-form' }, h('label', { for: 'ack-note', text: '确认预警' }), note, btn, msg));
    }
    detail.replaceChildren(box);
  }
  const selected = warnings.find((w) => w.warning_id === f.id);
  if (selected) showDetail(selected);
  setState('warnings', 'ready');
}

// ---------------------------------------------------------------------------------------------
// SQL console

let sqlDraft = sessionStorage.getItem('dangjian.sql') || 'SELECT stage, count(*) AS people\nFROM people\nGROUP BY stage\nORDER BY people DESC';

function sqlPage() {
  setState('sql', 'ready');
  const editor = h('textarea', { id: 'sql-editor', class: 'sql-editor', spellcheck: 'false', rows: 12, 'aria-label': 'SQL' });
  editor.value = sqlDraft;
  editor.addEventListener('input', () => { sqlDraft = editor.value; sessionStorage.setItem('dangjian.sql', sqlDraft); });
  const run = h('button', { id: 'sql-run', type: 'button', class: 'primary', text: '运行 (Ctrl+Enter)' });
  const csv = h('button', { id: 'sql-csv', type: 'button', text: '下载 CSV' });
  const status = h('span', { id: 'sql-status', class: 'sql-status' });
  const errorOut = h('div', { id: 'sql-error' });
  const result = h('div', { id: 'sql-result', class: 'sql-result' });
  const saved = h('div', { class: 'saved-queries', id: 'saved-queries' }, h('p', { class: 'loading', text: '载入查询…' }));
  $view().replaceChildren(h('div', { class: 'sql-page' },
    h('aside', { class: 'sql-side' }, h('h2', { text: '常用查询' }), saved),
    h('div', { class: 'sql-main' }, editor, h('div', { class: 'sql-actions' }, run, csv, status), errorOut, result)));

  editor.addEventListener('keydown', (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') { e.preventDefault(); execute(); }
    if (e.key === 'Tab') { e.preventDefault(); editor.setRangeText('  ', editor.selectionStart, editor.selectionEnd, 'end'); }
  });
  let busy = false;
  const execute = async () => {
    if (busy) return;
    busy = true;
    run.disabled = true;
    status.textContent = '运行中…';
    errorOut.replaceChildren();
    document.body.dataset.state = 'loading';
    try {
      const res = await api('/api/v1/sql?format=json', { method: 'POST', body: editor.value, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
      showResult(res);
      document.body.dataset.state = 'ready';
    } catch (err) {
      status.textContent = '';
      result.replaceChildren();
      errorOut.replaceChildren(errorBox(err));
      document.body.dataset.state = 'error';
    } finally {
      busy = false;
      run.disabled = false;
    }
  };
  run.addEventListener('click', execute);
  csv.addEventListener('click', async () => {
    errorOut.replaceChildren();
    try {
      const res = await api('/api/v1/sql?format=csv', { method: 'POST', body: editor.value, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, raw: true });
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const stamp = new Date(serverNow()).toISOString().replace(/[-:]/g, '').slice(0, 15);
      const a = h('a', { href: url, download: `query-${stamp}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      errorOut.replaceChildren(errorBox(err));
    }
  });

  function showResult(res) {
    const columns = (res.columns || []).map((c) => (typeof c === 'string' ? c : c.name));
    const rows = res.rows || [];
    status.textContent = `${rows.length} 行 · ${Number(res.elapsed_ms || 0).toFixed(0)} ms${res.truncated ? ' · 结果已截断（超出行数上限）' : ''}`;
    let page = 0;
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_ROWS));
    const holder = h('div', { class: 'table-wrap sql-table' });
    const info = h('span', { id: 'sql-page' });
    const prev = h('button', { id: 'sql-prev', type: 'button', text: '上一页' });
    const next = h('button', { id: 'sql-next', type: 'button', text: '下一页' });
    const draw = () => {
      const slice = rows.slice(page * PAGE_ROWS, (page + 1) * PAGE_ROWS);
      holder.replaceChildren(h('table', { class: 'data' },
        h('thead', {}, h('tr', {}, ...(res.columns || []).map((c) => h('th', { title: c.type || '', text: typeof c === 'string' ? c : c.name })))),
        h('tbody', {}, ...slice.map((r) => h('tr', {}, ...columns.map((c) => {
          const v = Array.isArray(r) ? r[columns.indexOf(c)] : r[c];
          return h('td', { class: typeof v === 'number' ? 'num' : null, text: v === null || v === undefined ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v) });
        }))))));
      info.textContent = `第 ${page + 1} / ${pages} 页`;
      prev.disabled = page === 0;
      next.disabled = page >= pages - 1;
    };
    prev.addEventListener('click', () => { page = Math.max(0, page - 1); draw(); });
    next.addEventListener('click', () => { page = Math.min(pages - 1, page + 1); draw(); });
    draw();
    result.replaceChildren(holder, h('div', { class: 'pager' }, prev, info, next));
  }

  api('/api/v1/queries').then((data) => {
    const groups = {};
    for (const q of data.queries || []) (groups[q.kind] = groups[q.kind] || []).push(q);
    const kindLabel = { view: '视图', metric: '驾驶舱指标', stat: '统计检验', warning: '预警规则' };
    saved.replaceChildren(...Object.entries(groups).map(([kind, qs]) => h('details', { open: kind !== 'warning' },
      h('summary', { text: `${kindLabel[kind] || kind}（${qs.length}）` }),
      h('ul', {}, ...qs.map((q) => h('li', {},
        h('button', {
          type: 'button', class: 'link saved', title: q.description || '', dataset: { name: q.name },
          onclick: () => { editor.value = startingSql(q); editor.dispatchEvent(new Event('input')); editor.focus(); },
        }, h('span', { class: 'q-title', text: q.title || q.name }), h('code', { text: q.name }))))))));
  }).catch((err) => saved.replaceChildren(errorBox(err)));
}
// The server gives each saved query a runnable start: views and models by name, rules with today's parameters.
function startingSql(q) {
  const head = `-- ${q.title || q.name}\n${q.description ? `-- ${q.description.replace(/\s+/g, ' ').slice(0, 300)}\n` : ''}`;
  if (q.sql && !q.sql.includes('${')) return `${head}${q.sql.trim()}`;
  return `${head}SELECT *\nFROM ${q.name}\nLIMIT 100`;
}

// ---------------------------------------------------------------------------------------------

document.getElementById('signout').addEventListener('click', () => {
  session.token = null;
  session.me = null;
  dashboardList = null;
  go('signin');
});
window.addEventListener('hashchange', router);
router();
