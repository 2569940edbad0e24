// 党建驾驶舱 — the web cockpit of dangjian: the entry module (router, navigation, sign-out).
//
// Plain ES modules, no framework, no build step; the files are embedded in the binary and
// served under /assets/. Pages are hash routes:
//   #/signin                                  sign in with a bearer token (pages/signin.js)
//   #/cockpit?org=C01&from=2026-01&to=2026-11[&refresh=60]
//                                             the big screen; drill-down by org, period picker
//                                             (pages/cockpit.js)
//   #/warnings?status=open&severity=&rule=&org=&id=
//                                             warnings in the caller's scope, detail, acknowledge
//                                             (pages/warnings.js)
//   #/sql                                     SQL console (admin, leader, analyst; pages/sql.js)
//   #/me[?member=M000123]                     我的党建: a member's own record (a member: their
//                                             own, and nothing else of the cockpit; secretary,
//                                             leader, admin: a member of their scope; pages/me.js)
// The other modules: api.js (requests with the token, errors, whoami), route.js (hash routes),
// dom.js (elements, page state), format.js (labels, units, numbers, dates), charts.js (ECharts
// and the option builders), panels.js (the cockpit's panels), period.js (the period picker).
// The server decides what the caller may see, the page only hides what the role cannot use.
// Charts are Apache ECharts (vendored, global `echarts`, loaded by charts.js). For the browser
// tests the page marks its state on <body>: data-view (the page) and data-state (loading |
// ready | error), and window.__dj holds the cockpit's timings.

import { session, whoami } from './api.js';
import { errorBox, h, setState, view } from './dom.js';
import { roleLabel } from './format.js';
import { defaultRoute, go, leave, parseHash } from './route.js';
import { cockpitPage, forgetDashboards } from './pages/cockpit.js';
import { mePage } from './pages/me.js';
import { signinPage } from './pages/signin.js';
import { sqlPage } from './pages/sql.js';
import { warningsPage } from './pages/warnings.js';

const SQL_ROLES = ['admin', 'leader', 'analyst'];
const ME_ROLES = ['member', 'secretary', 'leader', 'admin'];

async function router() {
  leave();
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
    if (err.status !== 401) { setState('error', 'error'); view().replaceChildren(errorBox(err)); }
    return;
  }
  // A member has their own page and nothing else (the server refuses them the rest).
  if (me.role === 'member' && route !== 'me') { go('me'); return; }
  renderNav(me, route);
  switch (route) {
    case 'me': return ME_ROLES.includes(me.role) ? mePage(me, params) : noAccessPage('我的党建');
    case 'cockpit': return me.role === 'producer' ? noAccessPage('驾驶舱') : cockpitPage(me, params);
    case 'warnings': return me.role === 'producer' ? noAccessPage('预警') : warningsPage(me, params);
    case 'sql': return SQL_ROLES.includes(me.role) ? sqlPage(me) : noAccessPage('SQL 控制台');
    default: go(defaultRoute(me));
  }
}

function renderNav(me, route) {
  const nav = document.getElementById('nav');
  const signout = document.getElementById('signout');
  document.getElementById('who-name').textContent = me ? [me.name, roleLabel(me.role), me.scope].filter(Boolean).join(' · ') : '';
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
  // The member's page names the org in its own header.
  if (route === 'me') document.getElementById('org-name').textContent = '';
}
function noAccessPage(what) {
  setState('forbidden', 'ready');
  view().replaceChildren(h('div', { class: 'page-message' },
    h('h2', { text: '无权访问' }), h('p', { text: `当前角色不能使用${what}。` })));
}

document.getElementById('signout').addEventListener('click', () => {
  session.token = null;
  session.me = null;
  forgetDashboards();
  go('signin');
});
window.addEventListener('hashchange', router);
router();
