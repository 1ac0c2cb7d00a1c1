// Line charts in hand-written SVG: one metric, blue and green on the same axes, over a
// rolling window. Blue is a solid line, green a dashed one, and the legend under the chart
// gives each version's current value in words.

import { h } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 400, H = 170;
const M = { left: 46, right: 12, top: 12, bottom: 24 };

function s(tag, attrs, ...children) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

// niceMax rounds up to 1, 2 or 5 times a power of ten, at least floor.
function niceMax(v, floor) {
  v = Math.max(v, floor);
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// path draws points [t, v] as a line, broken where v is null (no requests to measure).
function path(points, x, y) {
  let d = '', pen = false;
  for (const [t, v] of points) {
    if (v === null || v === undefined) { pen = false; continue; }
    d += (pen ? 'L' : 'M') + x(t).toFixed(1) + ' ' + y(v).toFixed(1);
    pen = true;
  }
  return d;
}

// lineChart makes a chart: title, unit shown after values, fmt(value) for labels, floor the
// least top of the y axis (so that a quiet series is not drawn as noise), span in ms.
export function lineChart({ id, title, unit, axisUnit = '', fmt, floor, span }) {
  const grid = s('g', { class: 'grid' });
  const blue = s('path', { class: 'line line-blue' });
  const green = s('path', { class: 'line line-green' });
  const blueDot = s('circle', { class: 'dot dot-blue', r: 3.5 });
  const greenDot = s('rect', { class: 'dot dot-green', width: 7, height: 7 });
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart-svg' }, grid, blue, green, blueDot, greenDot);
  const blueVal = h('span', { class: 'lg-val' });
  const greenVal = h('span', { class: 'lg-val' });
  const blueName = h('span');
  const greenName = h('span');
  const el = h('figure', { class: 'chart', id },
    h('figcaption', { text: title }),
    svg,
    h('p', { class: 'chart-legend' },
      h('span', { class: 'lg lg-blue' }, 'Blue ', blueName, ': ', blueVal),
      h('span', { class: 'lg lg-green' }, 'Green ', greenName, ': ', greenVal)));

  function update(series, names, now) {
    const t0 = now - span;
    const x = (t) => M.left + (W - M.left - M.right) * (t - t0) / span;
    let max = 0;
    for (const p of series) for (const v of [p.blue, p.green]) if (v !== null && v > max) max = v;
    const top = niceMax(max, floor);
    const y = (v) => H - M.bottom - (H - M.top - M.bottom) * (v / top);
    grid.replaceChildren();
    for (const v of [0, top / 2, top]) {
      grid.append(s('line', { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v), class: v === 0 ? 'axis' : '' }));
      grid.append(s('text', { x: M.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmt(v) + axisUnit));
    }
    for (const [label, t] of [['−2m', t0], ['−1m', t0 + span / 2], ['now', now]]) {
      grid.append(s('text', { x: x(t), y: H - 6, 'text-anchor': t === t0 ? 'start' : t === now ? 'end' : 'middle' }, label));
    }
    blue.setAttribute('d', path(series.map((p) => [p.t, p.blue]), x, y));
    green.setAttribute('d', path(series.map((p) => [p.t, p.green]), x, y));
    const last = series[series.length - 1] || { blue: null, green: null };
    // The latest value of each version is marked (a circle for blue, a square for green), so a
    // series of one sample shows too.
    const mark = (dot, v, dx) => {
      dot.style.display = v === null || v === undefined || !series.length ? 'none' : '';
      if (dot.style.display === 'none') return;
      dot.setAttribute(dx ? 'x' : 'cx', (x(last.t) - dx).toFixed(1));
      dot.setAttribute(dx ? 'y' : 'cy', (y(v) - dx).toFixed(1));
    };
    mark(blueDot, last.blue, 0);
    mark(greenDot, last.green, 3.5);
    const show = (v) => (v === null || v === undefined ? 'no traffic' : fmt(v) + unit);
    blueName.textContent = names.blue || '—';
    greenName.textContent = names.green || '—';
    blueVal.textContent = show(last.blue);
    greenVal.textContent = show(last.green);
    svg.setAttribute('aria-label', `${title}: blue ${show(last.blue)}, green ${show(last.green)}`);
    svg.dataset.points = String(series.length);
  }
  return { el, update };
}
