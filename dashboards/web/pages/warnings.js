// #/warnings?status=open&severity=&rule=&org=&id=
// The warnings in the caller's scope: filters, the list, one warning's detail, and (admin,
// secretary) acknowledging an open one.

import { api } from '../api.js';
import { errorBox, h, setState, view } from '../dom.js';
import { VALUE_LABELS, fmtTime } from '../format.js';
import { go, redraw, routeHash } from '../route.js';

const ACK_ROLES = ['admin', 'secretary'];

export async function warningsPage(me, params) {
  const f = {
    status: params.get('status') || 'open', severity: params.get('severity') || '',
    rule: params.get('rule') || '', org: params.get('org') || '', id: params.get('id') || '',
  };
  setState('warnings', 'loading');
  const page = h('div', { class: 'warnings-page' });
  view().replaceChildren(page);
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
  filters.querySelector('datalist').append(...[...new Set(warnings.map((w) => w.rule))].map((r) => h('option', { value: r })));
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
          if (next === location.hash) redraw(); else location.hash = next;
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
