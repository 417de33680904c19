// Events: a virtualised list that scrolls both ways through any number of
// events. It holds pages ("chunks") of events fetched with the API's tokens;
// only the rows near the viewport are in the DOM, and pages far from it drop
// their events (keeping their token, so scrolling back fetches them again).
// One stream and no filter reads with GetLogEvents (forward and backward
// tokens); anything else with FilterLogEvents (forward tokens).
import {h, clear} from '../lib/dom.js';
import {call} from '../api.js';
import {fmtTime, isUTC, RELATIVE, resolveRange, toInput, fromInput} from '../lib/time.js';
import {parseJSONObject, jsonTree} from '../lib/json.js';
import {linkTo, setParams} from '../app.js';

const ROW = 20;          // px per row when lines do not wrap
const PAGE = 500;        // events per API call
const KEEP = 4000;       // rows kept loaded on each side of the viewport
const OVERSCAN = 40;     // rows rendered beyond the viewport

// matchTerms lists the strings a filter pattern matches, to highlight them:
// plain terms and quoted phrases, and the quoted values of JSON and
// space-delimited patterns.
export function matchTerms(pattern) {
  const p = (pattern || '').trim();
  if (!p) return [];
  if (p.startsWith('{') || p.startsWith('[')) {
    return [...p.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(m => m[1].replace(/\*/g, '')).filter(Boolean);
  }
  if (p.startsWith('%') && p.endsWith('%')) return [];
  const out = [];
  for (const m of p.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    let t = m[1] ?? m[2];
    if (t.startsWith('-')) continue;
    t = t.replace(/^\?/, '');
    if (t) out.push(t);
  }
  return out;
}

export function highlight(text, terms) {
  const out = [];
  let i = 0;
  if (terms.length) {
    const re = new RegExp(terms.map(t => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
    for (const m of text.matchAll(re)) {
      if (!m[0]) break;
      out.push(masked(text.slice(i, m.index)), h('mark', m[0]));
      i = m.index + m[0].length;
    }
  }
  out.push(masked(text.slice(i)));
  return out;
}

// masked shows data-protection masks (****) as such.
export function masked(text) {
  if (!text.includes('****')) return text;
  return text.split(/(\*{4,})/).map((s, i) => (i % 2 ? h('span.masked', {title: 'masked'}, s) : s));
}

async function copyText(s) {
  try { await navigator.clipboard.writeText(s); return true; } catch {
    const t = h('textarea', {style: 'position:fixed;opacity:0'}, s);
    document.body.append(t); t.select();
    const ok = document.execCommand('copy'); t.remove(); return ok;
  }
}

export default async function events(main, params) {
  const group = params.group;
  const state = {streams: params.streams ? params.streams.split(',').filter(Boolean) : [], filter: params.filter || '',
    since: params.since || (params.start || params.end ? '' : '1h'), start: params.start, end: params.end,
    event: params.event || '', wrap: params.wrap === '1'};

  // Controls.
  const streamsIn = h('input', {value: state.streams.join(','), placeholder: 'All streams (or a,b,c)', 'aria-label': 'Streams', size: 24});
  const filterIn = h('input', {type: 'search', value: state.filter, placeholder: 'Filter pattern, e.g. ERROR or { $.level = "error" }',
    'data-search': true, 'aria-label': 'Filter pattern', size: 44, 'data-testid': 'filter'});
  const rel = h('select', {'aria-label': 'Time range'}, RELATIVE.map(([v, l]) => h('option', {value: v, selected: v === state.since}, 'Last ' + l.replace('All time', 'all time'))),
    h('option', {value: '', selected: !state.since}, 'Absolute…'));
  const from = h('input', {type: 'datetime-local', step: '0.001', value: toInput(state.start), 'aria-label': 'From'});
  const to = h('input', {type: 'datetime-local', step: '0.001', value: toInput(state.end), 'aria-label': 'To'});
  const abs = h('span.row', from, '→', to, h('span.muted', isUTC() ? 'UTC' : 'local'));
  abs.hidden = !!state.since;
  rel.addEventListener('change', () => { abs.hidden = !!rel.value; if (rel.value) apply(); });
  const wrapBox = h('input', {type: 'checkbox', checked: state.wrap, 'aria-label': 'Wrap lines'});
  const err = h('p.err', {role: 'alert', 'data-testid': 'events-error'});
  const info = h('span.muted', {'data-testid': 'events-info'});
  const scroller = h('div.scroller.log', {tabindex: 0, 'data-testid': 'events', role: 'list'});
  const top = h('div'), rowsEl = h('div'), bottom = h('div');
  const tailEl = h('div.muted', {style: 'padding:4px 8px'});
  scroller.append(top, rowsEl, bottom, tailEl);
  const form = h('form.toolbar', streamsIn, filterIn, rel, abs,
    h('label.row', wrapBox, 'Wrap'), h('button.primary', {type: 'submit'}, 'Apply'), info);
  form.addEventListener('submit', e => { e.preventDefault(); apply(); });
  wrapBox.addEventListener('change', () => { state.wrap = wrapBox.checked; scroller.classList.toggle('wrap', state.wrap); record(); render(); });
  scroller.classList.toggle('wrap', state.wrap);
  main.append(h('h1', linkTo('groups', {}, 'Log groups'), ' / ', linkTo('streams', {group}, group), ' / events'), form, err, scroller);

  function record() {
    setParams({group, streams: state.streams.join(','), filter: state.filter, since: state.since,
      start: state.since ? '' : state.start, end: state.since ? '' : state.end, event: state.event, wrap: state.wrap ? '1' : ''});
  }

  function apply() {
    state.streams = streamsIn.value.split(',').map(s => s.trim()).filter(Boolean);
    state.filter = filterIn.value.trim();
    state.since = rel.value;
    state.start = rel.value ? undefined : fromInput(from.value);
    state.end = rel.value ? undefined : fromInput(to.value);
    state.event = '';
    record();
    reset();
  }

  // The list's model.
  let chunks = [];       // {events|null, count, token, dir}
  let fwd = null;        // the request for the next page after the last chunk, or null at the end
  let back = null;       // the request for the page before the first chunk, or null
  let busy = false;
  let gen = 0;           // bumps on reset: late answers of an old view are dropped
  let selected = null;   // key of the selected event
  const expanded = new Map(); // key → {context}
  let terms = [];

  const keyOf = e => `${e.logStreamName || state.streams[0]}|${e.timestamp}|${e.eventId || e.ingestionTime}`;
  const linkKey = e => `${e.logStreamName || state.streams[0]}|${e.timestamp}`;

  function requests() {
    const {start, end} = resolveRange(state);
    const range = {...(start != null ? {startTime: start} : {}), ...(end != null ? {endTime: end} : {})};
    let anchor;
    if (state.event) {
      const i = state.event.lastIndexOf('|');
      anchor = Number(state.event.slice(i + 1));
    }
    if (state.streams.length === 1 && !state.filter) {
      const base = {logGroupName: group, logStreamName: state.streams[0], limit: PAGE};
      const f = {op: 'GetLogEvents', body: {...base, ...range, startFromHead: true, ...(anchor != null ? {startTime: anchor} : {})}};
      const b = anchor != null ? {op: 'GetLogEvents', body: {...base, ...range, endTime: anchor, startFromHead: false}} : null;
      return [f, b];
    }
    const base = {logGroupName: group, limit: PAGE, ...range};
    if (state.streams.length) base.logStreamNames = state.streams;
    if (state.filter) base.filterPattern = state.filter;
    if (anchor != null) base.startTime = anchor;
    return [{op: 'FilterLogEvents', body: base}, null];
  }

  async function fetchPage(req) {
    const r = await call(req.op, req.body);
    if (req.op === 'GetLogEvents') {
      const backward = req.body.startFromHead === false;
      const token = backward ? r.nextBackwardToken : r.nextForwardToken;
      const same = token === req.body.nextToken;
      const next = (!r.events?.length || same) ? null : {op: req.op, body: {...req.body, nextToken: token}};
      return {events: r.events || [], next};
    }
    return {events: r.events || [], next: r.nextToken ? {op: req.op, body: {...req.body, nextToken: r.nextToken}} : null};
  }

  function total() { return chunks.reduce((n, c) => n + c.count, 0); }

  async function reset() {
    gen++;
    chunks = []; selected = null; expanded.clear();
    terms = matchTerms(state.filter);
    err.textContent = '';
    [fwd, back] = requests();
    scroller.scrollTop = 0;
    render();
    await more(gen);
    if (state.event) {
      selected = chunks.flatMap(c => c.events || []).map(e => [e, linkKey(e)]).find(([, k]) => k === state.event)?.[0];
      if (selected) { selected = keyOf(selected); expanded.set(selected, {}); }
      render();
    }
    scroller.focus({preventScroll: true});
  }

  // more fetches pages until the viewport is filled or a page was added at
  // each end that needs one.
  async function more(g) {
    if (busy) return;
    busy = true;
    try {
      let guard = 0;
      while (g === gen && guard++ < 50) {
        const rowsBelow = total() * ROW - scroller.scrollTop - scroller.clientHeight;
        if (fwd && rowsBelow < scroller.clientHeight * 8) {
          const req = fwd;
          const t0 = performance.now();
          const p = await fetchPage(req);
          if (g !== gen) return;
          fwd = p.next;
          // FilterLogEvents may answer empty pages that still carry a token.
          if (p.events.length) chunks.push({events: p.events, count: p.events.length, req});
          info.textContent = `${total().toLocaleString()} events loaded${fwd ? '' : ' (end)'} · ${Math.round(performance.now() - t0)} ms`;
          render();
          continue;
        }
        if (back && scroller.scrollTop < scroller.clientHeight) {
          const req = back;
          const p = await fetchPage(req);
          if (g !== gen) return;
          back = p.next;
          if (p.events.length) {
            chunks.unshift({events: p.events, count: p.events.length, req});
            scroller.scrollTop += p.events.length * ROW;
          }
          render();
          continue;
        }
        break;
      }
    } catch (x) {
      err.textContent = x.message;
      fwd = null;
    } finally {
      busy = false;
      render();
    }
  }

  // Evicted pages come back by their own request (tokens can be used again).
  async function refill(c, g) {
    if (c.loading) return;
    c.loading = true;
    try {
      const p = await fetchPage(c.req);
      if (g === gen) { c.events = p.events.slice(0, c.count); c.count = c.events.length || c.count; }
    } catch (x) { err.textContent = x.message; }
    c.loading = false;
    render();
  }

  let raf = 0;
  function render() {
    if (raf) return;
    raf = requestAnimationFrame(() => { raf = 0; draw(); });
  }

  function draw() {
    const n = total();
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(n, Math.ceil((scroller.scrollTop + scroller.clientHeight) / ROW) + OVERSCAN);
    const nodes = [];
    let base = 0;
    for (const c of chunks) {
      const lo = base, hi = base + c.count;
      base = hi;
      const far = hi < first - KEEP || lo > last + KEEP;
      if (far && c.events) { c.events = null; continue; }
      if (hi <= first || lo >= last) continue;
      if (!c.events) { refill(c, gen); for (let i = Math.max(lo, first); i < Math.min(hi, last); i++) nodes.push(h('div.ev', h('span.muted', '…'))); continue; }
      for (let i = Math.max(lo, first); i < Math.min(hi, last); i++) nodes.push(row(c.events[i - lo]));
    }
    // Rows already built are moved, not rebuilt: a scroll frame builds only
    // the rows that came into view.
    rowsEl.replaceChildren(...nodes);
    top.style.height = first * ROW + 'px';
    bottom.style.height = Math.max(0, n - last) * ROW + 'px';
    tailEl.textContent = busy ? 'Loading…' : (fwd ? '' : (n ? 'End of events in this range.' : 'No events in this range.'));
    if (back) top.title = 'Scroll up for earlier events';
  }

  const built = new WeakMap(); // event → {el, sel}: rows built once while unchanged
  function row(e) {
    const k = keyOf(e);
    const sel = k === selected;
    const ex = expanded.get(k);
    const b = built.get(e);
    if (b && !ex && b.sel === sel) return b.el;
    const el = buildRow(e, k, ex);
    if (!ex) built.set(e, {el, sel});
    return el;
  }

  function buildRow(e, k, ex) {
    const r = h('div.ev', {role: 'listitem', 'data-key': k, class: k === selected ? 'selected' : null},
      h('span.ts', fmtTime(e.timestamp)),
      state.streams.length !== 1 ? h('span.st', {title: e.logStreamName}, e.logStreamName) : null,
      h('span.msg', highlight(e.message.replace(/\n$/, ''), terms)));
    r.addEventListener('click', () => toggle(e));
    if (!ex) return r;
    return h('div', r, detail(e, ex));
  }

  function toggle(e) {
    const k = keyOf(e);
    selected = k;
    if (expanded.has(k)) expanded.delete(k); else expanded.set(k, {});
    state.event = expanded.has(k) ? linkKey(e) : '';
    record();
    render();
  }

  function detail(e, ex) {
    const obj = parseJSONObject(e.message);
    const link = location.href;
    const box = h('div.detail', {'data-testid': 'event-detail'},
      h('div.row',
        h('span.muted', `${e.logStreamName || state.streams[0]} · ${fmtTime(e.timestamp)} · ingested ${fmtTime(e.ingestionTime)}`),
        h('button', {onclick: async ev => { ev.stopPropagation(); ev.target.textContent = await copyText(e.message) ? 'Copied' : 'Copy failed'; }}, 'Copy'),
        h('button', {onclick: async ev => { ev.stopPropagation(); ev.target.textContent = await copyText(link) ? 'Link copied' : link; }}, 'Copy link'),
        h('button', {onclick: ev => { ev.stopPropagation(); loadContext(e, ex); }, 'data-testid': 'context'}, 'Context')),
      ex.before ? ex.before.map(c => h('div.ev.ctx', h('span.ts', fmtTime(c.timestamp)), h('span.msg', masked(c.message)))) : null,
      obj !== undefined ? jsonTree(obj) : h('pre.mono', {style: 'white-space:pre-wrap;margin:4px 0'}, highlight(e.message, terms)),
      ex.after ? ex.after.map(c => h('div.ev.ctx', h('span.ts', fmtTime(c.timestamp)), h('span.msg', masked(c.message)))) : null,
      ex.error ? h('p.err', ex.error) : null);
    box.addEventListener('click', ev => ev.stopPropagation());
    return box;
  }

  async function loadContext(e, ex) {
    const stream = e.logStreamName || state.streams[0];
    try {
      const [b, a] = await Promise.all([
        call('GetLogEvents', {logGroupName: group, logStreamName: stream, endTime: e.timestamp, startFromHead: false, limit: 10}),
        call('GetLogEvents', {logGroupName: group, logStreamName: stream, startTime: e.timestamp + 1, startFromHead: true, limit: 10})]);
      ex.before = b.events || []; ex.after = a.events || [];
    } catch (x) { ex.error = x.message; }
    render();
  }

  scroller.addEventListener('scroll', () => { render(); more(gen); }, {passive: true});
  scroller.addEventListener('keydown', e => {
    const all = chunks.flatMap(c => c.events || []);
    let i = all.findIndex(x => keyOf(x) === selected);
    if (e.key === 'j' || e.key === 'ArrowDown') i = Math.min(all.length - 1, i + 1);
    else if (e.key === 'k' || e.key === 'ArrowUp') i = Math.max(0, i - 1);
    else if (e.key === 'Enter' && i >= 0) { toggle(all[i]); e.preventDefault(); return; }
    else if (e.key === 'c' && i >= 0) { copyText(all[i].message); return; }
    else return;
    e.preventDefault();
    selected = keyOf(all[i]);
    const y = i * ROW;
    if (y < scroller.scrollTop) scroller.scrollTop = y;
    if (y + ROW > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = y + ROW - scroller.clientHeight;
    render();
  });
  record();
  await reset();
  return () => { gen++; cancelAnimationFrame(raf); };
}
