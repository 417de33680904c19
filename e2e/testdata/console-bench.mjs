// The console's benchmark (CAIRN_CONSOLE_BENCH=1 go test -run
// TestConsoleBenchmark ./e2e/): over one stream of many events, the time to
// the first screen of events, and the frame times while scrolling 100,000
// lines. It prints figures; it asserts nothing.
//
// node console-bench.mjs URL KEY SECRET GROUP STREAM
import {createRequire} from 'node:module';

const require = createRequire(process.env.CAIRN_PLAYWRIGHT + '/');
const {chromium} = require('playwright-core');
const [url, key, secret, group, stream] = process.argv.slice(2);

// summariseTrace prints, for the renderer's main thread, the time of each
// kind of trace event nested in its tasks (self time: a Layout inside a
// FunctionCall counts as Layout), over all tasks and over those longer than
// 50 ms. Times are the thread's CPU time (tdur) where the trace has it.
function summariseTrace(trace) {
  const evs = (trace.traceEvents || trace).filter(e => e.ph === 'X' && e.dur != null);
  const main = new Map();
  for (const e of trace.traceEvents || trace) {
    if (e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain') main.set(`${e.pid}:${e.tid}`, true);
  }
  const mine = evs.filter(e => main.has(`${e.pid}:${e.tid}`)).sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  const tasks = mine.filter(e => e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask');
  const self = (list) => {
    const out = new Map();
    const stack = [];
    for (const e of list) {
      while (stack.length && stack[stack.length - 1].end <= e.ts) stack.pop();
      const parent = stack[stack.length - 1];
      if (parent) parent.self -= e.tdur ?? e.dur;
      const n = {name: e.name, self: e.tdur ?? e.dur, end: e.ts + e.dur};
      stack.push(n);
      n.add = () => out.set(n.name, (out.get(n.name) || 0) + n.self);
      list.nodes = list.nodes || []; list.nodes.push(n);
    }
    for (const n of list.nodes || []) n.add();
    return [...out].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `${k} ${(v / 1000).toFixed(0)} ms`).join(', ');
  };
  // The main thread's CPU time per task (tdur, the thread clock): what the
  // page itself costs, which the machine's load does not inflate the way
  // it inflates the wall-clock frame times.
  const cpu = tasks.map(t => t.tdur ?? t.dur).sort((a, b) => a - b);
  if (cpu.length) {
    const q = f => (cpu[Math.min(cpu.length - 1, Math.floor(cpu.length * f))] / 1000).toFixed(1);
    const sum = cpu.reduce((a, b) => a + b, 0);
    console.log(`trace, main-thread CPU per task: total ${(sum / 1000).toFixed(0)} ms, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms, ${cpu.filter(x => x > 50000).length} over 50 ms, ${cpu.filter(x => x > 16700).length} over 16.7 ms`);
  }
  const long = tasks.filter(t => t.dur > 50000);
  const inLong = mine.filter(e => long.some(t => e.ts >= t.ts && e.ts < t.ts + t.dur));
  console.log(`trace: ${tasks.length} main-thread tasks, ${long.length} over 50 ms (longest ${(Math.max(0, ...tasks.map(t => t.dur)) / 1000).toFixed(0)} ms)`);
  console.log(`trace, all tasks (self CPU time): ${self(mine)}`);
  console.log(`trace, tasks over 50 ms (self CPU time): ${self(inLong)}`);
}

const browser = await chromium.launch({executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox']});
try {
  const page = await (await browser.newContext({viewport: {width: 1280, height: 800}})).newPage();
  await page.goto(url + '/console/');
  await page.fill('input[name=accessKeyId]', key);
  await page.fill('input[name=secretAccessKey]', secret);
  await page.click('form.signin button[type=submit]');
  await page.waitForSelector('table.grid');
  const link = `${url}/console/#/events?group=${encodeURIComponent(group)}&streams=${encodeURIComponent(stream)}&since=all`;
  const firsts = [];
  for (let i = 0; i < 5; i++) {
    await page.goto(url + '/console/#/groups');
    await page.waitForSelector('table.grid');
    const t0 = Date.now();
    await page.goto(link);
    await page.waitForSelector('[data-testid=events] .ev .msg');
    firsts.push(Date.now() - t0);
  }
  console.log(`first screen of events (ms, 5 runs): ${firsts.join(' ')}`);
  // CAIRN_CONSOLE_TRACE=1: record a Chromium trace of the scroll and print
  // where the renderer's main thread spent its time, overall and in the
  // tasks over 50 ms (the trace slows the page, so its frames are not the
  // figures above: run without it for those).
  const tracing = !!process.env.CAIRN_CONSOLE_TRACE;
  if (tracing) await browser.startTracing(page, {categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'blink.user_timing']});
  // scroll moves the list 100 rows of rowPx a frame until 100,000 have
  // passed, and answers the frame times.
  const scroll = rowPx => page.evaluate(rowPx => new Promise(resolve => {
    const el = document.querySelector('[data-testid=events]');
    const frames = [];
    let last = performance.now();
    const t0 = last;
    function step(now) {
      frames.push(now - last);
      last = now;
      el.scrollTop += 100 * rowPx; // 100 rows a frame
      if (el.scrollTop / rowPx >= 100000 || now - t0 > 120000) {
        frames.sort((a, b) => a - b);
        resolve({rows: Math.round(el.scrollTop / rowPx), ms: Math.round(now - t0), frames: frames.length,
          p50: frames[frames.length >> 1].toFixed(1), p99: frames[Math.floor(frames.length * 0.99)].toFixed(1), max: frames[frames.length - 1].toFixed(1),
          over50: frames.filter(f => f > 50).length, dom: el.querySelectorAll('.ev').length});
        return;
      }
      requestAnimationFrame(step);
    }
    requestAnimationFrame(step);
  }), rowPx);
  const r = await scroll(20);
  if (tracing) summariseTrace(JSON.parse((await browser.stopTracing()).toString()));
  console.log(`scrolled ${r.rows} rows in ${r.ms} ms: ${r.frames} frames, p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms, ${r.over50} over 50 ms, ${r.dom} rows in the DOM`);
  // The same distance (2,000,000 px, 2,000 px a frame) with wrap on: every
  // rendered row is measured (21 px here: one line and its border) and
  // placed by its height; rows jumped over count 20 px until rendered.
  await page.goto(link + '&wrap=1');
  await page.waitForSelector('[data-testid=events] .ev .msg');
  const w = await scroll(20);
  console.log(`wrap on: scrolled ${w.rows * 20} px in ${w.ms} ms: ${w.frames} frames, p50 ${w.p50} ms, p99 ${w.p99} ms, max ${w.max} ms, ${w.over50} over 50 ms, ${w.dom} rows in the DOM`);

  // Live tail under load: the Go side puts about 5,000 events/s for 10 s
  // while the page tails; the frames the page draws meanwhile.
  await page.goto(`${url}/console/#/tail?groups=${encodeURIComponent(group)}&autostart=1`);
  await page.waitForFunction(() => document.querySelector('[data-testid=tail-events]').dataset.session);
  await page.evaluate(() => {
    window.benchFrames = [];
    let last = performance.now();
    const loop = now => { window.benchFrames.push(now - last); last = now; if (!window.benchStop) requestAnimationFrame(loop); };
    requestAnimationFrame(loop);
  });
  if (tracing) await browser.startTracing(page, {categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8']});
  console.log('NEED tail-load');
  await new Promise(res => process.stdin.once('data', res));
  if (tracing) { console.log('live tail:'); summariseTrace(JSON.parse((await browser.stopTracing()).toString())); }
  const t = await page.evaluate(() => {
    window.benchStop = true;
    const f = window.benchFrames.slice(1).sort((a, b) => a - b);
    return {frames: f.length, p50: f[f.length >> 1].toFixed(1), p99: f[Math.floor(f.length * 0.99)].toFixed(1), max: f[f.length - 1].toFixed(1),
      over50: f.filter(x => x > 50).length, rate: document.querySelector('[data-testid=tail-rate]').textContent,
      sampled: document.querySelector('[data-testid=tail-sampled]').textContent, rows: document.querySelectorAll('[data-testid=tail-events] .ev').length};
  });
  console.log(`live tail under load: ${t.frames} frames, p50 ${t.p50} ms, p99 ${t.p99} ms, max ${t.max} ms, ${t.over50} over 50 ms; rate shown "${t.rate}"; ${t.rows} rows in the DOM; sampling notice: "${t.sampled}"`);
} finally {
  await browser.close();
}
process.exit(0);
