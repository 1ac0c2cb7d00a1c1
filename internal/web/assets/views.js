// The apps overview and an app's page (its pipeline runs and its history). A view is
// mount(root, ctx) returning { notice(n), destroy() }: the shell passes it the server's
// notices and tears it down on navigation.

import { api, isRunNotice } from './api.js';
import { h, dur, clock, dateTime, phaseBadge, splitBar } from './dom.js';
import { routersPanel } from './routers.js';
import { pipelinePanel } from './pipeline.js';

const enc = encodeURIComponent;

// debounced runs fn at most once per ms, after the last call.
export function debounced(fn, ms) {
  let t = 0;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

// appState reads what a card shows of one app. Missing parts (no deployments yet, no
// routes) are left empty rather than failing the card.
async function appState(name) {
  const [app, hist, instances, signals] = await Promise.all([
    api(`/api/v1/apps/${enc(name)}`),
    api(`/api/v1/apps/${enc(name)}/deployments`).catch(() => []),
    api(`/api/v1/apps/${enc(name)}/instances`).catch(() => []),
    api(`/api/v1/apps/${enc(name)}/signals?window=10s`).catch(() => null),
  ]);
  return { app, latest: hist[0] || null, instances, signals };
}

// versions says which version is blue and which green now, and green's live share.
export function versionsOf(app, latest, signals) {
  const active = latest && !latest.terminal;
  const blue = active ? latest.blue : app.blue;
  const green = active ? latest.green : '';
  let weight = active ? latest.weight : 0;
  if (active && signals) weight = signals.weight;
  return { blue, green, weight, active };
}

// health counts healthy instances per version: "2/2 healthy".
export function healthOf(instances, version) {
  const mine = instances.filter((i) => i.version === version);
  const ok = mine.filter((i) => i.running && i.healthy).length;
  return { ok, all: mine.length };
}

function healthChip(label, version, instances) {
  const { ok, all } = healthOf(instances, version);
  const state = all === 0 ? 'none' : ok === all ? 'ok' : ok === 0 ? 'bad' : 'warn';
  const word = all === 0 ? 'no instances' : `${ok}/${all} healthy`;
  return h('li', { class: 'hchip hchip-' + state }, h('span', { class: 'hdot', 'aria-hidden': 'true' }), `${label} ${version}: ${word}`);
}

// trafficRows are each version's last 10 seconds, in numbers.
function trafficRows(v, signals) {
  const row = (label, ver, sig) => h('tr', {},
    h('th', { scope: 'row' }, h('span', { class: 'vtag vtag-' + label.toLowerCase(), text: `${label.toLowerCase()} ${ver}` })),
    h('td', { text: sig && sig.requests ? sig.rate.toFixed(sig.rate >= 100 ? 0 : 1) : '0' }),
    h('td', { text: sig && sig.requests ? (sig.error_rate * 100).toFixed(1) + '%' : '–' }),
    h('td', { text: sig && sig.requests ? sig.p99_ms.toFixed(sig.p99_ms >= 10 ? 0 : 1) + ' ms' : '–' }));
  const rows = [];
  if (v.blue) rows.push(row('Blue', v.blue, signals && signals.blue));
  if (v.green) rows.push(row('Green', v.green, signals && signals.green));
  return rows;
}

function card(name) {
  const link = h('a', { href: `#/apps/${enc(name)}`, text: name });
  const badge = h('span');
  const split = splitBar();
  const step = h('p', { class: 'step' });
  const health = h('ul', { class: 'health', 'aria-label': 'Instance health' });
  const reason = h('p', { class: 'reason' });
  const stats = h('tbody');
  const statsTable = h('table', { class: 'mini' },
    h('caption', { class: 'visually-hidden', text: `Traffic of ${name} per version, last 10 seconds` }),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Last 10s' }), h('th', { scope: 'col', text: 'req/s' }),
      h('th', { scope: 'col', text: 'errors' }), h('th', { scope: 'col', text: 'p99' }))),
    stats);
  const depLink = h('a', { class: 'button quiet', text: 'Deployment' });
  const histLink = h('a', { class: 'button quiet', href: `#/apps/${enc(name)}`, text: 'History' });
  const el = h('article', { class: 'card', 'aria-labelledby': 'app-' + name, 'data-app': name },
    h('header', { class: 'card-head' }, h('h2', { id: 'app-' + name }, link), badge),
    split.el, step, health, statsTable, reason, h('footer', { class: 'card-foot' }, depLink, histLink));
  function update({ app, latest, instances, signals }) {
    const v = versionsOf(app, latest, signals);
    split.update(v.blue, v.green, v.weight);
    badge.replaceChildren(phaseBadge(latest && latest.phase, latest && latest.paused));
    let st = v.active && latest.steps ? `Step ${latest.step || 0} of ${latest.steps}` : '';
    if (st && latest.paused) st += ' · paused';
    else if (st && latest.step_ends_at) st += ` · next step at ${clock(latest.step_ends_at)}`;
    step.textContent = st;
    step.hidden = !step.textContent;
    const chips = [];
    if (v.blue) chips.push(healthChip('Blue', v.blue, instances));
    if (v.green) chips.push(healthChip('Green', v.green, instances));
    if (!chips.length) chips.push(h('li', { class: 'hchip hchip-none', text: 'No release deployed yet' }));
    health.replaceChildren(...chips);
    const rows = trafficRows(v, signals);
    stats.replaceChildren(...rows);
    statsTable.hidden = !rows.length || !signals;
    reason.textContent = latest ? latest.reason : 'Deploy a first version: cutover deploy ' + name + ' --version v1';
    depLink.hidden = !latest;
    if (latest) {
      depLink.href = `#/deployments/${enc(latest.id)}`;
      link.href = depLink.href;
      depLink.textContent = v.active ? 'Follow deployment' : 'Last deployment';
    }
  }
  return { el, update };
}

