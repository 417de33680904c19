// The router's helpers: every view's state is in the URL's hash
// (#/page?k=v...), so each view, and each event, has a deep link. The shell
// (app.js) renders the page the hash names; pages link and record their
// state through these, so no page imports the shell.
import {h} from './dom.js';

export function route() {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  return {page: path || 'groups', params: Object.fromEntries(new URLSearchParams(query || ''))};
}

function hashOf(page, params) {
  const q = new URLSearchParams(Object.entries(params || {}).filter(([, v]) => v != null && v !== ''));
  return '#/' + page + (q.size ? '?' + q : '');
}

// navigate opens a view; setParams records the current view's state without
// reloading it (replace: no history entry per keystroke).
export function navigate(page, params) { location.hash = hashOf(page, params); }
export function setParams(params) {
  history.replaceState(null, '', hashOf(route().page, params));
}
export function linkTo(page, params, text) { return h('a', {href: hashOf(page, params)}, text); }
