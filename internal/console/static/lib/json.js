import {h} from './dom.js';

// parseJSONObject returns the object or array a message holds, or undefined.
export function parseJSONObject(s) {
  const t = s.trimStart();
  if (t[0] !== '{' && t[0] !== '[') return undefined;
  try { return JSON.parse(s); } catch { return undefined; }
}

// jsonTree renders a value as a collapsible tree (click a ▾ to fold).
export function jsonTree(v) {
  return h('div.tree.mono', h('ul', node(null, v)));
}

function node(key, v) {
  const label = key == null ? null : h('span.k', JSON.stringify(key) + ': ');
  if (v !== null && typeof v === 'object') {
    const entries = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
    const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
    const li = h('li');
    const toggle = h('span.toggle', {role: 'button', tabindex: 0, 'aria-label': 'fold'}, '▾');
    const flip = () => { li.classList.toggle('closed'); toggle.textContent = li.classList.contains('closed') ? '▸' : '▾'; };
    toggle.addEventListener('click', flip);
    toggle.addEventListener('keydown', e => { if (e.key === 'Enter' || e.key === ' ') { flip(); e.preventDefault(); } });
    li.append(toggle, label || '', open, h('span.muted', entries.length ? '' : ''),
      h('ul', entries.map(([k, x]) => node(Array.isArray(v) ? null : k, x))), close);
    return li;
  }
  const cls = typeof v === 'string' ? 'span.s' : 'span.n';
  return h('li', h('span.toggle', ' '), label || '', h(cls, JSON.stringify(v)));
}
