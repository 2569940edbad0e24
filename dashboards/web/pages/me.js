// #/me[?member=M000123] — 我的党建: one person's own record. A member sees their own
// (whoami's `member`; the parameter is ignored); a secretary, leader or admin names a member
// of their scope with `member` (without one, a box asks for the id). The page is one call,
// GET /api/v1/members/{id}: stage and next step, dues, 三会一课, study against the year's
// target, quizzes, the comprehensive score, open warnings, unread notices, the study
// recommended this week with its reasons, and the weekly push (POST …/push switches it).
// Mobile-first: one column of cards on a phone, two from 900 px (app.css, `.me-*`).
// Every section carries data-section (header, next-step, dues, attendance, study,
// recommendations, push, score, quizzes, warnings, notices) for the browser tests.

import { api } from '../api.js';
import { errorBox, h, setState, view } from '../dom.js';
import { VALUE_LABELS, fmtTime } from '../format.js';
import { go, onLeave } from '../route.js';

const SVG = 'http://www.w3.org/2000/svg';
// The push choice is the member's, or their secretary's or an admin's on their behalf.
const PUSH_ROLES = ['member', 'secretary', 'admin'];

const SCORE_PARTS = [
  ['dues_score', '党费'], ['attendance_score', '参会'], ['study_score', '学习'],
  ['quiz_score', '测试'], ['evaluation_score', '评议'], ['interaction_score', '互动'],
];
const SIGNAL_LABELS = {
  quiz_gap: '测试薄弱', stage_required: '阶段必学', behind_pace: '进度落后', peers: '同支部在学',
};

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : (v === null || v === undefined || v === '' ? null : Number(v)));
const int = (v) => { const n = num(v); return n === null || Number.isNaN(n) ? '—' : String(Math.round(n)); };
const pct = (v) => { const n = num(v); return n === null || Number.isNaN(n) ? '—' : `${(n * 100).toFixed(1)}%`; };
const yuan = (fen) => { const n = num(fen); return n === null || Number.isNaN(n) ? '—' : (n / 100).toFixed(2); };
/** Text with its dates kept on one line (a line may break after a hyphen). */
const keepDates = (text) => String(text).split(/(\d{4}-\d{2}(?:-\d{2})?)/).map((part, i) => (i % 2 ? h('span', { class: 'nowrap', text: part }) : part));

/** The China date of a day or an instant, `YYYY-MM-DD`. */
function day(s) {
  if (!s) return '—';
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return s;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? String(s) : d.toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });
}

