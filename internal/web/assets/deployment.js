// One deployment: its traffic split, what it waits for, the actions, live charts of each
// version's signals, the timeline of its events (phases, reasons, evidence, hook results),
// its app's instances and the tail of their logs.

import { api, stream, session, isRunNotice } from './api.js';
import { h, pct, dur, clock, phaseBadge, phaseKind, splitBar, toast, confirmAction } from './dom.js';
import { lineChart } from './charts.js';
import { debounced, versionsOf } from './views.js';

const enc = encodeURIComponent;
const SPAN = 120000; // the charts show the last two minutes
// seriesOf keeps each app's samples while the page lives, so that leaving a deployment's page
// and coming back does not empty its charts.
const seriesOf = new Map();

// ACTIONS say what each command does, for its button and its confirmation.
const ACTIONS = {
  promote: { label: 'Promote', ok: 'Promote to 100%', text: (d) => `Skip the remaining steps and pauses: green ${d.green} takes all traffic now. Analysis and hooks after full traffic still run.` },
  approve: { label: 'Approve', ok: 'Approve', text: (d) => `Pass the approval gate: the deployment of ${d.green} moves on to its next step.` },
  pause: { label: 'Pause', ok: 'Pause', text: (d) => `Hold the traffic split where it is (green ${d.green} at ${pct(d.weight)}) until you resume.` },
  resume: { label: 'Resume', ok: 'Resume', text: () => 'Go on with the deployment from where it was paused.' },
  abort: { label: 'Abort', ok: 'Abort deployment', danger: true, text: (d) => `Send all traffic back to blue ${d.blue || ''} at once and stop green ${d.green}. The deployment ends as aborted.` },
  rollback: { label: 'Roll back', ok: 'Roll back', danger: true, text: (d) => `Return all traffic to the previous version ${d.blue} (still warm) and make it blue again.` },
};

function actionsFor(d, app) {
  if (!d.terminal) {
    return ['promote', 'approve', d.paused ? 'resume' : 'pause', 'abort'];
  }
  const latest = app && !app.active_deployment && app.blue === d.green;
  return d.phase === 'succeeded' && d.kind !== 'rollback' && d.blue && latest ? ['rollback'] : [];
}

// observedSplit says what the clients actually saw over the signals' window.
function observedSplit(sg, d) {
  if (!sg || d.terminal) return '';
  const total = sg.blue.requests + sg.green.requests;
  if (!total) return 'No requests in the last 10s.';
  const g = (100 * sg.green.requests) / total;
  return `Observed: green answered ${pct(g)} of ${total.toLocaleString()} requests in the last 10s.`;
}

function section(id, title, ...children) {
  return h('section', { class: 'panel panel-' + id, 'aria-labelledby': id + '-h' }, h('h2', { id: id + '-h', text: title }), ...children);
}

