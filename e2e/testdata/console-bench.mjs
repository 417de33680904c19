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
  const r = await page.evaluate(() => new Promise(resolve => {
    const el = document.querySelector('[data-testid=events]');
    const frames = [];
    let last = performance.now();
    const t0 = last;
    function step(now) {
      frames.push(now - last);
      last = now;
      el.scrollTop += 2000; // 100 rows a frame
      if (el.scrollTop / 20 >= 100000 || now - t0 > 120000) {
        frames.sort((a, b) => a - b);
        resolve({rows: Math.round(el.scrollTop / 20), ms: Math.round(now - t0), frames: frames.length,
          p50: frames[frames.length >> 1].toFixed(1), p99: frames[Math.floor(frames.length * 0.99)].toFixed(1), max: frames[frames.length - 1].toFixed(1),
          over50: frames.filter(f => f > 50).length, dom: el.querySelectorAll('.ev').length});
        return;
      }
      requestAnimationFrame(step);
    }
    requestAnimationFrame(step);
  }));
  console.log(`scrolled ${r.rows} rows in ${r.ms} ms: ${r.frames} frames, p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms, ${r.over50} over 50 ms, ${r.dom} rows in the DOM`);

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
  console.log('NEED tail-load');
  await new Promise(res => process.stdin.once('data', res));
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
