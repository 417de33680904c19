// Events: a virtualised list that scrolls both ways through any number of
// events. It holds pages ("chunks") of events fetched with the API's tokens;
// only the rows near the viewport are in the DOM, and pages far from it drop
// their events (keeping their token, so scrolling back fetches them again).
// One stream and no filter reads with GetLogEvents (forward and backward
// tokens); anything else with FilterLogEvents (forward, and from a deep link
// backward too: startFromHead=false, newest first).
//
// Rendering is built to keep every frame short while scrolling fast
// (docs/benchmarks.md has the profile): rows have one fixed height unless
// lines wrap or an event is expanded, so the row at any scroll offset is
// found by arithmetic and nothing is measured; with wrap on (or a row
// expanded) each rendered row's height is read at the start of the next
// frame, before any write, and kept (a Fenwick tree of the differences
// from ROW), so rows are placed, and the row at a scroll offset found, by
// their measured heights (rows never rendered count ROW); the row elements
// are recycled (a row leaving the
// viewport is refilled with the event entering it: a few textContent writes,
// no new elements, no listeners, since one delegated listener serves them
// all); rows that stay in view are not touched or moved, so the browser
// lays out only the rows that changed (each row is its own layout and paint
// containment); and all DOM writes happen in one animation-frame callback,
// after every read, so layout runs once a frame. Pages are fetched ahead of
// the viewport (AHEAD rows), so the scroll rarely waits for the network.
import {h, append} from '../lib/dom.js';
import {call} from '../api.js';
import {fmtTime, isUTC, RELATIVE, resolveRange, toInput, fromInput} from '../lib/time.js';
import {parseJSONObject, jsonTree} from '../lib/json.js';
import {linkTo, setParams} from '../lib/route.js';
import {matchTerms, highlight, masked} from '../lib/highlight.js';