export async function mePage(me, params) {
  const id = me.role === 'member' ? (me.member || '') : (params.get('member') || '').trim();
  setState('me', 'loading');
  document.title = '我的党建 · 党建驾驶舱';
  onLeave(() => { document.title = '党建驾驶舱'; });
  const page = h('div', { class: 'me-page', id: 'me-page', dataset: { member: id } });
  view().replaceChildren(page);
  if (!id) {
    if (me.role === 'member') {
      page.append(errorBox({ status: 0, key: 'no_member', message: '此令牌未关联党员编号，请联系管理员。' }));
      setState('me', 'error');
      return;
    }
    page.append(lookup(''), h('p', { class: 'hint', text: '输入党员编号，查看您管辖范围内党员的「我的党建」页面。' }));
    setState('me', 'ready');
    return;
  }

  // `pushOptedOut`: after switching the push, the choice expected (the record is read again,
  // a few times, until the server's read model shows it).
  const load = async (pushOptedOut) => {
    setState('me', 'loading');
    let data;
    try {
      for (let tries = 0; ; tries++) {
        data = await api(`/api/v1/members/${encodeURIComponent(id)}`);
        if (pushOptedOut === undefined || !!(data.push && data.push.opted_out) === pushOptedOut || tries >= 10 || !page.isConnected) break;
        await new Promise((r) => setTimeout(r, 300));
      }
    } catch (err) {
      if (!page.isConnected) return;
      const extra = me.role !== 'member' && err.status === 404 ? h('p', { class: 'hint', text: '没有此党员，或不在您的管辖范围内。' }) : null;
      page.replaceChildren(errorBox(err, extra));
      if (me.role !== 'member') page.append(lookup(id));
      setState('me', 'error');
      return;
    }
    if (!page.isConnected) return;
    render(data);
    setState('me', 'ready');
  };

  const render = (d) => {
    const m = d.member || {};
    document.title = `${m.name || id} · 我的党建`;
    page.replaceChildren(...[
      me.role !== 'member' ? lookup(id) : null,
      headerCard(d, m, id),
      h('div', { class: 'me-grid' },
        warningsCard(d.warnings || []),
        duesCard(d.dues || {}),
        attendanceCard(d.attendance || {}),
        studyCard(d.study || {}),
        scoreCard(d.score),
        recommendationsCard(d.recommendations || [], d.push || {}),
        quizzesCard(d.quizzes || []),
        noticesCard(d.notices || {})),
    ].filter(Boolean));
  };

  // 每周学习推送: the push toggle, in the recommendations card.
  function pushBlock(push) {
    const out = !!push.opted_out;
    const msg = h('p', { class: 'form-error', id: 'push-error', role: 'alert' });
    const status = h('p', { class: 'push-status' },
      h('span', { class: `push-dot${out ? ' off' : ''}`, 'aria-hidden': 'true' }),
      out ? '已退订每周学习推送' : '每周一通过电子邮件推送本周学习推荐');
    const box = h('div', { class: 'me-push', id: 'push', dataset: { section: 'push', optedOut: String(out) } },
      h('h4', { text: '每周学习推送' }), status);
    if (push.has_email === false) box.append(h('p', { class: 'hint', id: 'push-no-email', text: '未登记电子邮箱，推送暂无法送达，请联系党支部登记。' }));
    if (PUSH_ROLES.includes(me.role)) {
      const btn = h('button', { type: 'button', id: 'push-toggle', class: out ? 'primary' : '', dataset: { enabled: String(!out) }, text: out ? '恢复推送' : '退订' });
      btn.addEventListener('click', async () => {
        btn.disabled = true;
        msg.textContent = '';
        try {
          await api(`/api/v1/members/${encodeURIComponent(id)}/push`, {
            method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ enabled: out }),
          });
        } catch (err) {
          btn.disabled = false;
          msg.textContent = `操作失败：${err.message}`;
          return;
        }
        await load(!out);
      });
      box.append(btn, msg);
    }
    return box;
  }

  function recommendationsCard(recs, push) {
    const list = recs.length
      ? h('ol', { class: 'me-recs', id: 'recommendations-list' }, ...[...recs].sort((a, b) => (num(a.rank) ?? 99) - (num(b.rank) ?? 99)).map((r) => {
        const signals = (Array.isArray(r.signals) ? r.signals : String(r.signals || '').split(',')).map((s) => s.trim()).filter(Boolean);
        return h('li', { class: 'me-rec', dataset: { resource: r.resource_id, rank: r.rank } },
          h('div', { class: 'rec-head' },
            h('span', { class: 'rec-rank', text: String(r.rank ?? '') }),
            h('span', { class: 'rec-title', text: r.title || r.resource_id }),
            r.minutes ? h('span', { class: 'rec-minutes', text: `${int(r.minutes)} 分钟` }) : null),
          h('div', { class: 'rec-tags' }, r.topic ? h('span', { class: 'tag', text: r.topic }) : null,
            ...signals.map((s) => h('span', { class: `tag signal signal-${s}`, text: SIGNAL_LABELS[s] || s }))),
          h('p', { class: 'rec-reason', text: r.reason || '' }));
      }))
      : h('p', { class: 'me-empty', text: '本周暂无推荐' });
    return card('recommendations', '学习推荐', [list, pushBlock(push)], { wide: true, note: '根据测试、发展阶段、学习进度和同支部学习情况推荐' });
  }

  load();
}

/** A box to open another member's page (secretaries, leaders, admins). */
function lookup(id) {
  const input = h('input', { id: 'me-member', name: 'member', value: id, placeholder: '党员编号，如 M000123', autocomplete: 'off', size: 14 });
  return h('form', { class: 'me-lookup', id: 'me-lookup', onsubmit: (e) => { e.preventDefault(); const v = input.value.trim(); if (v) go('me', { member: v }); } },
    h('label', { for: 'me-member', text: '查看党员' }), input, h('button', { type: 'submit', text: '查看' }));
}

