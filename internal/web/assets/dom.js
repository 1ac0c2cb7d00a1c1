// Small DOM helpers, formatters and widgets shared by the views. Everything is built with
// createElement and textContent: text from the server (reasons, log lines) is never parsed
// as HTML.

export function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

// pct shows a weight in percent: 10%, 12.5%.
export function pct(w) {
  const r = Math.round((w || 0) * 10) / 10;
  return r + '%';
}

// dur shows a length of time: 42s, 3m 05s, 2h 10m.
export function dur(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + 's';
  const m = Math.floor(s / 60);
  if (m < 60) return m + 'm ' + String(s % 60).padStart(2, '0') + 's';
  return Math.floor(m / 60) + 'h ' + String(m % 60).padStart(2, '0') + 'm';
}

export function clock(t) {
  return new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

export function dateTime(t) {
  return new Date(t).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

// Phases: in progress, succeeded, or ended badly. The symbol and the word carry the meaning,
// the colour only repeats it.
const ENDED_BADLY = { rolled_back: '↩', failed: '✕', aborted: '✕' };

export function phaseKind(phase) {
  if (!phase) return 'none';
  if (phase === 'succeeded') return 'ok';
  if (ENDED_BADLY[phase]) return 'bad';
  return 'run';
}

export function phaseBadge(phase, paused) {
  const kind = phaseKind(phase);
  const sym = kind === 'ok' ? '✓' : kind === 'bad' ? ENDED_BADLY[phase] : kind === 'run' ? '▶' : '–';
  const label = phase ? phase.replace(/_/g, ' ') : 'no deployment';
  const b = h('span', { class: 'badge badge-' + kind, 'data-phase': phase || '' }, h('span', { 'aria-hidden': 'true', text: sym }), ' ' + label);
  if (paused) b.append(h('span', { class: 'badge-paused', text: ' · paused' }));
  return b;
}

// splitBar is the traffic split: a bar in blue and (hatched) green, and a legend that says
// the same in words. update() changes it in place, so focus and screen readers are not
// disturbed by a rebuild.
export function splitBar(ids = {}) {
  const blueSeg = h('span', { class: 'seg seg-blue' });
  const greenSeg = h('span', { class: 'seg seg-green' });
  const bluePct = h('strong', { class: 'pct blue-pct', id: ids.blue });
  const greenPct = h('strong', { class: 'pct green-pct', id: ids.green });
  const blueName = h('span', { class: 'ver' });
  const greenName = h('span', { class: 'ver' });
  const greenKey = h('span', { class: 'key key-green' }, h('i', { class: 'swatch swatch-green', 'aria-hidden': 'true' }), 'Green ', greenName, ' ', greenPct);
  const el = h('div', { class: 'split' },
    h('div', { class: 'split-bar', 'aria-hidden': 'true' }, blueSeg, greenSeg),
    h('p', { class: 'split-legend' },
      h('span', { class: 'key key-blue' }, h('i', { class: 'swatch swatch-blue', 'aria-hidden': 'true' }), 'Blue ', blueName, ' ', bluePct),
      greenKey));
  function update(blue, green, weight) {
    const w = Math.min(100, Math.max(0, weight || 0));
    blueSeg.style.width = (100 - w) + '%';
    greenSeg.style.width = w + '%';
    blueName.textContent = blue || '—';
    greenName.textContent = green || 'none';
    bluePct.textContent = pct(100 - w);
    greenPct.textContent = green ? pct(w) : '';
    greenKey.classList.toggle('key-idle', !green);
  }
  return { el, update };
}

let toastTimer = 0;

// toast says something briefly in the live region.
export function toast(msg, kind = 'info') {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.className = 'toast toast-' + kind;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, kind === 'error' ? 8000 : 4000);
}

// confirmAction asks in the page's <dialog> and resolves true when the user confirms.
// Cancel has the focus first, so Enter alone never performs a dangerous action.
export function confirmAction({ title, text, ok, danger }) {
  const d = document.getElementById('confirm');
  d.querySelector('#confirm-title').textContent = title;
  d.querySelector('#confirm-text').textContent = text;
  const okBtn = d.querySelector('#confirm-ok');
  okBtn.textContent = ok;
  okBtn.className = danger ? 'danger' : 'primary';
  d.returnValue = '';
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
    d.showModal();
    d.querySelector('#confirm-cancel').focus();
  });
}
