// #/cockpit?org=C01&from=2026-01&to=2026-11[&refresh=60][&board=statistics][&as_of=…[&live=true]]
// The big screen: the dashboard of the org's level, drill-down by org, period picker, auto
// refresh. window.__dj holds its timings for the browser tests.

import { ApiError, api } from '../api.js';
import { echartsReady, shorten } from '../charts.js';
import { errorBox, h, setState, view } from '../dom.js';
import { VALUE_LABELS, fmtAge, fmtTime } from '../format.js';
import { kpiCard, panelSection, warningsPanel } from '../panels.js';
import { periodPicker, periodText } from '../period.js';
import { go, onLeave, routeHash } from '../route.js';

let dashboardList = null;
let firstPaint = true; // the first cockpit drawn since the page loaded
async function dashboards() {
  if (!dashboardList) dashboardList = (await api('/api/v1/dashboards')).dashboards || [];
  return dashboardList;
}
/** Forgets the list of dashboards (on signing out: another token may see others). */
export function forgetDashboards() { dashboardList = null; }

function pickDashboard(list, kind) {
  const by = (pred) => list.find(pred);
  return by((d) => d.level === kind) || by((d) => d.id === kind)
    || (kind === 'group' ? by((d) => d.level === 'branch') : null)
    || by((d) => d.level === 'any' && d.id !== 'statistics') || list[0];
}

const dashQuery = (q) => {
  const s = new URLSearchParams();
  for (const k of ['org', 'from', 'to', 'as_of']) if (q[k]) s.set(k, q[k]);
  if (q.as_of && q.live === 'true') s.set('live', 'true');
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

export function cockpitPage(me, params) {
  const q = {
    org: params.get('org') || '', from: params.get('from') || '', to: params.get('to') || '',
    as_of: params.get('as_of') || '', refresh: params.get('refresh') || sessionStorage.getItem('dangjian.refresh') || '',
    board: params.get('board') || '', live: params.get('live') || '',
  };
  setState('cockpit', 'loading');
  const t0 = performance.now();
  window.__dj = { navStart: t0, readyAt: null, panels: 0 };
  const root = h('div', { class: 'cockpit', id: 'cockpit' });
  const head = h('div', { class: 'cockpit-head' }, h('p', { class: 'loading', text: '正在载入驾驶舱…' }));
  const kpis = h('div', { class: 'kpi-strip', id: 'kpis' });
  const grid = h('div', { class: 'panel-grid', id: 'panels' });
  root.append(head, kpis, grid);
  view().replaceChildren(root);

  let charts = [];
  let timer = null;
  let seq = 0;
  let alive = true;
  const disposeCharts = () => { for (const c of charts) c.dispose(); charts = []; };
  const onResize = () => { for (const c of charts) c.resize(); };
  window.addEventListener('resize', onResize);
  onLeave(() => {
    alive = false;
    clearInterval(timer);
    window.removeEventListener('resize', onResize);
    disposeCharts();
  });

  const navigate = (patch) => go('cockpit', { ...q, ...patch, as_of: patch.as_of ?? q.as_of, live: patch.live ?? q.live });

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
      const { el, wait } = warningsPanel(data.org.org_id, warnings);
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
