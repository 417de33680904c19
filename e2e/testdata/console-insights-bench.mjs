// The Insights page's benchmark (CAIRN_CONSOLE_BENCH_INSIGHTS=10000000 go
// test -run TestConsoleInsightsBenchmark ./e2e/): over one group of many
// events, the time from Run to the histogram drawn, for the default query
// (its histogram counts timestamps alone) and for a filtering one, and the
// page's frames meanwhile (is it responsive while the histogram runs?). It
// prints figures; it asserts nothing.
//
// node console-insights-bench.mjs URL KEY SECRET GROUP
import {createRequire} from 'node:module';

const require = createRequire(process.env.CAIRN_PLAYWRIGHT + '/');
const {chromium} = require('playwright-core');
const [url, key, secret, group] = process.argv.slice(2);

const browser = await chromium.launch({executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox']});
try {
  const page = await (await browser.newContext({viewport: {width: 1280, height: 800}})).newPage();
  await page.goto(url + '/console/');
  await page.fill('input[name=accessKeyId]', key);
  await page.fill('input[name=secretAccessKey]', secret);
  await page.click('form.signin button[type=submit]');
  await page.waitForSelector('table.grid');
  for (const q of ['fields @timestamp, @message\n| sort @timestamp desc\n| limit 100', 'filter @message like /ERROR/\n| fields @timestamp, @message\n| limit 100']) {
    const runs = [];
    for (let i = 0; i < 3; i++) {
      await page.goto(`${url}/console/#/insights?groups=${encodeURIComponent(group)}&since=1d&q=${encodeURIComponent(q)}`);
      await page.waitForSelector('[data-testid=run]');
      await page.reload(); // a fresh page each run: nothing left of the last one
      await page.waitForSelector(`input[aria-label="${group}"]:checked`);
      await page.evaluate(() => {
        window.benchFrames = [];
        let last = performance.now();
        const loop = now => { window.benchFrames.push(now - last); last = now; if (!window.benchStop) requestAnimationFrame(loop); };
        requestAnimationFrame(loop);
      });
      const t0 = Date.now();
      await page.click('[data-testid=run]');
      await page.waitForFunction(() => document.querySelector('[data-testid=query-status]').dataset.status, null, {timeout: 600000});
      const results = Date.now() - t0;
      await page.waitForFunction(() => document.querySelector('[data-testid=histogram]').dataset.ms, null, {timeout: 600000});
      const hist = Date.now() - t0;
      const r = await page.evaluate(() => {
        window.benchStop = true;
        const f = window.benchFrames.slice(1).sort((a, b) => a - b);
        return {frames: f.length, p99: f[Math.floor(f.length * 0.99)]?.toFixed(1), max: f[f.length - 1]?.toFixed(1), over50: f.filter(x => x > 50).length,
          status: document.querySelector('[data-testid=histogram-status]').textContent, pageMs: document.querySelector('[data-testid=histogram]').dataset.ms};
      });
      runs.push(hist);
      console.log(`${JSON.stringify(q.split('\n')[0])}: results ${results} ms, histogram drawn ${hist} ms after Run (page's own timer ${r.pageMs} ms) ${r.status}; frames meanwhile: ${r.frames}, p99 ${r.p99} ms, max ${r.max} ms, ${r.over50} over 50 ms`);
    }
    runs.sort((a, b) => a - b);
    console.log(`histogram of ${JSON.stringify(q.split('\n')[0])}: median of 3 ${runs[1]} ms`);
    // The same histogram query sent from the page with fetch and polled
    // every 5 ms, without the page's code: what the browser and the
    // console's relay cost, apart from the page.
    const raw = [], blank = [];
    const measure = () => page.evaluate(async ({q, group}) => {
        const {call, loadSession} = await import('/console/static/api.js');
        await loadSession();
        const {histogramQuery} = await import('/console/static/pages/insights.js');
        const now = Date.now();
        const t0 = performance.now();
        const {queryId} = await call('StartQuery', {logGroupNames: [group], queryString: histogramQuery(q, '30m'),
          startTime: Math.floor((now - 864e5) / 1000), endTime: Math.ceil(now / 1000)});
        for (;;) {
          const r = await call('GetQueryResults', {queryId});
          if (!['Scheduled', 'Running'].includes(r.status)) break;
          await new Promise(res => setTimeout(res, 5));
        }
        return Math.round(performance.now() - t0);
      }, {q, group});
    for (let i = 0; i < 3; i++) raw.push(await measure());
    console.log(`the same histogram query by fetch from the Insights page, polled every 5 ms: ${raw.join(', ')} ms`);
    // And from a page of the same origin that runs none of the console
    // (a static file): what the browser alone costs.
    await page.goto(url + '/console/static/style.css');
    for (let i = 0; i < 3; i++) blank.push(await measure());
    console.log(`the same from a page running none of the console: ${blank.join(', ')} ms`);
  }
} finally {
  await browser.close();
}
process.exit(0);
