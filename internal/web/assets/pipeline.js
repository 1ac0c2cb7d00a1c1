// An app's pipeline on its page: the latest runs, each a row (run, commit, trigger, phase)
// with its stages as a row of boxes; a build or test stage's box opens its whole log below
// the row. The panel stays hidden while the app has no runs (or the server no pipelines).

import { api, session } from './api.js';
import { h, dur, dateTime, toast, confirmAction } from './dom.js';

const enc = encodeURIComponent;
const LIMIT = 10;

// A run's phase: its badge's kind (the badge-* colours) and symbol. Superseded and canceled
// runs ended without deploying, but nothing failed: they are grey.
const PHASES = {
  queued: ['run', '…'],
  running: ['run', '▶'],
  waiting_approval: ['run', '‖'],
  succeeded: ['ok', '✓'],
  failed: ['bad', '✕'],
  superseded: ['none', '⤼'],
  canceled: ['none', '–'],
};
const ENDED = new Set(['succeeded', 'failed', 'superseded', 'canceled']);

// A stage's status: its symbol, said again in words beside it.
const STAGE_SYM = { passed: '✓', failed: '✕', running: '▶', pending: '○', skipped: '⤼' };
const TRIGGERS = { poll: 'Found by polling the repository', webhook: 'Started by a push webhook', manual: 'Started by hand (cutover pipeline run)' };

export function runBadge(phase) {
  const [kind, sym] = PHASES[phase] || ['run', '▶'];
  return h('span', { class: 'badge badge-' + kind, 'data-phase': phase },
    h('span', { 'aria-hidden': 'true', text: sym }), ' ' + phase.replace(/_/g, ' '));
}

// fill replaces el's children, leaving out the absent ones (null, false) as h() does.
function fill(el, ...kids) {
  el.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false));
}

// hasLog is true for the stages whose box opens their log: the commands the pipeline ran.
const hasLog = (st) => st.kind === 'build' || st.kind === 'test';

// stageDetail is the box's second line: how long the stage took (or has run so far), and
// for a failed stage its exit status.
function stageDetail(st, now) {
  const exit = st.exit !== undefined && st.exit !== null;
  switch (st.status) {
    case 'passed': return took(st) || 'passed';
    case 'failed': return [exit ? 'exit ' + st.exit : 'failed', took(st)].filter(Boolean).join(' · ');
    case 'running': { // an approval gate waits rather than runs
      const word = st.kind === 'approval' ? 'waiting' : 'running';
      return st.started ? word + ' ' + dur(now - new Date(st.started)) : word;
    }
    default: return st.status; // pending, skipped
  }
}

// took is the stage's duration as the server rounds it (to 10ms): "0s" is under 10ms.
const took = (st) => (st.duration === '0s' ? '<10ms' : st.duration);

function stageTitle(st) {
  let t = `${st.name} (${st.kind}): ${st.status}`;
  if (st.exit !== undefined && st.exit !== null) t += `, exit ${st.exit}`;
  if (st.duration) t += `, ${took(st)}`;
  if (st.note) t += ` · ${st.note}`;
  if (hasLog(st)) t += ' · click for its log';
  return t;
}

