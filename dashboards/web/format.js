// What the page writes: labels (user-facing text is Chinese; codes stay in the data), units,
// numbers, dates, and the escaping of text drawn in chart tooltips.

import { serverNow } from './api.js';

// ---------------------------------------------------------------------------------------------
// Labels

export const VALUE_LABELS = {
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
  band_label: '得分区间', last_paid_period: '最近缴费月份', level: '层级',
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

export const label = (column, model) => (MODEL_LABELS[model] && MODEL_LABELS[model][column]) || COLUMN_LABELS[column] || column;
export function valueLabel(column, value) {
  if (value === null || value === undefined) return '—';
  const map = VALUE_LABELS[column];
  if (map && Object.prototype.hasOwnProperty.call(map, value)) return map[value];
  return String(value);
}
export function roleLabel(role) {
  return { admin: '管理员', leader: '领导', analyst: '分析员', secretary: '书记', producer: '数据接入', member: '党员' }[role] || role;
}

// ---------------------------------------------------------------------------------------------
// Units: each panel of the dashboard JSON carries `units`, measure → unit, as its spec declares
// them (dashboards/specs/*.toml, `[panels.units]`; the list is in dashboards/src/cockpit/spec.rs): count,
// share (0–1, shown as %), average, minutes, hours, score, index, statistic, flag, text. Only
// `share` is drawn differently; the others tell measures apart (a second axis). Anything
// undeclared is a count.

export const unitOf = (panel, column) => (panel && panel.units && panel.units[column]) || 'count';

// ---------------------------------------------------------------------------------------------
// Numbers and dates

const intFmt = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 0 });
const decFmt = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 2 });

/** A figure of `column`, in its `unit` (see unitOf; default count). */
export function fmtNumber(column, value, unit = 'count') {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? '是' : '否';
  if (typeof value !== 'number') {
    const n = Number(value);
    if (!Number.isFinite(n) || typeof value === 'string' && value.trim() === '') return valueLabel(column, value);
    value = n;
  }
  if (column === 'p_value') return fmtP(value);
  if (/^(year|grade|month|period)$|_id$/.test(column)) return String(value);
  if (unit === 'share') return `${(value * 100).toFixed(1)}%`;
  if (Number.isInteger(value)) return intFmt.format(value);
  return decFmt.format(value);
}
/**
 * Text for a tooltip. Tooltips are drawn as ECharts rich text on the canvas
 * (`renderMode: 'richText'`), never as HTML, so an org or series name — which secretaries
 * write — cannot become markup, and the page needs no inline style under its CSP. Braces
 * are rich-text syntax: shown as full-width ones.
 */
export function plain(value) {
  return (value === null || value === undefined ? '' : String(value)).replace(/\{/g, '｛').replace(/\}/g, '｝');
}
export function fmtP(p) {
  if (p === null || p === undefined) return '—';
  if (p < 0.001) return '< 0.001';
  return p.toFixed(3);
}
/** A table cell: figures by fmtNumber, codes by their label. */
export function fmtCell(column, value, unit) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number' || typeof value === 'boolean') return fmtNumber(column, value, unit);
  if (typeof value === 'object') return JSON.stringify(value);
  return valueLabel(column, value);
}
export function fmtTime(iso) {
  if (!iso) return '—';
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso.replace(/-/g, '/'); // a day, not an instant
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}
export function fmtAge(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  const mins = Math.round((serverNow() - d.getTime()) / 60000);
  if (mins < 0) return '';
  if (mins < 1) return '刚刚';
  if (mins < 60) return `${mins} 分钟前`;
  if (mins < 48 * 60) return `${Math.round(mins / 60)} 小时前`;
  return `${Math.round(mins / 1440)} 天前`;
}