export function overview(root) {
  const list = h('div', { class: 'cards' });
  const empty = h('p', { class: 'empty', hidden: true }, 'No apps yet. Apply a spec with ', h('code', { text: 'cutover apply -f app.yaml' }), '.');
  const routers = routersPanel();
  root.replaceChildren(h('h1', { tabindex: '-1', text: 'Apps' }), empty, list, routers.el);
  const cards = new Map();
  let gone = false;

  async function refreshApp(name) {
    const st = await appState(name);
    if (gone) return;
    let c = cards.get(name);
    if (!c) {
      c = card(name);
      cards.set(name, c);
      list.append(c.el);
    }
    c.update(st);
  }
  async function refreshAll() {
    try {
      const apps = await api('/api/v1/apps');
      if (gone) return;
      const names = new Set(apps.map((a) => a.name));
      for (const [n, c] of cards) if (!names.has(n)) { c.el.remove(); cards.delete(n); }
      empty.hidden = apps.length > 0;
      await Promise.all([...apps.map((a) => refreshApp(a.name).catch(() => {})), routers.refresh()]);
    } catch { /* the shell shows the login on 401; a network blip retries at the next tick */ }
  }
  const soon = new Map();
  refreshAll();
  const timer = setInterval(refreshAll, 2000);
  return {
    notice(n) {
      if (isRunNotice(n)) return; // the cards show no pipeline
      if (!soon.has(n.app)) soon.set(n.app, debounced(() => refreshApp(n.app).catch(() => {}), 100));
      soon.get(n.app)();
    },
    destroy() { gone = true; clearInterval(timer); },
  };
}

// history is an app's page: its pipeline's latest runs (when it has any), then its
// deployments with outcomes and durations.
export function history(root, _ctx, name) {
  const title = h('h1', { tabindex: '-1', text: `${name}: history` });
  const summary = h('p', { class: 'sub' });
  const body = h('tbody');
  const table = h('table', { class: 'table' },
    h('caption', { class: 'visually-hidden', text: `Deployments of ${name}, newest first` }),
    h('thead', {}, h('tr', {}, ['Started', 'Change', 'Outcome', 'Duration', 'Reason'].map((c) => h('th', { scope: 'col', text: c })))),
    body);
  const pipeline = pipelinePanel(name);
  root.replaceChildren(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/', text: 'Apps' }), ' › ', h('span', { 'aria-current': 'page', text: name })),
    title, summary, pipeline.el, h('h2', { class: 'section-title', id: 'deployments-h', text: 'Deployments' }),
    h('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'deployments-h', tabindex: '0' }, table));
  let gone = false, sig = '', running = [];

  function row(d) {
    const change = d.kind === 'rollback' ? `rollback to ${d.green}` : d.blue ? `${d.blue} → ${d.green}` : `first: ${d.green}`;
    const durCell = h('td', { class: 'num' });
    if (d.terminal) durCell.textContent = dur(new Date(d.ended_at || d.created_at) - new Date(d.created_at));
    else running.push({ cell: durCell, since: new Date(d.created_at) });
    return h('tr', {},
      h('td', { class: 'nowrap', text: dateTime(d.created_at) }),
      h('td', {}, h('a', { href: `#/deployments/${enc(d.id)}`, text: change })),
      h('td', {}, phaseBadge(d.phase, d.paused)),
      durCell,
      h('td', { class: 'reason-cell', text: d.reason }));
  }
  function tick() {
    for (const r of running) r.cell.textContent = dur(Date.now() - r.since) + ' so far';
  }
  async function refresh() {
    try {
      const [app, hist] = await Promise.all([api(`/api/v1/apps/${enc(name)}`), api(`/api/v1/apps/${enc(name)}/deployments`)]);
      if (gone) return;
      const ok = hist.filter((d) => d.phase === 'succeeded').length;
      summary.textContent = `Blue (serving): ${app.blue || 'none yet'} · ${hist.length} deployments, ${ok} succeeded`;
      const next = JSON.stringify(hist);
      if (next === sig) return;
      sig = next;
      running = [];
      body.replaceChildren(...(hist.length ? hist.map(row) : [h('tr', {}, h('td', { colspan: '5', text: 'No deployments yet.' }))]));
      tick();
    } catch (e) {
      if (!gone) summary.textContent = e.message;
    }
  }
  refresh();
  const timers = [setInterval(refresh, 5000), setInterval(tick, 1000)];
  const soon = debounced(refresh, 150);
  return {
    notice(n) {
      if (n.app !== name) return;
      pipeline.notice(); // a run's deploy stage follows its deployment's notices too
      if (!isRunNotice(n)) soon();
    },
    destroy() { gone = true; timers.forEach(clearInterval); pipeline.destroy(); },
  };
}