// runRow is one run's row; update() rebuilds its parts when the run changed, and keeps its
// log panel (and the focus on a stage's box) as they were.
function runRow(panel, id) {
  const idCell = h('div', { class: 'run-id' });
  const commit = h('div', { class: 'run-commit' });
  const trigger = h('div', { class: 'run-trigger' });
  const phase = h('div', { class: 'run-phase' });
  const stages = h('ol', { class: 'stages', 'aria-label': `Stages of ${id}` });
  const reason = h('p', { class: 'run-reason clamp', hidden: true });
  const actions = h('div', { class: 'run-actions', hidden: true });
  const logName = h('span');
  const logPre = h('pre', { class: 'logs', tabindex: '0', 'aria-label': `Stage log of ${id}` });
  const logBox = h('div', { class: 'stage-log', id: 'log-' + id, hidden: true },
    h('p', { class: 'stage-log-head' }, logName,
      h('button', { type: 'button', class: 'quiet', text: 'Close log', onclick: () => panel.toggleLog(id, null) })),
    logPre);
  const rowEl = h('div', { class: 'run-row' }, idCell, commit, trigger, phase, h('div', { class: 'run-stages' }, stages));
  const el = h('li', { class: 'run', 'data-run': id }, rowEl, reason, actions, logBox);
  let sig = '', run = null, ticks = [];

  function box(st, now) {
    const detail = h('span', { class: 'stage-detail', text: stageDetail(st, now) });
    if (st.status === 'running' && st.started) ticks.push({ st, detail });
    const inner = [h('span', { class: 'stage-name' }, h('span', { class: 'stage-sym', 'aria-hidden': 'true', text: STAGE_SYM[st.status] || '•' }), ' ' + st.name,
      h('span', { class: 'visually-hidden', text: ': ' + st.status })), detail];
    const attrs = { class: `stage stage-${st.status} stage-kind-${st.kind}`, 'data-stage': st.name, 'data-status': st.status, 'data-kind': st.kind, title: stageTitle(st) };
    if (!hasLog(st)) return h('li', {}, h('span', attrs, ...inner));
    const open = panel.isOpen(id, st.name);
    return h('li', {}, h('button', { type: 'button', ...attrs, 'aria-expanded': open ? 'true' : 'false', 'aria-controls': 'log-' + id,
      onclick: () => panel.toggleLog(id, st.name) }, ...inner));
  }

  function update(r) {
    const next = JSON.stringify(r);
    if (next === sig) {
      const open = panel.openStage(id), st = open && stageOf(r, open);
      if (st && st.status === 'running') loadLog(open, false); // its log grows with no change to the run
      return;
    }
    const was = run;
    sig = next;
    run = r;
    const now = Date.now();
    idCell.replaceChildren(h('span', { class: 'mono run-name', text: r.id }), h('time', { datetime: r.created_at, text: dateTime(r.created_at) }));
    const c = r.commit || {};
    fill(commit, ...(c.short
      ? [h('code', { class: 'sha', title: c.sha, text: c.short }), ' ', h('span', { class: 'subject', text: c.subject || '(no subject)' }),
        c.author ? h('span', { class: 'author', text: ' by ' + c.author }) : null]
      : [h('span', { class: 'author', text: 'The branch head, not fetched yet' })]));
    fill(trigger, h('span', { class: 'trigger', title: TRIGGERS[r.trigger] || r.trigger, text: r.trigger }),
      r.resumed ? h('span', { class: 'resumed', title: `Resumed after ${r.resumed} server restart${r.resumed === 1 ? '' : 's'}`, text: ' ↻' }) : null);
    fill(phase, runBadge(r.phase),
      r.deployment ? h('a', { class: 'run-dep', href: `#/deployments/${enc(r.deployment)}`, text: 'deployment' }) : null);
    // Rebuild the boxes, and give the focus back to the box that had it.
    const focused = stages.contains(document.activeElement) ? document.activeElement.dataset.stage : null;
    ticks = [];
    stages.replaceChildren(...(r.stages || []).map((st) => box(st, now)));
    if (focused) {
      const again = stages.querySelector(`[data-stage="${CSS.escape(focused)}"]`);
      if (again && again.tagName === 'BUTTON') again.focus({ preventScroll: true });
    }
    el.dataset.phase = r.phase;
    el.className = 'run run-' + r.phase;
    const showReason = r.reason && ['failed', 'superseded', 'canceled'].includes(r.phase);
    reason.textContent = showReason ? r.reason : '';
    reason.title = showReason ? r.reason : '';
    reason.hidden = !showReason;
    rowEl.title = r.reason || ''; // on hover; below the row too when the run failed or was superseded
    renderActions(r);
    // The open log follows its stage while it runs, and once more when it ends.
    const open = panel.openStage(id);
    if (open) {
      const st = stageOf(r, open), before = was && stageOf(was, open);
      if (!st) panel.toggleLog(id, null);
      else if (st.status === 'running' || !before || before.status !== st.status || before.ended !== st.ended) loadLog(open, false);
    }
  }

  function renderActions(r) {
    const waiting = r.phase === 'waiting_approval';
    actions.hidden = !waiting;
    if (!waiting) {
      actions.replaceChildren();
      delete actions.dataset.for;
      return;
    }
    if (actions.dataset.for === r.id + r.phase) return; // keep the button (and its focus)
    actions.dataset.for = r.id + r.phase;
    fill(actions,
      h('p', { class: 'hint', text: session.role === 'admin' ? 'Waiting for approval before it deploys.'
        : `Waiting for approval (an admin runs cutover pipeline approve ${r.app}).` }),
      session.role === 'admin' ? h('button', { type: 'button', class: 'secondary', 'data-run-action': 'approve', text: 'Approve', onclick: () => approve(r) }) : null);
  }

  async function approve(r) {
    const c = r.commit || {};
    const ok = await confirmAction({ title: `Approve ${r.app}'s pipeline?`, ok: 'Approve',
      text: `Pass the approval gate of run ${r.id}: commit ${c.short || ''} (${c.subject || 'no subject'}) goes on to deploy.` });
    if (!ok) return;
    try {
      await api(`/api/v1/apps/${enc(r.app)}/pipeline/approve`, { method: 'POST' });
      toast('Approve: sent.');
      panel.refresh();
    } catch (e) {
      toast(`Approve refused: ${e.message}`, 'error');
    }
  }

  // loadLog fetches the stage's whole log into the panel; fresh says to show that it loads.
  async function loadLog(stage, fresh) {
    const st = run && stageOf(run, stage);
    logName.textContent = `Log of ${stage}${st && st.status ? ' (' + st.status + (st.exit !== undefined && st.exit !== null ? ', exit ' + st.exit : '') + ')' : ''} · ${id}`;
    if (fresh) logPre.textContent = 'Loading…';
    try {
      const res = await api(`/api/v1/pipeline-runs/${enc(id)}/logs/${enc(stage)}`);
      if (!panel.isOpen(id, stage)) return;
      const atEnd = fresh || logPre.scrollTop + logPre.clientHeight >= logPre.scrollHeight - 4;
      logPre.textContent = res && res.log ? res.log : '(no output)';
      if (atEnd) logPre.scrollTop = logPre.scrollHeight; // a failure is at the end
    } catch (e) {
      if (panel.isOpen(id, stage)) logPre.textContent = `The log could not be read: ${e.message}`;
    }
  }

  // showLog opens (stage) or closes (null) this row's log panel. Closed from within, the
  // focus goes back to the box that opened it.
  function showLog(stage) {
    const back = !stage && logBox.contains(document.activeElement) && stages.querySelector('button.stage[aria-expanded="true"]');
    for (const b of stages.querySelectorAll('button.stage')) b.setAttribute('aria-expanded', b.dataset.stage === stage ? 'true' : 'false');
    logBox.hidden = !stage;
    if (stage) loadLog(stage, true);
    else logPre.textContent = '';
    if (back) back.focus();
  }

  function tick() {
    const now = Date.now();
    for (const t of ticks) t.detail.textContent = stageDetail(t.st, now);
  }

  return { el, update, showLog, tick };
}

