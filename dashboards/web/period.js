// Periods: month / quarter / year / custom, as inclusive month ranges `YYYY-MM`, and the
// cockpit's period picker.

import { serverNow } from './api.js';
import { h } from './dom.js';

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
/** `2026年`, `2026年第2季度`, `2026年3月`, or `from 至 to`. */
export function periodText(from, to) {
  if (!from || !to) return '';
  const mode = periodMode(from, to);
  const [fy, fm] = from.split('-').map(Number);
  if (mode === 'month') return `${fy}年${fm}月`;
  if (mode === 'quarter') return `${fy}年第${(fm + 2) / 3}季度`;
  if (mode === 'year') return `${fy}年`;
  return `${from} 至 ${to}`;
}

/** The picker of `period` ({from, to}); 应用 calls onChange({from, to}). */
export function periodPicker(period, onChange) {
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
