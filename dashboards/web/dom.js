// Building the page: elements from data only through text (never HTML), the page's state on
// <body> for the browser tests, and the error box.

/** `h('p', {class, text, onclick, dataset, …}, ...children)`: an element; strings become text nodes. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** The <main> the pages draw into. */
export const view = () => document.getElementById('view');

/** Marks the page on <body>: data-view (which page) and data-state (loading | ready | error | forbidden). */
export function setState(page, state) {
  document.body.dataset.view = page;
  document.body.dataset.state = state;
}

/** An ApiError (or any error) as an alert box, with `extra` (e.g. a link) below it. */
export function errorBox(err, extra) {
  const box = h('div', { class: 'error-box', role: 'alert' },
    h('strong', { text: err.status === 403 ? '无权访问' : '出错了' }),
    h('code', { class: 'error-key', text: err.key || 'error' }),
    h('span', { class: 'error-message', text: err.message }));
  if (err.field) box.append(h('span', { class: 'error-field', text: `字段：${err.field}` }));
  if (extra) box.append(extra);
  return box;
}
