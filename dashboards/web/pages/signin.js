// #/signin[?expired=1] — sign in with a bearer token (kept in sessionStorage only).

import { session, whoami } from '../api.js';
import { h, setState, view } from '../dom.js';
import { defaultRoute, go } from '../route.js';

export function signinPage(params) {
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
  view().replaceChildren(form);
  input.focus();
}
