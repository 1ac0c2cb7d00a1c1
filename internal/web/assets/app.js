// The dashboard's shell: the login, the header, the event stream every view listens to, and
// the routes between views (#/, #/apps/{app}, #/deployments/{id}).

import { session, loadSession, login, logout, onUnauthorized, stream } from './api.js';
import { toast } from './dom.js';
import { overview, history } from './views.js';
import { deployment } from './deployment.js';

const $ = (id) => document.getElementById(id);
let view = null; // the mounted view: { notice(n), destroy() }
let closeEvents = null;

const routes = [
  [/^#?\/?$/, (root) => overview(root)],
  [/^#\/apps\/([^/]+)$/, (root, m) => history(root, null, decodeURIComponent(m[1]))],
  [/^#\/deployments\/([^/]+)$/, (root, m) => deployment(root, null, decodeURIComponent(m[1]))],
];

function route() {
  if (!session.role) return;
  if (view) view.destroy();
  view = null;
  $('toast').hidden = true; // it spoke of the page left behind
  const root = $('view');
  for (const [re, mount] of routes) {
    const m = location.hash.match(re);
    if (m) {
      view = mount(root, m);
      break;
    }
  }
  if (!view) {
    root.replaceChildren();
    location.hash = '#/';
    return;
  }
  // Move focus to the new page's heading, as a page load would, for keyboards and readers.
  const heading = root.querySelector('h1');
  if (heading && document.activeElement !== $('token')) heading.focus({ preventScroll: true });
}

function setLive(state) {
  const live = $('live');
  live.dataset.state = state;
  live.textContent = state === 'live' ? 'Live' : state === 'closed' ? 'Disconnected' : 'Reconnecting…';
}

function enter() {
  $('login').hidden = true;
  $('nav').hidden = false;
  $('who').hidden = false;
  $('role').textContent = session.role === 'admin' ? 'Admin' : 'Viewer (read-only)';
  $('role').dataset.role = session.role;
  if (closeEvents) closeEvents();
  closeEvents = stream('/api/v1/events', (n) => view && view.notice(n), { onState: setLive });
  route();
}

function showLogin(message) {
  if (view) view.destroy();
  view = null;
  if (closeEvents) closeEvents();
  closeEvents = null;
  session.role = '';
  session.csrf = '';
  $('view').replaceChildren();
  $('nav').hidden = true;
  $('who').hidden = true;
  $('login').hidden = false;
  const err = $('login-error');
  err.textContent = message || '';
  err.hidden = !message;
  $('token').value = '';
  $('token').focus();
}

async function submitLogin(ev) {
  ev.preventDefault();
  const btn = $('login-submit');
  btn.disabled = true;
  try {
    await login($('token').value.trim());
    $('token').value = '';
    enter();
  } catch (e) {
    const err = $('login-error');
    err.textContent = e.message;
    err.hidden = false;
    $('token').select();
  } finally {
    btn.disabled = false;
  }
}

async function start() {
  $('login-form').addEventListener('submit', submitLogin);
  $('logout').addEventListener('click', async () => {
    await logout();
    showLogin();
    toast('Logged out.');
  });
  window.addEventListener('hashchange', route);
  onUnauthorized(() => {
    if (session.role) showLogin('Your session has ended: log in again.');
  });
  try {
    if (await loadSession()) enter();
    else showLogin();
  } catch {
    showLogin('The server did not answer; reload the page to try again.');
  }
}

start();
