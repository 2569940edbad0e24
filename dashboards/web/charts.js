// Charts: Apache ECharts (vendor/echarts.min.js, a classic script defining the global `echarts`)
// and the builders that turn a dashboard panel into an ECharts option. Tooltips are rich text
// (`renderMode: 'richText'`) of plain() strings: nothing from the data becomes HTML.

import { fmtNumber, label, plain, unitOf, valueLabel } from './format.js';

export const SEVERITY_COLORS = { notice: '#4aa3df', warning: '#f0b429', critical: '#e5484d' };
const PALETTE = ['#e5484d', '#f0b429', '#4aa3df', '#3fb27f', '#a77bf3', '#ff8a4c', '#2ec4b6', '#f06595', '#94a3b8'];

// ECharts (1 MB) loads beside the API calls instead of before them: the page asks for its data
// first and draws when both have arrived.
export const echartsReady = new Promise((resolve, reject) => {
  if (window.echarts) { resolve(window.echarts); return; }
  const s = document.createElement('script');
  s.src = '/assets/vendor/echarts.min.js';
  s.onload = () => resolve(window.echarts);
  s.onerror = () => reject(new Error('图表组件 echarts.min.js 加载失败'));
  document.head.append(s);
});

// Drawn without animation: a big screen shows figures, and 'finished' then means all drawn.
// The chart's `__drawn` settles when it has been drawn.
export function drawChart(container, option) {
  const chart = window.echarts.init(container, 'dark', { renderer: 'canvas' });
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

// --- helpers ---

function measuresOf(panel) {
  const r = panel.rows[0] || {};
  const ms = (panel.measures || []).filter((m) => m in r);
  if (ms.length) return ms;
  return panel.columns.filter((c) => typeof r[c] === 'number' && !(panel.dimensions || []).includes(c)).slice(0, 1);
}
export function uniq(values) { return [...new Set(values)]; }
// Names of sibling orgs share their parent's name ("计算机学院本科生第一党支部", …): drop the
// common prefix so the axis shows what tells them apart.
export function shorten(names) {
  const strs = names.map((n) => String(n));
  if (strs.length < 2) return strs;
  let k = 0;
  while (strs.every((s) => k < s.length - 2 && s[k] === strs[0][k])) k++;
  return k >= 2 ? strs.map((s) => s.slice(k)) : strs;
}
const orgDim = (d) => /(^|_)name$/.test(d) || d === 'org_id';
export const timeLike = (d) => /^(month|period|period_start|year|date|day|week|quarter)$/.test(d);
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
const axisFmt = (unit) => (unit === 'share' ? (v) => `${Math.round(v * 100)}%` : undefined);
const baseGrid = { left: 12, right: 18, top: 36, bottom: 10, containLabel: true };
const splitLine = { lineStyle: { color: '#1f3358' } };

// Rows → x categories and series (each with its measure and that measure's unit), for bar and
// line charts:
//   no dimension: the measures are the categories (one row, e.g. arrears buckets);
//   one dimension: x is it, a series per measure;
//   two, one measure: x is the first, a series per value of the second;
//   two, several measures, bar with time first: the latest time only, x is the second;
//   two, several measures otherwise: a series per (second value, measure).
function seriesModel(panel) {
  const model = panel.model;
  const ms = measuresOf(panel);
  const dims = dimsOf(panel);
  const unit = (m) => unitOf(panel, m);
  let rows = panel.rows;
  let slice = null;
  if (!dims.length) {
    const r = rows[rows.length - 1];
    return { xdim: null, xs: ms, xnames: ms.map((m) => label(m, model)), series: [{ name: panel.title, measure: ms[0], unit: unit(ms[0]), data: ms.map((m) => ({ value: r[m], __row: r })) }], slice };
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
  if (!sdim) series = ms.map((m) => ({ name: label(m, model), measure: m, unit: unit(m), data: xs.map((x) => point(find(x), m)) }));
  else {
    const ss = uniq(rows.map((r) => r[sdim]));
    series = ss.flatMap((s) => ms.map((m) => ({
      name: ms.length > 1 ? `${valueLabel(sdim, s)}·${label(m, model)}` : valueLabel(sdim, s),
      measure: m, unit: unit(m), data: xs.map((x) => point(find(x, s), m)),
    })));
  }
  let xnames = xs.map((v) => valueLabel(xdim, v));
  if (orgDim(xdim)) xnames = shorten(xnames);
  if (sdim && orgDim(sdim) && ms.length === 1) shorten(series.map((x) => x.name)).forEach((n, i) => { series[i].name = n; });
  return { xdim, xs, xnames, series, slice };
}
// Measures of another unit than the first one's (a share beside counts, minutes beside a head
// count) go on a right axis.
function assignAxes(series) {
  const first = series[0];
  for (const s of series) s.yAxisIndex = s === first || s.unit === first.unit ? 0 : 1;
  return series.some((s) => s.yAxisIndex === 1);
}
function valueAxes(series, twoAxes) {
  const left = series.find((s) => s.yAxisIndex === 0);
  const axes = [{ type: 'value', axisLabel: { formatter: axisFmt(left.unit) }, splitLine }];
  if (twoAxes) axes.push({ type: 'value', axisLabel: { formatter: axisFmt(series.find((s) => s.yAxisIndex === 1).unit) }, splitLine: { show: false } });
  return axes;
}
const tooltipFor = (series) => ({
  trigger: 'axis',
  renderMode: 'richText',
  formatter: (ps) => {
    const list = Array.isArray(ps) ? ps : [ps];
    const head = list[0] ? list[0].axisValueLabel || list[0].name : '';
    return [plain(head), ...list.filter((p) => p.value !== undefined && p.value !== null && !p.seriesName.startsWith('\u200b'))
      .map((p) => {
        const s = series[p.seriesIndex];
        return `${p.marker}${plain(p.seriesName)}：${plain(fmtNumber(s?.measure, Array.isArray(p.value) ? p.value[1] : p.value, s?.unit))}`;
      })].join('\n');
  },
});

// Scores as a range (lowest to highest) with the mean and ± one standard deviation.
function rangeChart(panel, sm) {
  const rows = sm.series[0].data.map((d) => (d ? d.__row : null));
  const get = (r, ...cs) => { for (const c of cs) if (r && r[c] !== null && r[c] !== undefined) return Number(r[c]); return null; };
  // The unit of the first of the columns the rows have.
  const unit = (...cs) => unitOf(panel, cs.find((c) => rows.some((r) => r && c in r)));
  const mins = rows.map((r) => get(r, 'min_score', 'min'));
  const maxs = rows.map((r) => get(r, 'max_score', 'max'));
  const means = rows.map((r) => get(r, 'mean_score', 'mean'));
  const sds = rows.map((r) => get(r, 'stddev'));
  const [minU, maxU, meanU, sdU] = [unit('min_score', 'min'), unit('max_score', 'max'), unit('mean_score', 'mean'), unit('stddev')];
  return {
    tooltip: {
      trigger: 'axis',
      renderMode: 'richText',
      formatter: (ps) => {
        const i = ps[0].dataIndex;
        return `${plain(sm.xnames[i])}\n平均分：${plain(fmtNumber('mean', means[i], meanU))}\n标准差：${plain(fmtNumber('stddev', sds[i], sdU))}\n最低—最高：${plain(fmtNumber('min', mins[i], minU))}—${plain(fmtNumber('max', maxs[i], maxU))}`;
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

/** Panel → ECharts option, by the panel's `chart` (kpi, stat and table are not charts: panels.js). */
export const CHARTS = {
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
    const [widthU, shownU] = [unitOf(panel, width), unitOf(panel, shown)];
    const cats = orderedCategories(panel.rows, dim).filter((c) => c !== 'none');
    const data = cats.map((c) => { const r = panel.rows.find((row) => row[dim] === c); return { name: valueLabel(dim, c), value: r[width], __row: r }; });
    const max = Math.max(1, ...data.map((d) => Number(d.value) || 0));
    return {
      tooltip: { trigger: 'item', renderMode: 'richText', formatter: (p) => `${plain(p.name)}\n${plain(label(shown, panel.model))}：${plain(fmtNumber(shown, p.data.__row[shown], shownU))}${width !== shown ? `\n${plain(label(width, panel.model))}：${plain(fmtNumber(width, p.value, widthU))}` : ''}` },
      series: [{
        type: 'funnel', sort: 'none', left: '6%', right: '6%', top: 10, bottom: 6, min: 0, max, minSize: '8%', gap: 2,
        label: { show: true, position: 'inside', formatter: (p) => `${p.name} ${fmtNumber(shown, p.data.__row[shown], shownU)}`, color: '#fff', fontSize: 12 },
        data,
      }],
    };
  },
  pie(panel) {
    const dims = dimsOf(panel);
    const ms = measuresOf(panel);
    const unit = unitOf(panel, ms[0]);
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
      tooltip: { trigger: 'item', renderMode: 'richText', formatter: (p) => `${plain(p.name)}：${plain(fmtNumber(ms[0], p.value, unit))}（${plain(p.percent)}%）` },
      legend: { orient: 'vertical', right: 4, top: 'middle', type: 'scroll' },
      series: [{ type: 'pie', radius: ['38%', '66%'], center: ['36%', '54%'], label: { formatter: '{d}%' }, data }],
    };
  },
  heatmap(panel) {
    const [xdim, ydim] = dimsOf(panel).length >= 2 ? dimsOf(panel) : panel.columns;
    const m = measuresOf(panel)[0];
    const unit = unitOf(panel, m);
    const xs = orderedCategories(panel.rows, xdim);
    const ys = uniq(panel.rows.map((r) => r[ydim]));
    const data = panel.rows.filter((r) => r[m] !== null && r[m] !== undefined)
      .map((r) => ({ value: [xs.indexOf(r[xdim]), ys.indexOf(r[ydim]), r[m]], __row: r, name: r[ydim] }));
    const values = data.map((d) => Number(d.value[2]));
    const share = unit === 'share';
    const min = share ? 0 : Math.min(0, ...values);
    const max = share ? 1 : Math.max(1, ...values);
    return {
      tooltip: { position: 'top', renderMode: 'richText', formatter: (p) => `${plain(valueLabel(ydim, ys[p.value[1]]))}\n${plain(valueLabel(xdim, xs[p.value[0]]))}：${plain(fmtNumber(m, p.value[2], unit))}` },
      grid: { left: 12, right: 16, top: 8, bottom: 40, containLabel: true },
      xAxis: { type: 'category', data: xs.map((v) => valueLabel(xdim, v)), splitArea: { show: true } },
      yAxis: { type: 'category', data: orgDim(ydim) ? shorten(ys) : ys.map((v) => valueLabel(ydim, v)), inverse: true, splitArea: { show: true }, axisLabel: { width: 130, overflow: 'truncate' } },
      visualMap: {
        min, max, calculable: true, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 140, itemWidth: 10,
        formatter: (v) => (share ? fmtNumber(m, v, unit) : fmtNumber('n', Math.round(v))), textStyle: { fontSize: 11 },
        inRange: { color: ['#7a1020', '#c23531', '#e6a23c', '#f5d76e', '#3fb27f'] },
      },
      series: [{
        type: 'heatmap', data,
        label: { show: data.length <= 200, formatter: (p) => (share ? `${Math.round(p.value[2] * 100)}` : fmtNumber(m, p.value[2], unit)), fontSize: 10 },
        emphasis: { itemStyle: { borderColor: '#fff', borderWidth: 1 } },
      }],
    };
  },
};