/** A card: a section with a title, `data-section`, and its body. */
function card(section, title, body, { wide = false, note = null, extra = null } = {}) {
  return h('section', { class: `me-card${wide ? ' wide' : ''}`, id: `me-${section}`, dataset: { section }, 'aria-labelledby': `me-${section}-title` },
    h('h3', { id: `me-${section}-title` }, h('span', { text: title }), extra),
    note ? h('p', { class: 'me-note', text: note }) : null,
    body);
}
const fig = (k, v, unit, cls) => h('div', { class: `me-fig${cls ? ` ${cls}` : ''}` },
  h('span', { class: 'me-fig-v' }, v, unit ? h('small', { text: unit }) : null), h('span', { class: 'me-fig-k', text: k }));

function headerCard(d, m, id) {
  const step = d.next_step;
  const stepBox = h('div', { class: 'me-next', id: 'next-step', dataset: { section: 'next-step' } },
    h('span', { class: 'me-next-k', text: '下一步' }));
  if (step && (step.text || step.step)) {
    stepBox.append(h('p', { class: 'me-next-text' }, keepDates(step.text || step.step)));
    if (step.earliest_on) {
      const on = day(step.earliest_on);
      const text = d.today && on <= d.today ? `培养已满一年，自 ${on} 起可确定为发展对象` : `最早可于 ${on} 确定为发展对象`;
      stepBox.append(h('p', { class: 'me-next-earliest', text }));
    }
    if (step.rule) stepBox.append(h('p', { class: 'me-next-rule', text: step.rule }));
  } else {
    stepBox.append(h('p', { class: 'me-next-text', text: '暂无待办的发展步骤' }));
  }
  return h('section', { class: 'me-header', id: 'me-header', dataset: { section: 'header' } },
    h('div', { class: 'me-id' },
      h('div', { class: 'me-avatar', 'aria-hidden': 'true', text: (m.name || '党').slice(0, 1) }),
      h('div', { class: 'me-who' },
        h('h2', { class: 'me-name', id: 'me-name', text: m.name || '—' }),
        h('p', { class: 'me-org', id: 'me-org', text: m.org_name || m.org_id || '' }),
        h('p', { class: 'me-meta' },
          h('span', { class: 'me-stage', id: 'me-stage', text: m.stage_label || VALUE_LABELS.stage[m.stage] || m.stage || '' }),
          h('span', { class: 'me-member-id', text: m.member_id || id }),
          m.stage_since ? h('span', { class: 'me-since', text: `${day(m.stage_since)} 起` }) : null))),
    stepBox,
    d.today ? h('p', { class: 'me-today', text: `数据截至 ${d.today}` }) : null);
}

function duesCard(dues) {
  const owed = num(dues.months_owed) || 0;
  const months = Array.isArray(dues.months) ? dues.months : [];
  const chips = months.length
    ? h('ol', { class: 'me-months', id: 'dues-months', 'aria-label': '各月缴纳情况' }, ...months.map((x) => {
      const mm = String(x.month || '');
      return h('li', { class: `me-month ${x.paid ? 'paid' : 'unpaid'}`, title: `${mm} ${x.paid ? '已缴' : '未缴'}`, dataset: { month: mm, paid: String(!!x.paid) } },
        h('span', { class: 'me-month-m', text: `${Number(mm.slice(5, 7)) || mm}月` }),
        h('span', { class: 'me-month-s', text: x.paid ? '已缴' : '未缴' }));
    }))
    : h('p', { class: 'me-empty', text: '今年暂无应缴月份' });
  return card('dues', '党费', [
    h('div', { class: 'me-figs' },
      fig(`${dues.year || ''}年已缴 / 应缴`, `${int(dues.paid_months)} / ${int(dues.due_months)}`, '个月'),
      fig('欠缴', int(owed), '个月', owed > 0 ? 'bad' : 'good'),
      fig('欠缴金额', yuan(dues.owed_fen), '元', owed > 0 ? 'bad' : '')),
    h('p', { class: 'me-line' }, '最近缴费月份：', h('strong', { id: 'dues-last', text: dues.last_paid_period || '—' }),
      dues.monthly_fen ? h('span', { class: 'me-muted', text: ` · 每月 ${yuan(dues.monthly_fen)} 元` }) : null),
    chips,
  ]);
}