export function deployment(root, _ctx, id) {
  const admin = session.role === 'admin';
  let d = null, app = null, gone = false, closeStream = null, series = [];

  const title = h('h1', { tabindex: '-1', text: 'Deployment' });
  const badge = h('span', { id: 'phase' });
  const meta = h('p', { class: 'sub' });
  const newer = h('p', { class: 'note', hidden: true });
  const crumbApp = h('a', { href: '#/' });
  const split = splitBar({ blue: 'blue-pct', green: 'green-pct' });
  const step = h('p', { class: 'step', id: 'step' });
  const observed = h('p', { class: 'observed', id: 'observed' });
  const reason = h('p', { class: 'reason', id: 'reason' });
  const evidence = h('ul', { class: 'evidence' });
  const whyTitle = h('h3', { text: 'Waiting for' });
  const why = h('pre', { class: 'why', id: 'why' });
  const actions = h('div', { class: 'actions', id: 'actions' });
  const charts = {
    rate: lineChart({ id: 'chart-rate', title: 'Requests per second', unit: ' req/s', fmt: (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1)), floor: 1, span: SPAN }),
    errors: lineChart({ id: 'chart-errors', title: 'Error rate (5xx)', unit: '%', axisUnit: '%', fmt: (v) => v.toFixed(v >= 10 ? 0 : 1), floor: 1, span: SPAN }),
    p99: lineChart({ id: 'chart-p99', title: 'Latency p99', unit: ' ms', axisUnit: 'ms', fmt: (v) => (v >= 10 ? v.toFixed(0) : v.toFixed(1)), floor: 5, span: SPAN }),
  };
  const timeline = h('ol', { class: 'timeline', id: 'timeline' });
  const instBody = h('tbody');
  const logs = h('pre', { class: 'logs', id: 'logs', tabindex: '0', 'aria-label': 'Instance logs' });

  root.replaceChildren(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/', text: 'Apps' }), ' › ', crumbApp, ' › ', h('span', { 'aria-current': 'page', text: 'deployment' })),
    h('header', { class: 'page-head' }, title, badge), meta, newer,
    h('div', { class: 'dep-grid' },
      section('traffic', 'Traffic', split.el, step, observed, admin ? actions
        : h('p', { class: 'hint readonly', text: 'Read-only session: the actions are for the admin token.' })),
      section('now', 'Now', reason, evidence, whyTitle, why),
      section('signals', 'Signals per version (10s window, last 2 minutes)',
        h('div', { class: 'charts' }, charts.rate.el, charts.errors.el, charts.p99.el)),
      section('timeline', 'Timeline', timeline),
      section('instances', 'Instances', h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Instances', tabindex: '0' },
        h('table', { class: 'table' }, h('thead', {}, h('tr', {}, ['Instance', 'Version', 'Address', 'State'].map((c) => h('th', { scope: 'col', class: c === 'Address' ? 'addr' : '', text: c })))), instBody))),
      section('logs', 'Logs (tail)', logs)));

  function render() {
    if (!d) return;
    const live = versionsOf({ blue: d.blue }, d, lastSignals);
    const weight = d.terminal ? d.weight : live.weight;
    title.textContent = `${d.app}: ${d.kind === 'rollback' ? 'rollback to ' + d.green : (d.blue ? d.blue + ' → ' : '') + d.green}`;
    badge.replaceChildren(phaseBadge(d.phase, d.paused));
    crumbApp.textContent = d.app;
    crumbApp.href = `#/apps/${enc(d.app)}`;
    const took = (d.ended_at ? new Date(d.ended_at) : Date.now()) - new Date(d.created_at);
    meta.textContent = `Deployment ${d.id} · started ${clock(d.created_at)} · ${d.terminal ? 'took ' + dur(took) : 'running for ' + dur(took)}`;
    split.update(d.blue, d.green, weight);
    let s = d.steps ? `Step ${d.step || 0} of ${d.steps} · green at ${pct(weight)}` : `Green at ${pct(weight)}`;
    if (d.terminal) {
      const ph = d.phase.replace(/_/g, ' ');
      s = ph[0].toUpperCase() + ph.slice(1) + (d.steps ? ` at step ${d.step || 0} of ${d.steps}` : '');
    }
    else if (d.paused) s += ' · paused';
    else if (d.step_ends_at) s += ` · next step in ${dur(new Date(d.step_ends_at) - Date.now())}`;
    step.textContent = s;
    observed.textContent = d.traffic ? 'Provider: ' + d.traffic : observedSplit(lastSignals, d);
    whyTitle.textContent = d.terminal ? 'How it ended' : 'Waiting for';
    reason.textContent = d.reason;
    evidence.replaceChildren(...(d.evidence || []).map((e) => h('li', { text: e })));
    renderActions();
  }

  let shown = '';
  function renderActions() {
    if (!admin) return;
    const list = actionsFor(d, app);
    if (list.join() === shown) return; // keep the buttons, and the focus on one, as they are
    shown = list.join();
    actions.replaceChildren(...list.map((a) => h('button', {
      type: 'button', class: ACTIONS[a].danger ? 'danger' : 'secondary', 'data-action': a, text: ACTIONS[a].label,
      onclick: () => act(a),
    })));
    if (!list.length) actions.append(h('p', { class: 'hint', text: 'Nothing to do: this deployment has ended.' }));
  }

  async function act(a) {
    const spec = ACTIONS[a];
    const ok = await confirmAction({ title: `${spec.label} ${d.app}?`, text: spec.text(d), ok: spec.ok, danger: spec.danger });
    if (!ok) return;
    const path = `/api/v1/apps/${enc(d.app)}/${a}`;
    try {
      const res = await api(path, { method: 'POST' });
      toast(`${spec.label}: sent.`);
      if (a === 'rollback' && res && res.id) location.hash = `#/deployments/${enc(res.id)}`;
      else refreshRecord();
    } catch (e) {
      toast(`${spec.label} refused: ${e.message}`, 'error');
    }
  }

  function addEvent(n) {
    const e = n.event;
    const prev = timeline.lastElementChild;
    const changed = !prev || prev.dataset.phase !== e.phase;
    timeline.append(h('li', { class: `ev ev-${phaseKind(e.phase)}${changed ? ' ev-phase-start' : ''}${/\bhook\b/i.test(e.message) ? ' ev-hook' : ''}`, 'data-phase': e.phase },
      h('time', { datetime: e.at, text: clock(e.at) }),
      h('span', { class: 'ev-phase', text: e.phase.replace(/_/g, ' ') }),
      h('span', { class: 'ev-weight', text: 'green ' + pct(e.weight) }),
      h('p', { class: 'ev-msg', text: e.message })));
    if (e.phase && ['succeeded', 'rolled_back', 'failed', 'aborted'].includes(e.phase) && closeStream) {
      closeStream(); // ended: the server closes the stream, and the browser must not replay it
      closeStream = null;
    }
  }

  async function refreshRecord() {
    try {
      const was = d;
      d = await api(`/api/v1/deployments/${enc(id)}`);
      app = await api(`/api/v1/apps/${enc(d.app)}`).catch(() => app);
      if (!seriesOf.has(d.app)) seriesOf.set(d.app, []);
      series = seriesOf.get(d.app);
      if (gone) return;
      render();
      if (was && was.phase !== d.phase) pollSide();
    } catch (e) {
      if (!gone && !d) meta.textContent = e.message;
    }
  }

  let lastSignals = null;
  async function pollSignals() {
    if (!d) return;
    try {
      const sg = await api(`/api/v1/apps/${enc(d.app)}/signals?window=10s`);
      if (gone) return;
      lastSignals = sg;
      const now = Date.now();
      const val = (v, f) => (v.requests > 0 ? f(v) : null);
      series.push({
        t: now,
        rate: { blue: sg.blue.rate, green: sg.green.version ? sg.green.rate : null },
        errors: { blue: val(sg.blue, (v) => v.error_rate * 100), green: val(sg.green, (v) => v.error_rate * 100) },
        p99: { blue: val(sg.blue, (v) => v.p99_ms), green: val(sg.green, (v) => v.p99_ms) },
      });
      while (series.length && series[0].t < now - SPAN) series.shift();
      const names = { blue: sg.blue.version || d.blue, green: sg.green.version || (d.kind === 'rollback' ? '' : d.green) };
      for (const k of Object.keys(charts)) charts[k].update(series.map((p) => ({ t: p.t, ...p[k] })), names, now);
      render();
    } catch { /* no routes yet, or a blip: the next tick tries again */ }
  }

  async function pollSide() {
    if (!d) return;
    const [w, ins] = await Promise.all([
      api(`/api/v1/apps/${enc(d.app)}/why`).catch(() => null),
      api(`/api/v1/apps/${enc(d.app)}/instances`).catch(() => null),
    ]);
    if (gone) return;
    why.textContent = w && w.deployment === d.id ? w.text : d.terminal ? 'Nothing: the deployment has ended.' : 'A newer deployment is the one in progress.';
    if (ins) {
      instBody.replaceChildren(...(ins.length ? ins.flatMap((i) => {
        const color = i.version === d.green && i.version !== d.blue ? 'green' : i.version === d.blue ? 'blue' : 'other';
        const state = !i.running ? 'stopped' : i.healthy ? 'healthy' : 'unhealthy';
        const rows = [h('tr', { class: i.reason ? 'has-reason' : '' },
          h('td', { class: 'mono', text: i.id }),
          h('td', {}, h('span', { class: 'vtag vtag-' + color, text: `${color === 'other' ? '' : color + ' '}${i.version}` })),
          h('td', { class: 'mono addr', text: i.addr }),
          h('td', {}, h('span', { class: 'state state-' + state, text: state })))];
        // A reason (why it stopped, with its last log lines) can be long: it gets a row of its own.
        if (i.reason) rows.push(h('tr', { class: 'reason-row' }, h('td', { colspan: '4' }, h('div', { class: 'clamp', title: i.reason, text: i.reason }))));
        return rows;
      }) : [h('tr', {}, h('td', { colspan: '4', text: 'No instances running.' }))]));
    }
  }

  async function pollLogs() {
    if (!d) return;
    try {
      const lines = await api(`/api/v1/apps/${enc(d.app)}/logs?lines=30`);
      if (gone) return;
      const atEnd = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
      logs.textContent = lines && lines.length ? lines.slice(-120).map((l) => `${l.instance} │ ${l.line}`).join('\n') : '(no output yet)';
      if (atEnd) logs.scrollTop = logs.scrollHeight;
    } catch { /* next tick */ }
  }

  const soonRecord = debounced(refreshRecord, 100);
  refreshRecord().then(() => { pollSignals(); pollSide(); pollLogs(); });
  closeStream = stream(`/api/v1/deployments/${enc(id)}/events`, (n) => { addEvent(n); soonRecord(); },
    { onOpen: () => timeline.replaceChildren() }); // each (re)connection replays every event
  const timers = [setInterval(pollSignals, 1000), setInterval(pollSide, 2000), setInterval(pollLogs, 3000),
    setInterval(() => { if (d && !d.terminal) render(); }, 1000)];

  return {
    notice(n) {
      if (!d || n.app !== d.app || n.deployment === d.id || isRunNotice(n)) return;
      newer.replaceChildren('A newer deployment of this app started: ', h('a', { href: `#/deployments/${enc(n.deployment)}`, text: 'follow it' }), '.');
      newer.hidden = false;
    },
    destroy() {
      gone = true;
      timers.forEach(clearInterval);
      if (closeStream) closeStream();
    },
  };
}
