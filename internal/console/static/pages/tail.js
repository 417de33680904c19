// Live tail: StartLiveTail through the console's relay (one JSON line per
// event-stream frame). Events are queued as they arrive and drawn once per
// animation frame, at most MAX_DOM rows kept, so the tab stays responsive at
// thousands of events a second; pausing keeps receiving and counts.
import {h, clear, append} from '../lib/dom.js';
import {call, stream} from '../api.js';
import {fmtTime} from '../lib/time.js';
import {highlight, matchTerms} from '../lib/highlight.js';
import {setParams} from '../lib/route.js';

// At most MAX_DOM rows are kept and at most PER_FRAME drawn per frame: past
// that rate no one reads the lines, so only the latest are drawn and the
// rest counted (the rate shown stays exact). Without the cap a slow frame
// makes the next batch bigger and the tab stops drawing. 50 a frame (3,000
// lines/s at 60 frames/s) keeps every frame under 16 ms of CPU at 5,000
// events/s; 100 did not (docs/benchmarks.md, console15).
const MAX_DOM = 500;
const PER_FRAME = 50;

export default async function tail(main, params) {
  const chosen = new Set((params.groups || '').split(',').filter(Boolean));
  const groupsBox = h('div.row', {'aria-label': 'Log groups'});
  const filterIn = h('input', {type: 'search', value: params.filter || '', placeholder: 'Filter pattern', 'data-search': true, 'aria-label': 'Filter pattern', size: 40});
  const startBtn = h('button.primary', {'data-testid': 'tail-start'}, 'Start');
  const pauseBtn = h('button', {disabled: true, 'data-testid': 'tail-pause'}, 'Pause');
  const clearBtn = h('button', 'Clear');
  const rate = h('span.muted', {'data-testid': 'tail-rate'});
  const notice = h('span.warn', {'data-testid': 'tail-sampled'});
  const err = h('p.err', {role: 'alert'});
  const list = h('div.scroller.log.tail', {'data-testid': 'tail-events', tabindex: 0});
  main.append(h('h1', 'Live tail'), groupsBox,
    h('div.toolbar', filterIn, startBtn, pauseBtn, clearBtn, rate, notice), err, list);

  const all = await call('DescribeLogGroups', {limit: 50}).catch(x => { err.textContent = x.message; return {logGroups: []}; });
  const arns = {};
  for (const g of all.logGroups || []) {
    arns[g.logGroupName] = g.logGroupArn || g.arn.replace(/:\*$/, '');
    const b = h('input', {type: 'checkbox', checked: chosen.has(g.logGroupName), 'aria-label': g.logGroupName});
    b.addEventListener('change', () => { b.checked ? chosen.add(g.logGroupName) : chosen.delete(g.logGroupName); record(); });
    groupsBox.append(h('label.row', b, g.logGroupName));
  }
  if (!all.logGroups?.length) groupsBox.append(h('span.muted', 'No log groups.'));

  function record() { setParams({groups: [...chosen].join(','), filter: filterIn.value}); }

  let abort = null, paused = false, queue = [], held = 0, raf = 0, skipped = 0, received = 0;
  let times = []; // arrival times (ms) of events in the last 5 s, for the rate
  let terms = [];

  function draw() {
    raf = 0;
    if (paused) return;
    const batch = queue; queue = [];
    if (batch.length > PER_FRAME) skipped += batch.length - PER_FRAME;
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 30;
    // Once MAX_DOM rows are kept, the oldest row is refilled with the
    // newest event and moved to the end: no element is created or freed
    // per event, and each row (fixed height, contained) is laid out alone.
    const frag = document.createDocumentFragment();
    const drawn = batch.slice(-PER_FRAME);
    let reuse = Math.max(0, list.childElementCount + drawn.length - MAX_DOM);
    for (const e of drawn) {
      let el = reuse-- > 0 ? list.firstElementChild : null;
      if (!el) el = h('div.ev', h('span.ts'), h('span.st'), h('span.st'), h('span.msg'));
      const [ts, g, st, msg] = el.children;
      ts.textContent = fmtTime(e.timestamp);
      g.textContent = short(e.logGroupIdentifier); g.title = e.logGroupIdentifier;
      st.textContent = e.logStreamName;
      msg.replaceChildren();
      append(msg, [highlight(e.message, terms)]);
      frag.append(el);
    }
    list.append(frag);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }
  const short = id => id.replace(/^arn:[^:]*:logs:[^:]*:[^:]*:log-group:/, '');

  const rateTimer = setInterval(() => {
    const now = performance.now();
    times = times.filter(t => now - t < 5000);
    rate.textContent = abort ? `${(times.length / 5).toFixed(1)} events/s · ${received.toLocaleString()} received${paused ? ` · paused, ${held} waiting` : ''}${skipped ? ` · ${skipped.toLocaleString()} not drawn (too fast to read)` : ''}` : '';
  }, 500);

  async function start() {
    if (abort) { stop(); return; }
    err.textContent = ''; notice.textContent = '';
    if (!chosen.size) { err.textContent = 'Choose at least one log group.'; return; }
    record();
    terms = matchTerms(filterIn.value);
    abort = new AbortController();
    startBtn.textContent = 'Stop'; pauseBtn.disabled = false;
    const body = {logGroupIdentifiers: [...chosen].map(g => arns[g] || g)};
    if (filterIn.value.trim()) body.logEventFilterPattern = filterIn.value.trim();
    const mine = abort;
    try {
      await stream('StartLiveTail', body, f => {
        if (f.exception) { err.textContent = `${f.exception}: ${f.data?.message || ''}`; return; }
        if (f.event === 'sessionStart') { rate.textContent = 'Connected'; list.dataset.session = f.data.sessionId || ''; return; }
        if (f.event !== 'sessionUpdate') return;
        if (f.data.sessionMetadata?.sampled) notice.textContent = 'The server is sampling: more events match than it sends.';
        const evs = f.data.sessionResults || [];
        const now = performance.now();
        for (let i = 0; i < evs.length; i++) times.push(now);
        received += evs.length;
        if (paused) held += evs.length;
        queue.push(...evs);
        if (queue.length > PER_FRAME * 10) { skipped += queue.length - PER_FRAME; queue.splice(0, queue.length - PER_FRAME); }
        if (!raf) raf = requestAnimationFrame(draw);
      }, mine.signal);
    } catch (x) {
      if (x.name !== 'AbortError') err.textContent = x.message;
    }
    if (abort === mine) stop();
  }

  function stop() {
    abort?.abort();
    abort = null;
    startBtn.textContent = 'Start'; pauseBtn.disabled = true; paused = false; pauseBtn.textContent = 'Pause';
  }

  startBtn.addEventListener('click', start);
  pauseBtn.addEventListener('click', () => {
    paused = !paused; held = 0;
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    if (!paused && !raf) raf = requestAnimationFrame(draw);
  });
  clearBtn.addEventListener('click', () => { clear(list); queue = []; });
  filterIn.addEventListener('keydown', e => { if (e.key === 'Enter') { stop(); start(); } });
  if (params.autostart === '1' && chosen.size) start();
  return () => { stop(); clearInterval(rateTimer); cancelAnimationFrame(raf); };
}