function attendanceCard(a) {
  const kinds = Array.isArray(a.by_kind) ? a.by_kind : [];
  const table = kinds.length
    ? h('div', { class: 'table-wrap' }, h('table', { class: 'data me-table', id: 'attendance-kinds' },
      h('thead', {}, h('tr', {}, ...['会议', '应到', '出席', '请假', '缺席'].map((t, i) => h('th', { class: i ? 'num' : null, text: t })))),
      h('tbody', {}, ...kinds.map((k) => h('tr', { dataset: { kind: k.kind } },
        h('td', { text: k.label || VALUE_LABELS.kind[k.kind] || k.kind }),
        ...['invited', 'present', 'excused', 'absent'].map((c) => h('td', { class: `num${c === 'absent' && num(k[c]) > 0 ? ' bad' : ''}`, text: int(k[c]) })))))))
    : h('p', { class: 'me-empty', text: '今年暂无会议记录' });
  return card('attendance', '三会一课', [
    h('div', { class: 'me-figs' },
      fig(`${a.year || ''}年出席 / 应到`, `${int(a.present)} / ${int(a.invited)}`, '次'),
      fig('出席率', a.rate === null || a.rate === undefined ? '—' : pct(a.rate), null, 'rate')),
    table,
  ]);
}

/** A horizontal bar 0–`max` with `value`, and a mark at `mark` (SVG: no inline style under the CSP). */
function bar(value, max, mark, cls) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 100 10');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('class', `me-bar${cls ? ` ${cls}` : ''}`);
  svg.setAttribute('aria-hidden', 'true');
  const rect = (x, w, c) => {
    const r = document.createElementNS(SVG, 'rect');
    r.setAttribute('x', String(x)); r.setAttribute('y', '0'); r.setAttribute('width', String(w)); r.setAttribute('height', '10');
    r.setAttribute('class', c);
    return r;
  };
  const share = (v) => Math.max(0, Math.min(100, (100 * v) / (max || 1)));
  svg.append(rect(0, 100, 'track'));
  if (value !== null && value !== undefined && !Number.isNaN(value)) svg.append(rect(0, share(value), 'fill'));
  if (mark !== null && mark !== undefined && !Number.isNaN(mark)) svg.append(rect(Math.max(0, share(mark) - 0.6), 1.2, 'mark'));
  return svg;
}

function studyCard(s) {
  const minutes = num(s.minutes) || 0;
  const target = num(s.target_minutes) || 0;
  const expected = num(s.expected_minutes);
  const ahead = expected === null ? null : minutes >= expected;
  const recent = Array.isArray(s.recent) ? s.recent : [];
  return card('study', '学习', [
    h('div', { class: 'me-figs' },
      fig(`${s.year || ''}年已学 / 全年目标`, `${int(minutes)} / ${int(target)}`, '分钟'),
      fig('完成', target ? `${Math.round((100 * minutes) / target)}` : '—', '%', ahead === null ? '' : ahead ? 'good' : 'warn')),
    h('div', { class: 'me-progress', id: 'study-progress', dataset: { minutes: String(minutes), target: String(target), expected: expected === null ? '' : String(expected) } },
      bar(minutes, target, expected, ahead === false ? 'behind' : ''),
      h('div', { class: 'me-progress-legend' },
        h('span', {}, h('i', { class: 'key fill', 'aria-hidden': 'true' }), '已学'),
        expected !== null ? h('span', {}, h('i', { class: 'key mark', 'aria-hidden': 'true' }), `此时应达 ${int(expected)} 分钟`) : null,
        ahead === null ? null : h('span', { class: ahead ? 'good' : 'warn', text: ahead ? '进度正常' : `落后进度 ${int(expected - minutes)} 分钟` }))),
    h('h4', { text: '最近学习' }),
    recent.length
      ? h('ul', { class: 'me-list', id: 'study-recent' }, ...recent.map((r) => h('li', { dataset: { resource: r.resource_id } },
        h('span', { class: 'me-list-main' }, h('span', { class: 'me-list-title', text: r.title || r.resource_id }), r.topic ? h('span', { class: 'tag', text: r.topic }) : null),
        h('span', { class: 'me-list-side', text: `${int(r.minutes)} 分钟 · ${day(r.studied_on)}` }))))
      : h('p', { class: 'me-empty', text: '暂无学习记录' }),
  ]);
}

