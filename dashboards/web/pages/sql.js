// #/sql — the SQL console (admin, leader, analyst): an editor (kept in sessionStorage), the
// saved queries of queries/, results in pages of 50 rows, CSV download.

import { api, serverNow } from '../api.js';
import { errorBox, h, setState, view } from '../dom.js';

const PAGE_ROWS = 50;

let sqlDraft = sessionStorage.getItem('dangjian.sql') || 'SELECT stage, count(*) AS people\nFROM people\nGROUP BY stage\nORDER BY people DESC';

export function sqlPage() {
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
  view().replaceChildren(h('div', { class: 'sql-page' },
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
