// h builds an element: h('div.cls#id', {attr: v, onclick: f}, ...children).
// Text children are text nodes, so no string ever becomes markup.
export function h(tag, attrs, ...children) {
  const m = tag.match(/^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i);
  const el = document.createElement(m[1] || 'div');
  for (const part of (m[2] || '').match(/[.#][\w-]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1)); else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs); attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else if (k === 'class') el.classList.add(...String(v).split(/\s+/).filter(Boolean));
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) { while (el.firstChild) el.firstChild.remove(); return el; }

export function fmtBytes(n) {
  if (n == null) return '';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + u[i];
}

// confirmDialog asks a question in a modal; with typed set, the user must type
// it (a group's name) before the action is enabled.
export function confirmDialog(question, action, typed) {
  return new Promise(resolve => {
    const input = typed ? h('input', {'aria-label': 'Type ' + typed + ' to confirm', autocomplete: 'off'}) : null;
    const ok = h('button.danger', {type: 'submit', disabled: !!typed}, action);
    if (input) input.addEventListener('input', () => { ok.disabled = input.value !== typed; });
    const d = h('dialog', h('form', {method: 'dialog'},
      h('p', question),
      typed ? h('p.muted', 'Type ', h('b', typed), ' to confirm.') : null, input,
      h('div.row', {style: 'margin-top:12px;justify-content:flex-end'},
        h('button', {type: 'button', onclick: () => d.close('cancel')}, 'Cancel'), ok)));
    d.addEventListener('close', () => { resolve(d.returnValue !== 'cancel' && d.returnValue !== ''); d.remove(); });
    ok.addEventListener('click', () => { d.returnValue = 'ok'; });
    document.body.append(d);
    d.showModal();
    (input || ok).focus();
  });
}

// formDialog shows fields and resolves with their values, or null.
export function formDialog(title, fields, submit = 'Create') {
  return new Promise(resolve => {
    const inputs = {};
    const err = h('p.err');
    const form = h('form.form', {method: 'dialog'}, h('h2', title),
      fields.map(f => {
        let el;
        if (f.options) el = h('select', {name: f.name}, f.options.map(o => h('option', {value: o[0], selected: o[0] === f.value}, o[1])));
        else if (f.multiline) el = h('textarea', {name: f.name, rows: 3, value: f.value || '', placeholder: f.placeholder || ''});
        else el = h('input', {name: f.name, value: f.value || '', placeholder: f.placeholder || '', required: f.required, autocomplete: 'off'});
        inputs[f.name] = el;
        return h('label', f.label, el);
      }), err,
      h('div.row', {style: 'margin-top:12px;justify-content:flex-end'},
        h('button', {type: 'button', onclick: () => { d.close(); resolve(null); }}, 'Cancel'),
        h('button.primary', {type: 'submit'}, submit)));
    const d = h('dialog', form);
    form.addEventListener('submit', async e => {
      e.preventDefault();
      const values = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.value]));
      resolve(values);
      d.close();
    });
    d.addEventListener('close', () => d.remove());
    document.body.append(d);
    d.showModal();
    Object.values(inputs)[0]?.focus();
  });
}

// sortableTable renders rows (objects) under columns {key, label, fmt, num};
// clicking a heading sorts by it. onOpen is called with the row on Enter or
// double click; rows are focusable and j/k move between them. A long table
// (an Insights result has up to 10,000 rows) is built TABLE_BATCH rows per
// animation frame, so building it never holds the page for long.
const TABLE_BATCH = 300;
export function sortableTable(columns, rows, {onOpen, sortKey, desc = false, rowAttrs} = {}) {
  const table = h('table.grid');
  const tbody = h('tbody');
  let key = sortKey, down = desc;
  const head = h('tr', columns.map(c => {
    const th = h('th', {scope: 'col', tabindex: 0}, c.label);
    const sortBy = () => { down = key === c.key ? !down : false; key = c.key; render(); };
    th.addEventListener('click', sortBy);
    th.addEventListener('keydown', e => { if (e.key === 'Enter') sortBy(); });
    th.dataset.key = c.key;
    return th;
  }));
  table.append(h('thead', head), tbody);
  function render() {
    const sorted = [...rows];
    if (key) {
      const col = columns.find(c => c.key === key);
      const val = r => (col.sortValue ? col.sortValue(r) : r[key]);
      sorted.sort((a, b) => {
        const x = val(a), y = val(b);
        const c = (x == null) - (y == null) || (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), undefined, {numeric: true}));
        return down ? -c : c;
      });
    }
    for (const th of head.children) th.setAttribute('aria-sort', th.dataset.key === key ? (down ? 'descending' : 'ascending') : 'none');
    clear(tbody);
    const mine = ++built;
    const put = from => {
      const frag = document.createDocumentFragment();
      const to = Math.min(sorted.length, from + TABLE_BATCH);
      for (let i = from; i < to; i++) frag.append(rowOf(sorted[i]));
      tbody.append(frag);
      if (to < sorted.length) requestAnimationFrame(() => { if (mine === built) put(to); });
    };
    put(0);
  }
  let built = 0; // bumps on every render: a newer one stops an older one's batches
  function rowOf(r) {
    const tr = h('tr', {tabindex: 0, ...(rowAttrs ? rowAttrs(r) : {})}, columns.map(c => {
      const v = c.fmt ? c.fmt(r) : r[c.key];
      return h(c.num ? 'td.num' : 'td', v instanceof Node ? v : (v ?? ''));
    }));
    if (onOpen) {
      tr.addEventListener('dblclick', () => onOpen(r));
      tr.addEventListener('keydown', e => { if (e.key === 'Enter' && e.target === tr) onOpen(r); });
    }
    tr.addEventListener('keydown', e => {
      if (e.key === 'j' || e.key === 'ArrowDown') { tr.nextElementSibling?.focus(); e.preventDefault(); }
      if (e.key === 'k' || e.key === 'ArrowUp') { tr.previousElementSibling?.focus(); e.preventDefault(); }
    });
    return tr;
  }
  render();
  table.setRows = r => { rows = r; render(); };
  return table;
}