function scoreCard(score) {
  if (!score) {
    return card('score', '综合评价', h('p', { class: 'me-empty', id: 'score-none', text: '暂无综合评价（成为党员后按年度计算）' }));
  }
  const total = num(score.total_score);
  return card('score', '综合评价', [
    h('div', { class: 'me-score-total' },
      h('span', { class: 'me-score-v', id: 'score-total', text: total === null ? '—' : total.toFixed(1) }),
      h('span', { class: 'me-score-k', text: `${score.year || ''}年度综合得分（满分 100）` })),
    h('ul', { class: 'me-parts', id: 'score-parts' }, ...SCORE_PARTS.map(([k, lbl]) => {
      const v = num(score[k]);
      const na = v === null || Number.isNaN(v);
      return h('li', { class: na ? 'na' : null, dataset: { part: k } },
        h('span', { class: 'me-part-k', text: lbl }),
        bar(na ? null : v, 100, null, 'part'),
        h('span', { class: 'me-part-v', text: na ? '不适用' : v.toFixed(1) }));
    })),
  ], { note: '各项 0–100 分；不适用的项目不计入总分' });
}

function quizzesCard(quizzes) {
  const sorted = [...quizzes].sort((a, b) => String(b.taken_on || '').localeCompare(String(a.taken_on || '')));
  return card('quizzes', '测试', sorted.length
    ? h('ul', { class: 'me-list', id: 'quiz-list' }, ...sorted.map((q) => {
      const s = num(q.score_pct);
      return h('li', { dataset: { quiz: q.quiz_id } },
        h('span', { class: 'me-list-main' }, h('span', { class: 'me-list-title', text: q.topic || q.quiz_id }), h('span', { class: 'me-muted', text: day(q.taken_on) })),
        h('span', { class: `me-quiz-score${s !== null && s < 60 ? ' bad' : ''}`, text: s === null ? '—' : `${Math.round(s)} 分` }));
    }))
    : h('p', { class: 'me-empty', text: '暂无测试记录' }));
}

function warningsCard(warnings) {
  return card('warnings', '预警', warnings.length
    ? h('ul', { class: 'me-warnings', id: 'me-warning-list' }, ...warnings.map((w) => h('li', { class: `sev-line sev-line-${w.severity}`, dataset: { id: w.warning_id, severity: w.severity } },
      h('div', { class: 'me-w-head' },
        h('span', { class: `sev sev-${w.severity}`, text: VALUE_LABELS.severity[w.severity] || w.severity }),
        h('span', { class: 'me-w-title', text: w.title || w.rule })),
      w.message ? h('p', { class: 'me-w-msg' }, keepDates(w.message)) : null,
      h('p', { class: 'me-muted' }, `发出 ${fmtTime(w.raised_at)}`, w.deadline ? ` · 处理期限 ${fmtTime(w.deadline)}` : ''))))
    : h('p', { class: 'me-empty me-ok', id: 'no-warnings', text: '暂无预警' }),
  { wide: true, extra: warnings.length ? h('span', { class: 'badge', text: String(warnings.length) }) : null });
}

function noticesCard(n) {
  const items = Array.isArray(n.items) ? n.items : [];
  const unread = num(n.unread) || 0;
  return card('notices', '通知', items.length
    ? h('ul', { class: 'me-list', id: 'notice-list' }, ...items.map((x) => h('li', { dataset: { notice: x.notice_id } },
      h('span', { class: 'me-list-main' }, h('span', { class: 'me-list-title', text: x.title || x.notice_id })),
      h('span', { class: 'me-list-side', text: day(x.published_on) }))))
    : h('p', { class: 'me-empty', text: '暂无未读通知' }),
  { extra: h('span', { class: `badge${unread ? '' : ' zero'}`, id: 'notices-unread', text: `${unread} 条未读` }), note: unread > items.length ? `显示最近 ${items.length} 条` : null });
}
