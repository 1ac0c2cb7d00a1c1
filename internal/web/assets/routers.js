// The routers panel of the overview: the server's own router and every router following its
// table (cutover router --follow), with the table each serves and how far it lags.

import { api } from './api.js';
import { h, dur } from './dom.js';

// lagText says how far a router's table is behind the server's.
export function lagText(r) {
  if (r.local) return 'the server’s table';
  if (r.behind < 0) return 'other server’s table';
  if (r.behind === 0) return 'up to date';
  return r.behind === 1 ? '1 table behind' : `${r.behind} tables behind`;
}

function seenText(r, now) {
  if (r.local) return 'in this server';
  if (!r.last_seen) return 'never reported';
  const ago = dur(now - new Date(r.last_seen)) + ' ago';
  return r.stale ? `stale: last report ${ago}, left out of the signals` : `reported ${ago}`;
}

function row(r, now) {
  const lagging = !r.local && r.behind !== 0;
  return h('tr', { 'data-router': r.name },
    h('th', { scope: 'row', text: r.local ? 'this server' : r.name }),
    h('td', { text: (r.listen || []).join(', ') || (r.local ? 'the server’s routes' : '–') }),
    h('td', { class: 'num', text: String(r.table_version) }),
    h('td', { class: lagging ? 'lag warn' : 'lag', text: lagText(r) }),
    h('td', { class: r.stale ? 'seen warn' : 'seen', text: seenText(r, now) }));
}

// routersPanel returns the panel and its refresh; it stays hidden until the API answers.
export function routersPanel() {
  const body = h('tbody');
  const count = h('p', { class: 'sub' });
  const el = h('section', { class: 'routers', 'aria-labelledby': 'routers-title', hidden: true },
    h('h2', { id: 'routers-title', text: 'Routers' }), count,
    h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Routers', tabindex: '0' },
      h('table', { class: 'table' },
        h('caption', { class: 'visually-hidden', text: 'The routers serving this server’s table' }),
        h('thead', {}, h('tr', {}, ['Router', 'Listens on', 'Table', 'Lag', 'Last report'].map((c) => h('th', { scope: 'col', text: c })))),
        body)));
  async function refresh() {
    let rs;
    try { rs = await api('/api/v1/routers'); } catch { return; }
    const now = Date.now();
    body.replaceChildren(...rs.map((r) => row(r, now)));
    const followers = rs.filter((r) => !r.local);
    count.textContent = followers.length
      ? `${followers.length} following ${followers.length === 1 ? 'router' : 'routers'}; analysis sums what every live one sees.`
      : 'Only this server’s router. Others follow it with cutover router --follow URL --token T.';
    el.hidden = false;
  }
  return { el, refresh };
}
