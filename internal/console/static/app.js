// The console's shell: sign-in, the header, the theme, keyboard shortcuts,
// and the page the URL's hash names (lib/route.js reads and writes the
// hash; the pages import it, never this file).
import {h, clear} from './lib/dom.js';
import {session, loadSession, signIn, signOut} from './api.js';
import {isUTC, setUTC} from './lib/time.js';
import {route, navigate} from './lib/route.js';
import groups from './pages/groups.js';
import streams from './pages/streams.js';
import events from './pages/events.js';
import tail from './pages/tail.js';
import filters from './pages/filters.js';
import builds from './pages/builds.js';
import insights from './pages/insights.js';

const pages = {groups, streams, events, tail, filters, builds, insights};
const nav = [['groups', 'Log groups', 'l'], ['tail', 'Live tail', 't'], ['insights', 'Insights', 'i'],
  ['filters', 'Metric filters & subscriptions', 'm'], ['builds', 'Builds', 'b']];

function applyTheme() {
  const t = localStorage.getItem('cairn.theme') || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
  document.documentElement.dataset.theme = t;
}

let current = null; // the mounted page's cleanup

function header(active) {
  const theme = h('button', {title: 'Switch theme (shortcut: Shift+T)', onclick: toggleTheme, 'data-testid': 'theme'},
    document.documentElement.dataset.theme === 'dark' ? '☀ Light' : '☾ Dark');
  const tz = h('button', {title: 'Show times in UTC or local time', 'data-testid': 'tz',
    onclick: () => { setUTC(!isUTC()); render(); }}, isUTC() ? 'UTC' : 'Local time');
  return h('header.top',
    h('span.brand', 'Cairn'),
    h('nav', nav.map(([p, label, key]) => h('a', {href: '#/' + p, class: p === active ? 'active' : null, title: 'g ' + key}, label))),
    h('span.grow'),
    tz, theme,
    h('span.who', {title: session.info.arn}, session.info.arn, ' · ', session.info.region),
    h('button', {onclick: async () => { await signOut(); render(); }, 'data-testid': 'signout'}, 'Sign out'));
}

// toggleTheme switches the colours only: the page and its state stay.
function toggleTheme() {
  const t = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
  localStorage.setItem('cairn.theme', t);
  applyTheme();
  const b = document.querySelector('[data-testid=theme]');
  if (b) b.textContent = t === 'dark' ? '☀ Light' : '☾ Dark';
}

function signInView() {
  const err = h('p.err', {role: 'alert', 'data-testid': 'signin-error'});
  const key = h('input', {name: 'accessKeyId', autocomplete: 'username', required: true, spellcheck: 'false'});
  const secret = h('input', {name: 'secretAccessKey', type: 'password', autocomplete: 'current-password', required: true});
  const region = h('input', {name: 'region', value: localStorage.getItem('cairn.region') || 'us-east-1'});
  const form = h('form.signin', h('h1', 'Sign in to Cairn'),
    h('p.muted', 'Use an access key: the root key in DATA/credentials, or an IAM user\'s.'),
    h('label', 'Access key id', key), h('label', 'Secret access key', secret), h('label', 'Region', region),
    err, h('button.primary', {type: 'submit', style: 'margin-top:12px;width:100%'}, 'Sign in'));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    err.textContent = '';
    try {
      await signIn(key.value, secret.value, region.value);
      localStorage.setItem('cairn.region', region.value);
      render();
    } catch (x) { err.textContent = x.message; secret.select(); }
  });
  setTimeout(() => key.focus());
  return form;
}

async function render() {
  applyTheme();
  const app = document.getElementById('app');
  if (current) { current(); current = null; }
  if (!session.info) { clear(app).append(signInView()); return; }
  const {page, params} = route();
  const mod = pages[page] || groups;
  const main = h('main');
  clear(app).append(header(page === 'streams' || page === 'events' ? 'groups' : page), main);
  try {
    current = (await mod(main, params)) || null;
  } catch (x) {
    main.append(h('p.err', x.message));
  }
}

function help() {
  const rows = [['/', 'focus the search or filter box'], ['g l', 'log groups'], ['g t', 'live tail'], ['g i', 'Insights'],
    ['g m', 'metric filters & subscriptions'], ['g b', 'builds'], ['j / k', 'next / previous row or event'],
    ['Enter', 'open the row / expand the event'], ['Shift+T', 'dark / light theme'], ['?', 'this help'], ['Esc', 'close']];
  const d = h('dialog', h('h2', 'Keyboard'), h('table.grid', rows.map(([k, v]) => h('tr', h('td', h('span.kbd', k)), h('td', v)))),
    h('form', {method: 'dialog'}, h('button', {style: 'margin-top:10px'}, 'Close')));
  d.addEventListener('close', () => d.remove());
  document.body.append(d);
  d.showModal();
}

let pendingG = false;
document.addEventListener('keydown', e => {
  if (!session.info || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t.closest && t.closest('input, textarea, select, [contenteditable], dialog')) return;
  if (pendingG) {
    pendingG = false;
    const n = nav.find(x => x[2] === e.key);
    if (n) { navigate(n[0], {}); e.preventDefault(); }
    return;
  }
  if (e.key === 'g') { pendingG = true; return; }
  if (e.key === '/') { const s = document.querySelector('[data-search]'); if (s) { s.focus(); e.preventDefault(); } }
  if (e.key === '?') help();
  if (e.key === 'T') toggleTheme();
});

window.addEventListener('hashchange', render);
window.addEventListener('cairn:signedout', render);
applyTheme();
loadSession().then(render, () => render());