const ROW = 20;          // px per row when lines do not wrap
const PAGE = 1000;       // events per API call
const AHEAD = 3000;      // rows fetched ahead of the viewport, each way
const KEEP = 6000;       // rows kept loaded on each side of the viewport
const OVERSCAN = 8;      // rows rendered beyond the viewport
// Backward FilterLogEvents (newest first) needs a startTime from
// 2024-01-01T00:00:00Z on, as on AWS: a view without a start reads back to it.
const BACKWARD_EPOCH = 1704067200000;

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
  const scroller = h('div.scroller.log.events', {tabindex: 0, 'data-testid': 'events', role: 'list'});
  const top = h('div'), rowsEl = h('div'), bottom = h('div');
  const tailEl = h('div.muted', {style: 'padding:4px 8px'});
  scroller.append(top, rowsEl, bottom, tailEl);
  const form = h('form.toolbar', streamsIn, filterIn, rel, abs,
    h('label.row', wrapBox, 'Wrap'), h('button.primary', {type: 'submit'}, 'Apply'), info);
  form.addEventListener('submit', e => { e.preventDefault(); apply(); });
  // Wrapping changes every row's height: the measured ones are measured again.
  wrapBox.addEventListener('change', () => { state.wrap = wrapBox.checked; scroller.classList.toggle('wrap', state.wrap); clearExtra(); record(); render(); });
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
  let chunks = [];       // {events|null, count, req, back}: back chunks came from a backward read
  let fwd = null;        // the request for the next page after the last chunk, or null at the end
  let back = null;       // the request for the page before the first chunk, or null
  let busy = false;
  let gen = 0;           // bumps on reset: late answers of an old view are dropped
  let selected = null;   // key of the selected event
  const expanded = new Map(); // key → {context}
  let terms = [];
  let count = 0;         // events loaded or evicted: the sum of the chunks' counts
  // Measured rows: extra.get(i) is row i's rendered height minus ROW (only
  // rows that differ), summed by a Fenwick tree (fen, over cap indices) so
  // that a row's offset and the row at an offset take O(log n). Empty
  // while every row is ROW high: offsets are then i * ROW.
  let extra = new Map(), fen = null, cap = 0;
  function fenAdd(i, d) { for (i++; i <= cap; i += i & -i) fen[i] += d; }
  function rebuild(size) {
    cap = 1;
    while (cap < size) cap *= 2;
    fen = new Float64Array(cap + 1);
    for (const [i, d] of extra) fenAdd(i, d);
  }
  function setExtra(i, d) {
    const old = extra.get(i) || 0;
    if (d === old) return;
    if (d) extra.set(i, d); else extra.delete(i);
    if (i >= cap) rebuild(Math.max(i + 1, count)); else fenAdd(i, d - old);
  }
  function clearExtra() { extra = new Map(); fen = null; cap = 0; }
  // offsetOf is the top of row i (i = count: the list's height).
  function offsetOf(i) {
    let y = i * ROW;
    if (!extra.size) return y;
    for (let j = Math.min(i, cap); j > 0; j -= j & -j) y += fen[j];
    return y;
  }
  // rowAt is the row whose span holds offset y (the last row whose top is
  // at or above y); rowAfter the first row whose top is at or below y.
  function rowAt(y) {
    if (!extra.size) return Math.max(0, Math.min(count, Math.floor(y / ROW)));
    let lo = 0, hi = count;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (offsetOf(mid) <= y) lo = mid; else hi = mid - 1; }
    return lo;
  }
  function rowAfter(y) {
    if (!extra.size) return Math.max(0, Math.min(count, Math.ceil(y / ROW)));
    let lo = 0, hi = count;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (offsetOf(mid) >= y) hi = mid; else lo = mid + 1; }
    return lo;
  }
  let linked = false;    // a deep link's event is still to be found and expanded

  // findLinked expands the deep link's event once its page has come.
  function findLinked(events) {
    if (!linked) return;
    const e = events.find(x => linkKey(x) === state.event);
    if (!e) return;
    linked = false;
    selected = keyOf(e);
    expanded.set(selected, {});
  }

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
    if (anchor == null) return [{op: 'FilterLogEvents', body: base}, null];
    // From a deep link: forward from the event, and backward (newest first;
    // FilterLogEvents' endTime is inclusive) from just before it.
    const b = {...base, endTime: anchor - 1, startTime: Math.max(start ?? 0, BACKWARD_EPOCH), startFromHead: false};
    if (end != null && end < anchor - 1) b.endTime = end;
    return [{op: 'FilterLogEvents', body: {...base, startTime: anchor}}, b.startTime <= b.endTime ? {op: 'FilterLogEvents', body: b} : null];
  }

  // fetchPage reads one page; events are always oldest first (a backward
  // FilterLogEvents page comes newest first and is reversed).
  async function fetchPage(req) {
    const r = await call(req.op, req.body);
    if (req.op === 'GetLogEvents') {
      const backward = req.body.startFromHead === false;
      const token = backward ? r.nextBackwardToken : r.nextForwardToken;
      const same = token === req.body.nextToken;
      const next = (!r.events?.length || same) ? null : {op: req.op, body: {...req.body, nextToken: token}};
      return {events: r.events || [], next};
    }
    const events = r.events || [];
    if (req.body.startFromHead === false) events.reverse();
    return {events, next: r.nextToken ? {op: req.op, body: {...req.body, nextToken: r.nextToken}} : null};
  }

  async function reset() {
    gen++;
    chunks = []; count = 0; selected = null; expanded.clear(); clearExtra();
    terms = matchTerms(state.filter);
    err.textContent = '';
    [fwd, back] = requests();
    recycle();
    scroller.scrollTop = 0;
    render();
    linked = !!state.event;
    await more(gen);
    scroller.focus({preventScroll: true});
  }

  // showInfo says how many events are loaded, whether both ends are, and
  // how long the last page took.
  function showInfo(t0) {
    const ends = !fwd && !back ? ' (end)' : !fwd ? ' (end; earlier events above)' : '';
    info.textContent = `${count.toLocaleString()} events loaded${ends} · ${Math.round(performance.now() - t0)} ms`;
  }

  // more fetches pages until AHEAD rows are loaded past the viewport on
  // each side that has more. It reads the scroll position before each
  // request and changes the model only when an answer comes; the DOM is
  // written in the next animation frame.
  async function more(g) {
    if (busy) return;
    busy = true;
    try {
      let guard = 0;
      while (g === gen && guard++ < 50) {
        const viewTop = rowAt(scroller.scrollTop), viewBottom = rowAfter(scroller.scrollTop + scroller.clientHeight);
        if (fwd && count - viewBottom < AHEAD) {
          const req = fwd;
          const t0 = performance.now();
          const p = await fetchPage(req);
          if (g !== gen) return;
          fwd = p.next;
          // FilterLogEvents may answer empty pages that still carry a token.
          if (p.events.length) { chunks.push({events: p.events, count: p.events.length, req}); count += p.events.length; findLinked(p.events); }
          showInfo(t0);
          render();
          continue;
        }
        if (back && viewTop < AHEAD) {
          const req = back;
          const t0 = performance.now();
          const p = await fetchPage(req);
          if (g !== gen) return;
          back = p.next;
          if (p.events.length) {
            chunks.unshift({events: p.events, count: p.events.length, req, back: true});
            count += p.events.length;
            shift += p.events.length;
            if (extra.size) { // the measured rows moved down by the new rows
              const moved = new Map();
              for (const [i, d] of extra) moved.set(i + p.events.length, d);
              extra = moved;
              rebuild(count);
            }
            findLinked(p.events);
            // The rows above the view grew: keep the same events in view.
            // The list is made taller first, or the new scrollTop would be
            // clamped to the old height.
            bottom.style.height = (parseFloat(bottom.style.height) || 0) + p.events.length * ROW + 'px';
            scroller.scrollTop += p.events.length * ROW;
          }
          showInfo(t0);
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
      if (g === gen) { c.events = p.events.slice(0, c.count); if (c.events.length && c.events.length !== c.count) { count += c.events.length - c.count; c.count = c.events.length; clearExtra(); } }
    } catch (x) { err.textContent = x.message; }
    c.loading = false;
    render();
  }

  let raf = 0;
  function render() {
    if (raf) return;
    raf = requestAnimationFrame(() => { raf = 0; draw(); });
  }

  // The rendered rows: index → row element, for the indices [lo, hi) in the
  // DOM, in order. shift counts rows added above (a backward page), so the
  // indices of rows already shown are moved, not rebuilt.
  let live = new Map(), lo = 0, hi = 0, shift = 0;
  const pool = [];       // detached row elements ready for reuse
  const eventOf = new WeakMap(); // row element → its event
  function recycle() {
    for (const el of live.values()) if (el.classList.contains('ev') && !el.dataset.open) pool.push(el);
    live = new Map(); lo = hi = shift = 0;
    rowsEl.replaceChildren();
  }

  function draw() {
    const n = count;
    if (shift) {
      const moved = new Map();
      for (const [i, el] of live) moved.set(i + shift, el);
      live = moved; lo += shift; hi += shift; shift = 0;
    }
    // Every read before any write: the scroll position, and the heights of
    // the rows the last frame rendered when they may differ from ROW (the
    // layout is clean here, so reading them costs no layout of its own).
    const top0 = scroller.scrollTop, height = scroller.clientHeight;
    measure();
    const first = Math.max(0, Math.min(n, rowAt(top0) - OVERSCAN));
    const last = Math.min(n, rowAfter(top0 + height) + OVERSCAN);
    // Evict far pages; find the events of [first, last).
    const want = new Array(last - first);
    let base = 0;
    for (const c of chunks) {
      const clo = base, chi = base + c.count;
      base = chi;
      if ((chi < first - KEEP || clo > last + KEEP) && c.events) { c.events = null; continue; }
      if (chi <= first || clo >= last) continue;
      if (!c.events) refill(c, gen);
      for (let i = Math.max(clo, first); i < Math.min(chi, last); i++) want[i - first] = c.events ? c.events[i - clo] : null;
    }
    // Rows that left the range go back to the pool; rows whose event, or
    // whose selected or expanded state, changed are refilled in place.
    for (const [i, el] of live) {
      if (i < first || i >= last) { live.delete(i); el.remove(); if (!el.dataset.open) pool.push(el); }
    }
    let ref = null; // the row after which new rows go: rows are kept in index order
    const frag = [];
    for (let i = first; i < last; i++) {
      const e = want[i - first] || null;
      let el = live.get(i);
      const fresh = el && eventOf.get(el) === e && (!e || stateOf(e) === el.dataset.state);
      if (!fresh) {
        const next = rowFor(e, el);
        if (el && next !== el) { el.replaceWith(next); if (!el.dataset.open) pool.push(el); }
        el = next;
        live.set(i, el);
      }
      if (!el.isConnected) frag.push([el, ref]);
      ref = el;
    }
    // Insert the new rows: before the first kept row, or after their
    // predecessor (at most two runs: above and below the kept rows).
    for (const [el, after] of frag) {
      if (after) after.after(el); else rowsEl.prepend(el);
    }
    lo = first; hi = last;
    top.style.height = offsetOf(first) + 'px';
    bottom.style.height = Math.max(0, offsetOf(n) - offsetOf(last)) + 'px';
    const tail = busy ? 'Loading…' : (fwd ? '' : (n ? 'End of events in this range.' : 'No events in this range.'));
    if (tailEl.textContent !== tail) tailEl.textContent = tail;
    if (back) top.title = 'Scroll up for earlier events';
  }

  // measure records the rendered rows' heights when they may differ from
  // ROW (lines wrap, an event is expanded, or rows were measured taller).
  function measure() {
    if (!state.wrap && !expanded.size && !extra.size) return;
    for (const [i, el] of live) if (el.isConnected && i < count) setExtra(i, el.offsetHeight - ROW);
  }

  // stateOf is what, besides the event, a row shows: selected, expanded.
  const stateOf = e => { const k = keyOf(e), ex = expanded.get(k); return (k === selected ? 's' : '') + (ex ? 'x' + (ex.v || 0) : ''); };

  // rowFor returns a row for event e (null: its page is being fetched
  // again), reusing old or a pooled element for a plain row. An expanded
  // event is built anew (it holds its detail, context and JSON tree).
  function rowFor(e, old) {
    if (!e) { const p = h('div.ev', h('span.muted', '…')); p.dataset.open = 'placeholder'; eventOf.set(p, null); return p; }
    const k = keyOf(e);
    const ex = expanded.get(k);
    if (ex) {
      const w = h('div', buildRow(e, k), detail(e, ex));
      w.dataset.open = '1'; w.dataset.state = stateOf(e); eventOf.set(w, e);
      return w;
    }
    let el = old && old.classList.contains('ev') && !old.dataset.open ? old : pool.pop();
    if (!el) {
      el = h('div.ev', {role: 'listitem'}, h('span.ts'), h('span.st'), h('span.msg'));
    }
    const [ts, st, msg] = el.children;
    ts.textContent = fmtTime(e.timestamp);
    const many = state.streams.length !== 1;
    st.hidden = !many;
    if (many) { st.textContent = e.logStreamName; st.title = e.logStreamName; }
    const text = e.message.replace(/\n$/, '');
    if (!terms.length && !text.includes('****')) msg.textContent = text;
    else { msg.replaceChildren(); append(msg, [highlight(text, terms)]); }
    el.dataset.key = k;
    el.dataset.state = stateOf(e);
    el.classList.toggle('selected', k === selected);
    eventOf.set(el, e);
    return el;
  }

  // One listener for every row: the row's event is looked up, not bound.
  rowsEl.addEventListener('click', ev => {
    const el = ev.target.closest('.ev');
    if (!el || ev.target.closest('.detail')) return;
    const row = el.parentElement === rowsEl ? el : el.parentElement;
    const e = eventOf.get(row);
    if (e) toggle(e);
  });

  function buildRow(e, k) {
    return h('div.ev', {role: 'listitem', 'data-key': k, class: k === selected ? 'selected' : null},
      h('span.ts', fmtTime(e.timestamp)),
      state.streams.length !== 1 ? h('span.st', {title: e.logStreamName}, e.logStreamName) : null,
      h('span.msg', highlight(e.message.replace(/\n$/, ''), terms)));
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
    ex.v = (ex.v || 0) + 1; // the row is built again with its context
    render();
  }

  scroller.addEventListener('scroll', () => { render(); more(gen); }, {passive: true});
  // eventAt is the loaded event at index i (null: not loaded); indexOf the
  // index of the event with key k (-1: not loaded).
  function eventAt(i) {
    let base = 0;
    for (const c of chunks) {
      if (i < base + c.count) return c.events ? c.events[i - base] : null;
      base += c.count;
    }
    return null;
  }
  function indexOf(k) {
    let base = 0;
    for (const c of chunks) {
      const j = c.events ? c.events.findIndex(x => keyOf(x) === k) : -1;
      if (j >= 0) return base + j;
      base += c.count;
    }
    return -1;
  }
  scroller.addEventListener('keydown', e => {
    let i = selected ? indexOf(selected) : -1;
    const cur = i >= 0 ? eventAt(i) : null;
    if (e.key === 'j' || e.key === 'ArrowDown') i = i < 0 ? rowAt(scroller.scrollTop) : Math.min(count - 1, i + 1);
    else if (e.key === 'k' || e.key === 'ArrowUp') i = i < 0 ? rowAt(scroller.scrollTop) : Math.max(0, i - 1);
    else if (e.key === 'Enter' && cur) { toggle(cur); e.preventDefault(); return; }
    else if (e.key === 'c' && cur) { copyText(cur.message); return; }
    else return;
    e.preventDefault();
    const next = eventAt(i);
    if (!next) return;
    selected = keyOf(next);
    if (!shift) measure(); // the row's place by the rows as they are now (a key is rare: a layout here is cheap)
    const y = offsetOf(i), y1 = offsetOf(i + 1);
    if (y < scroller.scrollTop) scroller.scrollTop = y;
    if (y1 > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = y1 - scroller.clientHeight;
    render();
  });
  record();
  await reset();
  return () => { gen++; cancelAnimationFrame(raf); };
}
