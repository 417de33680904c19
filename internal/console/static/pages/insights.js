// Insights: an editor with highlighting and completion (commands, functions,
// the groups' fields), run/stop with StartQuery / GetQueryResults /
// StopQuery, progress and statistics while running, a sortable result
// table, a histogram of matching events over time for every query (a second
// query: the first one's filtering commands | stats count(*) by bin()), a
// bar or line chart for `stats … by bin()`, saved queries (query
// definitions) and recent queries (kept in this browser).
import {h, clear, sortableTable, formDialog, confirmDialog} from '../lib/dom.js';
import {call, allPages} from '../api.js';
import {fmtTime, RELATIVE, resolveRange} from '../lib/time.js';
import {setParams} from '../lib/route.js';

export const COMMANDS = ['fields', 'display', 'filter', 'filterIndex', 'stats', 'sort', 'limit', 'parse', 'dedup', 'unmask', 'pattern', 'diff', 'anomaly', 'source', 'unnest', 'lookup'];
export const FUNCTIONS = ['count', 'count_distinct', 'sum', 'avg', 'min', 'max', 'pct', 'stddev', 'earliest', 'latest', 'sortsFirst', 'sortsLast',
  'bin', 'abs', 'ceil', 'floor', 'greatest', 'least', 'log', 'sqrt', 'concat', 'ltrim', 'rtrim', 'trim', 'strlen', 'toupper', 'tolower', 'substr',
  'replace', 'strcontains', 'ispresent', 'isempty', 'isblank', 'coalesce', 'datefloor', 'dateceil', 'fromMillis', 'toMillis', 'now',
  'isValidIp', 'isValidIpV4', 'isValidIpV6', 'isIpInSubnet', 'isIpv4InSubnet', 'isIpv6InSubnet', 'jsonParse'];
const KEYWORDS = ['by', 'as', 'and', 'or', 'not', 'like', 'in', 'asc', 'desc'];
const BUILTIN_FIELDS = ['@timestamp', '@message', '@logStream', '@log', '@ingestionTime'];

