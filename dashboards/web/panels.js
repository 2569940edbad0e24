// The cockpit's panels: key-figure cards, chart panels (drawn by charts.js), statistical tests,
// tables, and the open-warnings panel. Figures are formatted by each measure's unit (the
// panel's `units`).

import { go } from './route.js';
import { h } from './dom.js';
import { CHARTS, SEVERITY_COLORS, drawChart } from './charts.js';
import { VALUE_LABELS, fmtCell, fmtNumber, fmtP, label, unitOf } from './format.js';

/** A KPI card: the last value of the series, big, and its change from the row before. */
export function kpiCard(panel) {
  const card = h('section', { class: 'kpi', dataset: { panel: panel.id, chart: 'kpi' } });
  const title = h('h3', { text: panel.title });
  card.append(title);
  if (panel.error) { card.dataset.state = 'error'; card.append(h('p', { class: 'panel-error', text: panel.error })); return card; }
  const measure = (panel.measures && panel.measures[0]) || panel.columns.find((c) => typeof (panel.rows[0] || {})[c] === 'number');
  const unit = unitOf(panel, measure);
  const xdim = panel.dimensions && panel.dimensions[0];
  const rows = [...(panel.rows || [])].filter((r) => r[measure] !== null && r[measure] !== undefined);
  if (xdim) rows.sort((a, b) => String(a[xdim]).localeCompare(String(b[xdim])));
  if (!rows.length) { card.dataset.state = 'empty'; card.append(h('p', { class: 'kpi-value', text: '—' }), h('p', { class: 'kpi-delta', text: '暂无数据' })); return card; }
  const last = rows[rows.length - 1];
  const prev = rows.length > 1 ? rows[rows.length - 2] : null;
  const v = Number(last[measure]);
  const share = unit === 'share';
  const value = h('p', { class: 'kpi-value' }, fmtNumber(measure, v, unit));
  let delta = '与上期持平';
  let dir = 'flat';
  if (prev) {
    const d = v - Number(prev[measure]);
    dir = d > 1e-12 ? 'up' : d < -1e-12 ? 'down' : 'flat';
    const arrow = dir === 'up' ? '▲' : dir === 'down' ? '▼' : '■';
    const mag = share ? `${Math.abs(d * 100).toFixed(1)} 个百分点` : fmtNumber(measure, Math.abs(d), unit);
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

/**
 * One panel: a section with its title and a body. A chart is drawn by the section's `_draw`
 * once it is in the document (so it knows its size); a click on it calls `drill(row, ...names)`.
 */
export function panelSection(panel, drill) {
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
  if (!build || kind === 'table') { body.append(tableView(panel, rows, 200)); el.dataset.state = 'ready'; return { el }; }
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

// A chi-square or ANOVA result with its verdict.
function statView(panel) {
  const rows = panel.rows;
  const fmt = (column, value) => fmtNumber(column, value, unitOf(panel, column));
  const yearCol = ['year', 'month', 'period'].find((c) => c in rows[0]);
  const row = yearCol ? [...rows].sort((a, b) => String(a[yearCol]).localeCompare(String(b[yearCol]))).at(-1) : rows[rows.length - 1];
  const isAnova = 'f' in row || 'eta_squared' in row;
  const p = row.p_value;
  const wrap = h('div', { class: 'stat' });
  const fields = isAnova
    ? [['F', row.f === null ? '—' : fmt('f', row.f)], ['自由度', `${row.df_between ?? '—'} / ${row.df_within ?? '—'}`], ['p', fmtP(p)], ['η²', fmt('eta_squared', row.eta_squared)], ['n', fmt('n', row.n)]]
    : [['χ²', fmt('chi2', row.chi2)], ['自由度', fmt('dof', row.dof)], ['p', fmtP(p)], ["Cramér's V", fmt('cramers_v', row.cramers_v)], ['n', fmt('n', row.n)]];
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
    wrap.append(h('p', { class: 'stat-note', text: `注意：${row.cells_below_5 ?? '部分'} 个单元格的期望频数小于 5（最小 ${fmt('min_expected', row.min_expected)}）${row.reliable === false ? '，卡方近似不可靠' : '，结论需谨慎'}。` }));
  }
  const extra = [yearCol ? `${label(yearCol)} ${row[yearCol]}` : null, row.org_name].filter(Boolean).join(' · ');
  if (extra) wrap.append(h('p', { class: 'stat-meta', text: extra }));
  return wrap;
}

// The panel's columns as a table, at most `limit` rows.
function tableView(panel, rows, limit) {
  const { columns, model } = panel;
  const shown = limit ? rows.slice(0, limit) : rows;
  const table = h('table', { class: 'data' },
    h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { text: label(c, model), title: c })))),
    h('tbody', {}, ...shown.map((r) => h('tr', {}, ...columns.map((c) => h('td', { class: typeof r[c] === 'number' ? 'num' : null, text: fmtCell(c, r[c], unitOf(panel, c)) }))))));
  const wrap = h('div', { class: 'table-wrap' }, table);
  if (limit && rows.length > limit) wrap.append(h('p', { class: 'hint', text: `仅显示前 ${limit} 行，共 ${rows.length} 行` }));
  return wrap;
}

/**
 * Open warnings by severity, from the warnings list (`request`, the pending answer), for a
 * dashboard without such a panel. `wait` settles with the chart once drawn.
 */
export function warningsPanel(org, request) {
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