function stageOf(r, name) {
  return (r.stages || []).find((s) => s.name === name);
}

// pipelinePanel returns the panel of app's runs: { el, refresh, notice(n), destroy() }.
export function pipelinePanel(app) {
  const sub = h('p', { class: 'sub' });
  const list = h('ol', { class: 'runs' });
  const el = h('section', { class: 'pipeline', id: 'pipeline', 'aria-labelledby': 'pipeline-h', hidden: true },
    h('h2', { id: 'pipeline-h', text: 'Pipeline' }), sub, list);
  const rows = new Map();
  let open = null; // { id, stage }: the one log shown
  let gone = false, timer = 0;

  const panel = {
    isOpen: (id, stage) => !!open && open.id === id && open.stage === stage,
    openStage: (id) => (open && open.id === id ? open.stage : null),
    // toggleLog shows run id's stage log, or hides it when it is the one shown (or stage is
    // null); one log is open at a time.
    toggleLog(id, stage) {
      const prev = open;
      open = stage && !(prev && prev.id === id && prev.stage === stage) ? { id, stage } : null;
      if (prev && rows.has(prev.id) && (!open || prev.id !== open.id)) rows.get(prev.id).showLog(null);
      if (open) rows.get(id).showLog(stage);
    },
    refresh,
  };

  async function refresh() {
    let runs;
    try {
      runs = await api(`/api/v1/apps/${enc(app)}/pipeline/runs?limit=${LIMIT}`);
    } catch (e) {
      if (gone) return;
      if (e.status === 404) { // a server without pipelines: there is nothing to show, now or later
        el.hidden = true;
        clearInterval(timer);
      }
      return;
    }
    if (gone) return;
    el.hidden = !runs.length;
    const ids = new Set(runs.map((r) => r.id));
    for (const [id, row] of rows) {
      if (ids.has(id)) continue;
      if (open && open.id === id) open = null;
      row.el.remove();
      rows.delete(id);
    }
    runs.forEach((r, i) => {
      let row = rows.get(r.id);
      if (!row) {
        row = runRow(panel, r.id);
        rows.set(r.id, row);
      }
      row.update(r);
      // New runs come in at the top: move a row only when it is out of place.
      if (list.children[i] !== row.el) list.insertBefore(row.el, list.children[i] || null);
    });
    const failed = runs.filter((r) => r.phase === 'failed').length;
    const active = runs.filter((r) => !ENDED.has(r.phase)).length;
    sub.textContent = (runs.length === 1 ? 'The latest run' : `The latest ${runs.length} runs, newest first`) +
      (active ? ` · ${active} in progress` : '') + (failed ? ` · ${failed} failed` : '') + '. A build or test stage opens its log.';
  }

  refresh();
  timer = setInterval(refresh, 2000); // a stage's start has no notice of its own
  const ticker = setInterval(() => rows.forEach((r) => r.tick()), 1000);
  let soon = 0;
  return {
    el,
    refresh,
    notice() { clearTimeout(soon); soon = setTimeout(refresh, 100); },
    destroy() { gone = true; clearInterval(timer); clearInterval(ticker); clearTimeout(soon); },
  };
}