// tokens splits a query for highlighting: [class, text] pairs covering it.
export function tokens(q) {
  const re = /("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|`[^`]*`?)|(\/(?:[^/\\\n]|\\.)+\/)|(-?\d+(?:\.\d+)?[smhd]?\b)|(@?[A-Za-z_][\w.@-]*)(\s*\()?|(\|)|(\s+|.)/g;
  const out = [];
  let atCommand = true;
  for (const m of q.matchAll(re)) {
    if (m[1] || m[2]) out.push(['hl-str', m[0]]);
    else if (m[3]) out.push(['hl-num', m[0]]);
    else if (m[4]) {
      const w = m[4];
      if (atCommand && COMMANDS.includes(w)) out.push(['hl-cmd', w]);
      else if (m[5] && FUNCTIONS.includes(w)) out.push(['hl-fn', w]);
      else if (KEYWORDS.includes(w.toLowerCase())) out.push(['hl-op', w]);
      else out.push(['hl-field', w]);
      if (m[5]) out.push(['', m[5]]);
      atCommand = false;
      continue;
    } else if (m[6]) { out.push(['hl-op', '|']); atCommand = true; continue; }
    else out.push(['', m[0]]);
    if (m[0].trim()) atCommand = false;
  }
  return out;
}

// histogramQuery keeps the commands that choose events (filter, and the
// parse, fields and unmask a later filter may read) and counts them per
// time bin. Commands after the last filter choose nothing, so they are
// dropped: a query without a filter counts timestamps alone, the cheapest
// scan the server has.
export function histogramQuery(q, binSpan) {
  const keep = [];
  let lastFilter = -1;
  for (const part of splitPipes(q)) {
    const cmd = part.trim().split(/\s+/)[0];
    if (['filter', 'filterIndex', 'source'].includes(cmd)) lastFilter = keep.length;
    if (['filter', 'parse', 'fields', 'unmask', 'filterIndex', 'source'].includes(cmd)) keep.push(part.trim());
  }
  keep.length = lastFilter + 1;
  keep.push(`stats count(*) as events by bin(${binSpan})`);
  return keep.join(' | ');
}

function splitPipes(q) {
  const parts = [];
  let cur = '', quote = '';
  for (const ch of q) {
    if (quote) { cur += ch; if (ch === quote) quote = ''; continue; }
    if (ch === '"' || ch === "'" || ch === '`' ) quote = ch;
    if (ch === '|') { parts.push(cur); cur = ''; continue; }
    cur += ch;
  }
  parts.push(cur);
  return parts.filter(p => p.trim());
}

// binMs is a bin() span's length in milliseconds.
export function binMs(spec) {
  const m = /^(\d+)([smhd])$/.exec(spec);
  return m ? Number(m[1]) * {s: 1e3, m: 6e4, h: 36e5, d: 864e5}[m[2]] : 0;
}

const SPANS = [[1, '1s'], [5, '5s'], [10, '10s'], [30, '30s'], [60, '1m'], [300, '5m'], [600, '10m'], [1800, '30m'], [3600, '1h'], [10800, '3h'], [86400, '1d']];
export function binFor(rangeSeconds) {
  const want = rangeSeconds / 60;
  return (SPANS.find(([s]) => s >= want) || SPANS[SPANS.length - 1])[1];
}

// resultTime parses a time value of a query's results to epoch ms (NaN
// when it is not one): AWS writes bin() and @timestamp values in UTC with
// no zone ("2024-01-02 03:04:05.678"); a value with a zone keeps it.
export function resultTime(s) {
  const v = String(s);
  return Date.parse(v.replace(' ', 'T') + (/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? '' : 'Z'));
}

// timeColumn tells the result columns that hold times: bin() and the
// event's own times. The table shows them in the zone the UTC/local switch
// chooses, as the chart labels the same bins.
export const timeColumn = c => /^bin\(/.test(c) || c === '@timestamp' || c === '@ingestionTime';

// chart draws rows' numeric column against their time column as bars or a
// line, in an SVG the page's CSS colours.
// span, when given ({start, end, bin} in ms), fixes the time axis to the
// query's range and each bar's width to one bin.
export function chart(rows, timeKey, valueKey, kind, span) {
  const pts = rows.map(r => [resultTime(r[timeKey]), Number(r[valueKey])])
    .filter(([t, v]) => !isNaN(t) && !isNaN(v)).sort((a, b) => a[0] - b[0]);
  const W = 800, H = 180, P = 28;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.dataset.points = String(pts.length);
  if (!pts.length) return svg;
  let t0 = pts[0][0], t1 = pts[pts.length - 1][0] || t0 + 1;
  if (span) { t0 = Math.min(t0, span.start); t1 = Math.max(t1, span.end); }
  const vmax = Math.max(...pts.map(p => p[1]), 1);
  const x = t => P + (t1 === t0 ? (W - 2 * P) / 2 : (t - t0) / (t1 - t0) * (W - 2 * P));
  const y = v => H - P - v / vmax * (H - 2 * P);
  const el = (n, a) => { const e = document.createElementNS('http://www.w3.org/2000/svg', n); for (const k in a) e.setAttribute(k, a[k]); svg.append(e); return e; };
  if (kind === 'line') el('path', {d: pts.map((p, i) => `${i ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join('')});
  else {
    const bw = span ? Math.min(W - 2 * P, Math.max(1, span.bin / Math.max(1, t1 - t0) * (W - 2 * P) * 0.9)) : Math.max(1, (W - 2 * P) / pts.length * 0.8);
    for (const [t, v] of pts) el('rect', {x: (span ? x(t) : x(t) - bw / 2).toFixed(1), y: y(v).toFixed(1), width: bw.toFixed(1), height: (H - P - y(v)).toFixed(1)}).append(
      Object.assign(document.createElementNS('http://www.w3.org/2000/svg', 'title'), {textContent: `${fmtTime(t)}: ${v}`}));
  }
  el('text', {x: P, y: H - 8}).textContent = fmtTime(t0);
  el('text', {x: W - P - 140, y: H - 8}).textContent = fmtTime(t1);
  el('text', {x: 2, y: P}).textContent = String(vmax);
  return svg;
}

function recent() { try { return JSON.parse(localStorage.getItem('cairn.recentQueries') || '[]'); } catch { return []; } }

export default async function insights(main, params) {
  const chosen = new Set((params.groups || '').split(',').filter(Boolean));
  const groupsBox = h('div.row', {'aria-label': 'Log groups'});
  const rel = h('select', {'aria-label': 'Time range'}, RELATIVE.map(([v, l]) => h('option', {value: v, selected: v === (params.since || '1h')}, 'Last ' + l)));
  const ta = h('textarea', {spellcheck: 'false', rows: 5, 'aria-label': 'Query', 'data-search': true, 'data-testid': 'query'});
  ta.value = params.q || 'fields @timestamp, @message\n| sort @timestamp desc\n| limit 100';
  const pre = h('pre', {'aria-hidden': 'true'});
  const menu = h('ul.complete', {hidden: true, role: 'listbox'});
  const editor = h('div.editor', pre, ta, menu);
  const runBtn = h('button.primary', {'data-testid': 'run'}, 'Run (Ctrl+Enter)');
  const stopBtn = h('button', {disabled: true}, 'Stop');
  const saveBtn = h('button', 'Save');
  const progress = h('span.muted', {'data-testid': 'query-status'});
  const err = h('p.err', {role: 'alert', 'data-testid': 'query-error'});
  const hist = h('div', {'data-testid': 'histogram'});
  const histStatus = h('span.muted', {'data-testid': 'histogram-status'});
  const chartBox = h('div', {'data-testid': 'chart'});
  const table = h('div', {'data-testid': 'results'});
  const saved = h('div'), recents = h('div');
  main.append(h('h1', 'Insights'), groupsBox, h('div.toolbar', rel, runBtn, stopBtn, saveBtn, progress), editor, err,
    h('h2', 'Matching events over time ', histStatus), hist, chartBox, h('h2', 'Results'), table,
    h('div.split', {style: 'margin-top:12px'}, h('div', h('h2', 'Saved queries'), saved), h('div', h('h2', 'Recent queries'), recents)));

  const groups = await allPages('DescribeLogGroups', {}, 'logGroups', 1000).catch(x => { err.textContent = x.message; return {items: []}; });
  const boxes = new Map(); // group name → its checkbox
  for (const g of groups.items) {
    const b = h('input', {type: 'checkbox', checked: chosen.has(g.logGroupName), 'aria-label': g.logGroupName});
    boxes.set(g.logGroupName, b);
    b.addEventListener('change', () => { b.checked ? chosen.add(g.logGroupName) : chosen.delete(g.logGroupName); record(); discover(); });
    groupsBox.append(h('label.row', b, g.logGroupName));
  }

  // Fields: the built-in ones and those found in a sample of each group's
  // JSON events (GetLogGroupFields when the server has it).
  let fields = [...BUILTIN_FIELDS];
  async function discover() {
    const found = new Set(BUILTIN_FIELDS);
    for (const g of chosen) {
      try {
        const r = await call('GetLogGroupFields', {logGroupName: g});
        for (const f of r.logGroupFields || []) found.add(f.name);
        continue;
      } catch { /* not served: sample instead */ }
      try {
        const r = await call('FilterLogEvents', {logGroupName: g, limit: 50});
        for (const e of r.events || []) {
          try { const o = JSON.parse(e.message); if (o && typeof o === 'object') for (const k of Object.keys(o)) found.add(k); } catch { /* not JSON */ }
        }
      } catch { /* no access: no fields */ }
    }
    fields = [...found];
  }

  function paint() {
    clear(pre).append(...tokens(ta.value + '\n').map(([c, t]) => (c ? h('span.' + c, t) : t)));
    pre.scrollTop = ta.scrollTop;
  }
  ta.addEventListener('input', () => { paint(); suggest(); record(); });
  ta.addEventListener('scroll', () => { pre.scrollTop = ta.scrollTop; });

  let choices = [], active = 0;
  function wordAt() {
    const upto = ta.value.slice(0, ta.selectionStart);
    const m = upto.match(/[@\w.]+$/);
    return m ? m[0] : '';
  }
  function suggest() {
    const w = wordAt();
    if (!w) { menu.hidden = true; return; }
    const before = ta.value.slice(0, ta.selectionStart - w.length);
    const atCmd = /(^|\|)\s*$/.test(before);
    const pool = atCmd ? COMMANDS : [...FUNCTIONS.map(f => f + '('), ...fields, ...KEYWORDS];
    choices = pool.filter(c => c.toLowerCase().startsWith(w.toLowerCase()) && c !== w).slice(0, 12);
    if (!choices.length) { menu.hidden = true; return; }
    active = 0;
    clear(menu).append(...choices.map((c, i) => h('li', {class: i === active ? 'active' : null, role: 'option',
      onmousedown: e => { e.preventDefault(); accept(c); }}, c)));
    const lines = ta.value.slice(0, ta.selectionStart).split('\n');
    menu.style.top = (lines.length * 19.5 + 10) + 'px';
    menu.style.left = Math.min(600, lines[lines.length - 1].length * 7.8 + 8) + 'px';
    menu.hidden = false;
  }
  function accept(c) {
    const w = wordAt();
    const pos = ta.selectionStart;
    ta.setRangeText(c, pos - w.length, pos, 'end');
    menu.hidden = true;
    paint();
    ta.focus();
  }
  ta.addEventListener('keydown', e => {
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') { e.preventDefault(); run(); return; }
    if (menu.hidden) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      active = (active + (e.key === 'ArrowDown' ? 1 : choices.length - 1)) % choices.length;
      [...menu.children].forEach((li, i) => li.classList.toggle('active', i === active));
    } else if (e.key === 'Tab' || e.key === 'Enter') { e.preventDefault(); accept(choices[active]); }
    else if (e.key === 'Escape') { menu.hidden = true; e.stopPropagation(); }
  });
  ta.addEventListener('blur', () => setTimeout(() => { menu.hidden = true; }, 100));

  function record() { setParams({groups: [...chosen].join(','), since: rel.value, q: ta.value}); }
  rel.addEventListener('change', record);

  let running = null; // {ids, stop}
  async function startQuery(queryString, range) {
    const r = await call('StartQuery', {logGroupNames: [...chosen], queryString,
      startTime: Math.floor((range.start ?? 0) / 1000), endTime: Math.ceil((range.end ?? Date.now()) / 1000)});
    return r.queryId;
  }
  // waitFor polls a query until it ends: soon at first (a short query's
  // answer shows at once), then every 400 ms.
  async function waitFor(id, onProgress, token) {
    for (let wait = 25; ; wait = Math.min(400, wait * 2)) {
      const r = await call('GetQueryResults', {queryId: id});
      onProgress?.(r);
      if (!['Scheduled', 'Running'].includes(r.status) || token.stopped) return r;
      await new Promise(res => setTimeout(res, wait));
    }
  }

  // The histogram is its own query, run beside the main one and never
  // waited for: the results, the Run button and the page do not wait for
  // it, and a new run stops the old histogram. Its progress and time show
  // beside its heading.
  let histRun = null; // {id, token}
  async function runHistogram(q, range, span, rangeStart, now) {
    if (histRun) stopHistogram();
    const mine = histRun = {id: null, token: {stopped: false}};
    const t0 = performance.now();
    delete hist.dataset.ms;
    histStatus.textContent = '· counting…';
    try {
      mine.id = await startQuery(histogramQuery(q, span), range);
      if (mine.token.stopped) { call('StopQuery', {queryId: mine.id}).catch(() => {}); return; }
      const r = await waitFor(mine.id, p => {
        if (histRun === mine) histStatus.textContent = `· counting… ${Math.round(p.statistics?.recordsScanned || 0).toLocaleString()} scanned`;
      }, mine.token);
      if (mine.token.stopped) return;
      const rows = rowsOf(r);
      clear(hist).append(chart(rows, `bin(${span})`, 'events', 'bar', {start: range.start ?? rangeStart, end: range.end ?? now, bin: binMs(span)}));
      const ms = performance.now() - t0;
      hist.dataset.ms = String(Math.round(ms));
      const total = rows.reduce((n, x) => n + (Number(x.events) || 0), 0);
      histStatus.textContent = r.status === 'Complete' ? `· ${total.toLocaleString()} events, ${rows.length} bins of ${span} · ${(ms / 1000).toFixed(2)} s`
        : `· ${r.status}`;
    } catch (x) {
      if (!mine.token.stopped) histStatus.textContent = '· ' + x.message;
    } finally {
      if (histRun === mine) histRun = null;
    }
  }
  function stopHistogram() {
    if (!histRun) return;
    histRun.token.stopped = true;
    if (histRun.id) call('StopQuery', {queryId: histRun.id}).catch(() => {});
    histStatus.textContent = '· stopped';
    histRun = null;
  }
  const rowsOf = r => (r.results || []).map(row => Object.fromEntries(row.filter(c => c.field !== '@ptr').map(c => [c.field, c.value])));

  async function run() {
    if (running) return;
    err.textContent = ''; clear(table); clear(hist); clear(chartBox);
    if (!chosen.size) { err.textContent = 'Choose at least one log group.'; return; }
    const q = ta.value.trim();
    const range = resolveRange({since: rel.value});
    const now = Date.now();
    const rangeStart = range.start ?? now - 864e5 * 30;
    const span = binFor(((range.end ?? now) - rangeStart) / 1000);
    const token = {stopped: false};
    running = {ids: [], token};
    runBtn.disabled = true; stopBtn.disabled = false;
    const list = [q, ...recent().filter(x => x !== q)].slice(0, 20);
    localStorage.setItem('cairn.recentQueries', JSON.stringify(list));
    drawRecent();
    try {
      runHistogram(q, range, span, rangeStart, now);
      const t0 = performance.now();
      const id = await startQuery(q, range);
      running.ids = [id];
      let shown = 0, shownAt = 0;
      const r = await waitFor(id, p => {
        const s = p.statistics || {};
        progress.textContent = `${p.status} · ${Math.round(s.recordsMatched || 0).toLocaleString()} matched of ${Math.round(s.recordsScanned || 0).toLocaleString()} scanned · ${(Number(s.bytesScanned || 0) / 1048576).toFixed(1)} MiB · ${((performance.now() - t0) / 1000).toFixed(1)} s`;
        // Partial results are drawn when they change, at most once a
        // second: a large table drawn on every poll would keep the page busy.
        const n = p.results?.length || 0;
        if (n && n !== shown && performance.now() - shownAt > 1000) { shown = n; shownAt = performance.now(); showResults(rowsOf(p)); }
      }, token);
      progress.dataset.status = r.status;
      showResults(rowsOf(r));
    } catch (x) { err.textContent = x.message; }
    running = null;
    runBtn.disabled = false; stopBtn.disabled = true;
  }

  function showResults(rows) {
    const cols = [...new Set(rows.flatMap(r => Object.keys(r)))];
    const shown = c => r => { const t = resultTime(r[c]); return isNaN(t) ? r[c] : fmtTime(t); };
    clear(table).append(rows.length ? sortableTable(cols.map(c => ({key: c, label: c, sortValue: r => (isNaN(Number(r[c])) ? r[c] : Number(r[c])),
      fmt: timeColumn(c) ? shown(c) : undefined})), rows)
      : h('p.muted', 'No results.'));
    const binCol = cols.find(c => /^bin\(/.test(c));
    clear(chartBox);
    if (binCol) {
      const valueCols = cols.filter(c => c !== binCol && rows.some(r => !isNaN(Number(r[c]))));
      const kind = h('select', {'aria-label': 'Chart'}, h('option', {value: 'bar'}, 'Bar'), h('option', {value: 'line'}, 'Line'));
      const holder = h('div');
      const bin = binMs(binCol.slice(4, -1).trim());
      const draw = () => clear(holder).append(...valueCols.map(v => h('div', h('span.muted', v), chart(rows, binCol, v, kind.value, bin ? {start: Infinity, end: -Infinity, bin} : undefined))));
      kind.addEventListener('change', draw);
      chartBox.append(h('h2', 'Chart ', kind), holder);
      draw();
    }
  }

  stopBtn.addEventListener('click', async () => {
    if (!running) return;
    running.token.stopped = true;
    stopHistogram();
    for (const id of running.ids) await call('StopQuery', {queryId: id}).catch(() => {});
    progress.textContent = 'Cancelled';
  });
  runBtn.addEventListener('click', run);

  async function drawSaved() {
    try {
      const r = await call('DescribeQueryDefinitions', {});
      const defs = r.queryDefinitions || [];
      clear(saved).append(defs.length ? sortableTable([
        {key: 'name', label: 'Name', fmt: d => h('a', {href: '#', 'data-testid': 'saved-query', onclick: e => {
          // A saved query opens with its own groups chosen.
          e.preventDefault(); ta.value = d.queryString;
          if (d.logGroupNames?.length) { chosen.clear(); for (const g of d.logGroupNames) chosen.add(g); for (const [g, b] of boxes) b.checked = chosen.has(g); }
          paint(); record(); discover();
        }}, d.name)},
        {key: 'lastModified', label: 'Modified', fmt: d => fmtTime(d.lastModified)},
        {key: 'x', label: '', fmt: d => h('button.danger', {onclick: async () => {
          if (await confirmDialog(`Delete saved query ${d.name}?`, 'Delete')) { await call('DeleteQueryDefinition', {queryDefinitionId: d.queryDefinitionId}).catch(x => { err.textContent = x.message; }); drawSaved(); }
        }}, 'Delete')}], defs, {sortKey: 'name'}) : h('p.muted', 'No saved queries.'));
    } catch (x) { clear(saved).append(h('p.muted', x.message)); }
  }
  saveBtn.addEventListener('click', async () => {
    const r = await formDialog('Save query', [{name: 'name', label: 'Name', required: true}], 'Save');
    if (!r) return;
    try { await call('PutQueryDefinition', {name: r.name, queryString: ta.value, logGroupNames: [...chosen]}); drawSaved(); } catch (x) { err.textContent = x.message; }
  });
  function drawRecent() {
    clear(recents).append(h('ul', recent().map(q => h('li', h('a', {href: '#', class: 'mono', 'data-testid': 'recent-query', onclick: e => { e.preventDefault(); ta.value = q; paint(); record(); }}, q.replace(/\s+/g, ' ').slice(0, 120))))));
  }
  paint();
  drawRecent();
  drawSaved();
  discover();
  return () => { if (running) running.token.stopped = true; stopHistogram(); };
}
