// Hash routes (`#/<route>?<params>`) and the current page's clean-up; the router itself is in
// app.js.

/** The route and its parameters from location.hash. */
export function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?');
  return { route: path || '', params: new URLSearchParams(query || '') };
}
/** `#/route?k=v…`, empty parameters left out. */
export function routeHash(route, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return `#/${route}${s ? `?${s}` : ''}`;
}
export function go(route, params = {}) { location.hash = routeHash(route, params); }

/** Draws the current route again (as a change of the hash would). */
export function redraw() { window.dispatchEvent(new HashChangeEvent('hashchange')); }

/** Where a signed-in caller lands. */
export function defaultRoute(me) {
  if (me.role === 'secretary') return 'warnings';
  if (me.role === 'producer') return 'none';
  if (me.role === 'member') return 'me';
  return 'cockpit';
}

let teardown = null; // disposes the current page (charts, timers)
/** Registers what disposes the current page when the route changes. */
export function onLeave(fn) { teardown = fn; }
/** Disposes the current page (called by the router before it draws the next). */
export function leave() {
  if (teardown) { teardown(); teardown = null; }
}
