// Drives the console in Debian's chromium with playwright-core (installed by
// scripts/test.sh into CAIRN_PLAYWRIGHT). Run by e2e/console_test.go, which
// starts the real binary, seeds it and answers this script's requests on
// stdin: the script prints "NEED <what>" and waits for a line back, so
// events are put by the Go side while the page watches.
//
// node console.mjs URL ROOT_KEY ROOT_SECRET USER_KEY USER_SECRET SHOTS_DIR START
// (START: the timestamp of web-1's first event; its event i is START + i s)
import {createRequire} from 'node:module';
import {createInterface} from 'node:readline';
import path from 'node:path';

const require = createRequire(process.env.CAIRN_PLAYWRIGHT + '/');
const {chromium} = require('playwright-core');
const [url, rootKey, rootSecret, userKey, userSecret, shots, startArg] = process.argv.slice(2);
const start = Number(startArg);
// The page runs in Kolkata's time zone (UTC+05:30), so local time and UTC
// differ; expected times are formatted here, independently of the page.
const ZONE = 'Asia/Kolkata';
function localTime(ms) {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-GB', {timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23'}).formatToParts(new Date(ms)).map(x => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}.${String(ms % 1000).padStart(3, '0')}`;
}
const utcTime = ms => new Date(ms).toISOString().replace('T', ' ');
// scrollUntil scrolls the events list to one end until a row's text
// matches (each scroll fetches the pages beyond; how many that takes
// depends on the machine, so the loop has a deadline, not a count).
async function scrollUntil(page, toTop, text) {
  for (const deadline = Date.now() + 60000; ;) {
    await page.$eval('[data-testid=events]', (el, up) => { el.scrollTop = up ? 0 : el.scrollHeight; }, toTop);
    const rows = await page.$$eval('[data-testid=events] .ev .msg', r => r.map(x => x.textContent));
    if (rows.some(t => t.startsWith(text))) return;
    if (Date.now() > deadline) throw new Error(`no row "${text}" after scrolling ${toTop ? 'up' : 'down'}: ` + await page.textContent('[data-testid=events-info]'));
    await page.waitForTimeout(100);
  }
}
// checkBins: the Insights table's bin() values and the chart's bar labels
// are the same times, in the zone the UTC/local switch shows (fmt formats
// them here, independently of the page): the 30 error events of web-1
// (event i = 50, 150, ... at START + i s), one a minute bin.
async function checkBins(page, fmt, zone) {
  const want = [...new Set([...Array(30).keys()].map(k => Math.floor((start + (k * 100 + 50) * 1000) / 60000) * 60000))]
    .sort((a, b) => a - b).map(fmt);
  const table = await page.evaluate(() => {
    const t = document.querySelector('[data-testid=results] table');
    const k = [...t.querySelectorAll('thead th')].findIndex(th => th.textContent.startsWith('bin('));
    return [...t.querySelectorAll('tbody tr')].map(tr => tr.children[k].textContent);
  });
  const bars = await page.$$eval('[data-testid=chart] svg.chart rect title', r => r.map(x => x.textContent.replace(/: \d+$/, '')));
  table.sort(); bars.sort();
  check(JSON.stringify(table) === JSON.stringify(want), `${zone}: the table's bin() values ${JSON.stringify(table.slice(0, 2))}…, want ${JSON.stringify(want.slice(0, 2))}…`);
  check(JSON.stringify(bars) === JSON.stringify(want), `${zone}: the chart's bars are the same times ${JSON.stringify(bars.slice(0, 2))}…`);
}
const groupNames = p => p.$$eval('table.grid tbody tr td:first-child', r => r.map(x => x.textContent));
async function waitGroups(p, want) {
  await p.waitForFunction(w => JSON.stringify([...document.querySelectorAll('table.grid tbody tr td:first-child')].map(x => x.textContent)) === w,
    JSON.stringify(want), {timeout: 15000}).catch(async () => { throw new Error(`groups ${JSON.stringify(await groupNames(p))}, want ${JSON.stringify(want)}`); });
}

const stdin = createInterface({input: process.stdin});
const answers = [];
let waiting = null;
stdin.on('line', l => { if (waiting) { const w = waiting; waiting = null; w(l); } else answers.push(l); });
function need(what) {
  console.log('NEED ' + what);
  return new Promise(res => { if (answers.length) res(answers.shift()); else waiting = res; });
}
function check(cond, msg) { if (!cond) throw new Error('check failed: ' + msg); console.log('ok ' + msg); }
const shot = (page, name) => page.screenshot({path: path.join(shots, name + '.png')});

const browser = await chromium.launch({executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox']});
try {
  const ctx = await browser.newContext({viewport: {width: 1280, height: 800}, colorScheme: 'light', timezoneId: ZONE});
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], {origin: url});
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));

  async function signIn(p, key, secret) {
    await p.fill('input[name=accessKeyId]', key);
    await p.fill('input[name=secretAccessKey]', secret);
    await p.click('form.signin button[type=submit]');
  }

  // Sign-in refused with a wrong secret.
  await page.goto(url + '/');
  await page.waitForSelector('form.signin');
  await shot(page, 'signin');
  await signIn(page, rootKey, rootSecret + 'wrong');
  await page.waitForFunction(() => document.querySelector('[data-testid=signin-error]').textContent.length > 0);
  check((await page.textContent('[data-testid=signin-error]')).includes('not valid'), 'wrong secret refused');
  check(await page.isVisible('form.signin'), 'still on the sign-in form');

  // Root signs in: the groups page.
  await signIn(page, rootKey, rootSecret);
  await page.waitForSelector('table.grid >> text=app-a');
  check(await page.isVisible('text=app-b'), 'root sees app-b');
  await shot(page, 'groups');

  // Create and delete a group through the dialogs.
  await page.click('text=Create log group');
  await page.fill('dialog input[name=name]', 'console-created');
  await page.selectOption('dialog select[name=retention]', '14');
  await page.click('dialog button[type=submit]');
  await page.waitForSelector('table.grid >> text=console-created');
  check(true, 'group created in the dialog');
  await page.click('[data-testid="delete-console-created"]');
  const confirmBtn = page.locator('dialog button.danger');
  check(await confirmBtn.isDisabled(), 'delete waits for the typed name');
  await page.fill('dialog input', 'console-created');
  await confirmBtn.click();
  await page.waitForSelector('table.grid >> text=console-created', {state: 'detached'});
  check(true, 'group deleted after confirmation');
  // Deletion protection is respected: the server's refusal is shown.
  await page.click('[data-testid="delete-protected"]');
  await page.fill('dialog input', 'protected');
  await page.click('dialog button.danger');
  await page.waitForSelector('p.err:not(:empty)');
  check(/protect/i.test(await page.textContent('p.err')), 'protected group refused: ' + await page.textContent('p.err'));
  // Retention of app-a to 7 days (the Go side checks it with the SDK).
  await page.selectOption('select[aria-label="Retention of app-a"]', '7');
  // Tags of app-a (the Go side reads them back).
  await page.click('table.grid tr:has-text("app-a") >> text=Tags');
  await page.fill('dialog textarea[name=tags]', 'team=a\ncost-center=42');
  await page.click('dialog button[type=submit]');
  await page.waitForSelector('dialog', {state: 'detached'});
  // The tags read back in the page.
  await page.click('table.grid tr:has-text("app-a") >> text=Tags');
  const tagText = await page.inputValue('dialog textarea[name=tags]');
  check(tagText.split('\n').sort().join(',') === 'cost-center=42,team=a', 'tags read back: ' + JSON.stringify(tagText));
  await page.click('dialog >> text=Cancel');
  await page.waitForSelector('dialog', {state: 'detached'});

  // Search by prefix and by pattern, and sort.
  await waitGroups(page, ['app-a', 'app-b', 'jenkins', 'protected']);
  await page.fill('input[aria-label="Search log groups"]', 'app');
  await waitGroups(page, ['app-a', 'app-b']);
  check(true, 'search by prefix "app"');
  await page.fill('input[aria-label="Search log groups"]', '*ote*');
  await waitGroups(page, ['protected']);
  check(true, 'search by pattern "*ote*"');
  await page.fill('input[aria-label="Search log groups"]', '');
  await waitGroups(page, ['app-a', 'app-b', 'jenkins', 'protected']);
  await page.click('table.grid th[data-key=logGroupName]');
  await waitGroups(page, ['protected', 'jenkins', 'app-b', 'app-a']);
  check(await page.getAttribute('table.grid th[data-key=logGroupName]', 'aria-sort') === 'descending', 'sorted by name, descending');
  // By retention, descending (a second click): the groups that never
  // expire (in the server's order), then app-a's 7 days.
  await page.click('table.grid th[data-key=retentionInDays]');
  await page.click('table.grid th[data-key=retentionInDays]');
  await waitGroups(page, ['app-b', 'jenkins', 'protected', 'app-a']);
  check(true, 'sorted by retention, descending');

  // Streams.
  await page.goto(url + '/console/#/streams?group=app-a');
  await page.waitForSelector('table.grid >> text=web-1');
  await shot(page, 'streams');

  // Events: a single stream, scrolled through several pages.
  await page.goto(url + '/console/#/events?group=app-a&streams=web-1&since=all');
  await page.waitForSelector('[data-testid=events] .ev');
  // Scroll to the bottom until the list says it reached the end (each
  // scroll fetches the pages below; how many scrolls that takes depends on
  // the machine's speed, so the loop has a deadline, not a count).
  for (const deadline = Date.now() + 60000; ;) {
    await page.$eval('[data-testid=events]', el => { el.scrollTop = el.scrollHeight; });
    if (/end/.test(await page.textContent('[data-testid=events-info]'))) break;
    if (Date.now() > deadline) throw new Error('the events list did not reach its end: ' + await page.textContent('[data-testid=events-info]'));
    await page.waitForTimeout(100);
  }
  const info = await page.textContent('[data-testid=events-info]');
  check(/3,000 events loaded/.test(info), 'scrolled to the end of 3,000 events: ' + info);
  const domRows = await page.$$eval('[data-testid=events] .ev', r => r.length);
  check(domRows < 400, `only ${domRows} rows in the DOM`);
  // And back to the top.
  await page.$eval('[data-testid=events]', el => { el.scrollTop = 0; });
  await page.waitForSelector('[data-testid=events] .ev >> text=request 0 ');
  check(true, 'scrolled back to the first event');

  // Times in local time (the page's zone) and in UTC.
  const firstTs = () => page.textContent('[data-testid=events] .ev .ts');
  check(await firstTs() === localTime(start), `local time ${localTime(start)}`);
  await page.click('[data-testid=tz]');
  await page.waitForFunction(t => document.querySelector('[data-testid=events] .ev .ts')?.textContent === t, utcTime(start));
  check(await page.textContent('[data-testid=tz]') === 'UTC', `UTC ${utcTime(start)}`);
  await page.click('[data-testid=tz]');
  await page.waitForFunction(t => document.querySelector('[data-testid=events] .ev .ts')?.textContent === t, localTime(start));

  // Wrap off: the long line is one row high; on: it wraps, and the link says so.
  const longRow = () => page.evaluate(() => [...document.querySelectorAll('[data-testid=events] .ev')]
    .find(r => r.querySelector('.msg')?.textContent.startsWith('request 5 ok'))?.getBoundingClientRect().height);
  const waitHeight = f => page.waitForFunction(new Function('return (' + f + ')([...document.querySelectorAll("[data-testid=events] .ev")]' +
    '.find(r => r.querySelector(".msg")?.textContent.startsWith("request 5 ok"))?.getBoundingClientRect().height)'));
  check(await longRow() === 20, 'wrap off: one line');
  await page.check('input[aria-label="Wrap lines"]');
  await waitHeight('h => h > 40');
  check(/[?&]wrap=1/.test(page.url()), `wrap on: the line wraps (${await longRow()} px), in the link`);
  await page.uncheck('input[aria-label="Wrap lines"]');
  await waitHeight('h => h === 20');

  // Keyboard in the list: j j selects the second event, Enter expands it,
  // Copy puts its message on the clipboard.
  await page.focus('[data-testid=events]');
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  await page.waitForSelector('[data-testid=events] .ev.selected >> text=request 1 ok');
  await page.keyboard.press('Enter');
  await page.waitForSelector('[data-testid=event-detail]');
  check(true, 'j j Enter: the second event expanded');
  await page.click('[data-testid=event-detail] >> text=Copy');
  await page.waitForSelector('[data-testid=event-detail] >> text=Copied');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  check(copied === 'request 1 ok path=/items/1', 'copied: ' + JSON.stringify(copied));
  await page.keyboard.press('Escape');
  await page.click('h1');
  await page.keyboard.press('/');
  check(await page.evaluate(() => document.activeElement?.dataset.testid) === 'filter', '/ focuses the filter');

  // With wrap on, rows are placed by their rendered heights (21 px each,
  // the long line several lines), not by the fixed row height: j from the
  // top down to the 120th event keeps the selected row wholly in view.
  await page.goto(`${url}/console/#/events?group=app-a&streams=web-1&since=all&wrap=1`);
  await page.waitForSelector('[data-testid=events] .ev >> text=request 0 ');
  await page.focus('[data-testid=events]');
  for (let i = 0; i < 120; i++) await page.keyboard.press('j');
  await page.waitForSelector('[data-testid=events] .ev.selected >> text=request 119 ok');
  // The list re-places rows once their heights are measured (a frame
  // later on a loaded machine): wait up to 5 s for the selected row to be
  // wholly in view, then check where it is.
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-testid=events]').getBoundingClientRect();
    const r = document.querySelector('[data-testid=events] .ev.selected').getBoundingClientRect();
    return r.top >= s.top - 0.5 && r.bottom <= s.bottom + 0.5;
  }, null, {timeout: 5000}).catch(() => {});
  const inView = await page.evaluate(() => {
    const s = document.querySelector('[data-testid=events]').getBoundingClientRect();
    const r = document.querySelector('[data-testid=events] .ev.selected').getBoundingClientRect();
    return {above: Math.round(r.top - s.top), below: Math.round(s.bottom - r.bottom), height: r.height};
  });
  check(inView.above >= 0 && inView.below >= 0, `wrap on: j down to request 119 keeps it in view (${JSON.stringify(inView)})`);

  // A deep link into the middle of a filtered view scrolls both ways:
  // "ok" matches the 2,970 plain lines; the link is to request 1500.
  await page.goto(`${url}/console/#/events?group=app-a&streams=web-1&filter=ok&since=all&event=${encodeURIComponent('web-1|' + (start + 1500000))}`);
  await page.waitForSelector('[data-testid=event-detail]');
  check((await page.textContent('[data-testid=events] .ev.selected .msg')).startsWith('request 1500 ok'), 'filtered deep link opens request 1500');
  await scrollUntil(page, true, 'request 0 ok');
  check(true, 'scrolled back from the deep link to the first match');
  await scrollUntil(page, false, 'request 2999 ok');
  const all = await page.textContent('[data-testid=events-info]');
  check(/^2,970 events loaded \(end\)/.test(all), 'and forward to the last: ' + all);
  // The same in the unfiltered view of the stream (GetLogEvents' backward
  // tokens): request 1500 of 3,000, then both ends.
  await page.goto(`${url}/console/#/events?group=app-a&streams=web-1&since=all&event=${encodeURIComponent('web-1|' + (start + 1500000))}`);
  await page.waitForSelector('[data-testid=event-detail]');
  check((await page.textContent('[data-testid=events] .ev.selected .msg')).startsWith('request 1500 ok'), 'stream deep link opens request 1500');
  await scrollUntil(page, true, 'request 0 ok');
  await scrollUntil(page, false, 'request 2999 ok');
  check(/^3,000 events loaded \(end\)/.test(await page.textContent('[data-testid=events-info]')), 'and scrolls to both ends of 3,000');

  // A filter with an error, then a good one with highlights.
  await page.fill('[data-testid=filter]', '{ $.level = ');
  await page.press('[data-testid=filter]', 'Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=events-error]').textContent.length > 0);
  check(true, 'filter error shown: ' + await page.textContent('[data-testid=events-error]'));
  await page.fill('[data-testid=filter]', '{ $.level = "error" }');
  await page.press('[data-testid=filter]', 'Enter');
  await page.waitForSelector('[data-testid=events] .ev mark');
  const hits = await page.$$eval('[data-testid=events] .ev .msg', r => r.map(x => x.textContent));
  check(hits.length === 30 && hits.every(m => m.includes('"level":"error"')), `30 JSON error events, highlighted (${hits.length})`);
  // Expand one: a JSON tree, context.
  await page.click('[data-testid=events] .ev >> nth=2');
  await page.waitForSelector('[data-testid=event-detail] .tree');
  await page.click('[data-testid=context]');
  await page.waitForSelector('[data-testid=event-detail] .ctx');
  const ctxLines = await page.$$eval('[data-testid=event-detail] .ctx .msg', r => r.map(x => x.textContent));
  const wantCtx = [...Array(10).keys()].map(i => `request ${240 + i} ok path=/items/${240 + i}`)
    .concat([...Array(10).keys()].map(i => `request ${251 + i} ok path=/items/${251 + i}`));
  check(JSON.stringify(ctxLines) === JSON.stringify(wantCtx), 'JSON tree and the 10 lines before and after request 250');
  const deepLink = page.url();
  const expected = (await page.textContent('[data-testid=event-detail] .tree')).slice(0, 40);
  await page.click('[data-testid=theme]');
  await shot(page, 'events');
  await page.click('[data-testid=theme]');

  // The deep link in a fresh browser context: sign in, land on the event.
  const ctx2 = await browser.newContext({viewport: {width: 1280, height: 800}});
  const p2 = await ctx2.newPage();
  await p2.goto(deepLink);
  await p2.waitForSelector('form.signin');
  await signIn(p2, rootKey, rootSecret);
  await p2.waitForSelector('[data-testid=event-detail] .tree');
  check((await p2.textContent('[data-testid=event-detail] .tree')).startsWith(expected), 'deep link opens the same event: ' + deepLink);
  check(await p2.inputValue('[data-testid=filter]') === '{ $.level = "error" }', 'deep link keeps the filter');
  await ctx2.close();

  // Live tail: an event put by the Go side while the page watches.
  await page.goto(url + '/console/#/tail?groups=app-a&autostart=1');
  await page.waitForFunction(() => document.querySelector('[data-testid=tail-events]').dataset.session);
  const marker = await need('tail-event');
  await page.waitForSelector(`[data-testid=tail-events] >> text=${marker}`, {timeout: 15000});
  check(true, 'live tail shows ' + marker);
  await page.click('[data-testid=tail-pause]');
  check(await page.textContent('[data-testid=tail-pause]') === 'Resume', 'paused');
  await page.waitForFunction(() => /events\/s/.test(document.querySelector('[data-testid=tail-rate]').textContent));
  await page.click('[data-testid=tail-pause]');
  // A burst larger than the server buffers: the server samples, the page
  // says so and counts what came.
  await need('tail-burst');
  await page.waitForFunction(() => document.querySelector('[data-testid=tail-sampled]').textContent.length > 0, null, {timeout: 30000});
  await page.waitForFunction(() => {
    const m = /([\d.]+) events\/s · ([\d,]+) received/.exec(document.querySelector('[data-testid=tail-rate]').textContent);
    return m && Number(m[1]) > 0 && Number(m[2].replace(/,/g, '')) >= 5000;
  }, null, {timeout: 30000});
  check(true, 'sampling notice and rate: ' + await page.textContent('[data-testid=tail-sampled]') + ' / ' + await page.textContent('[data-testid=tail-rate]'));
  await shot(page, 'tail');

  // Metric filters and subscriptions.
  await page.goto(url + '/console/#/filters?group=app-a');
  await page.waitForSelector('text=errors-count');
  await page.waitForSelector('text=to-kinesis');
  check(await page.isVisible('text=waiting for a sink'), 'subscription delivery state shown');
  await page.click('text=Create metric filter');
  await page.fill('dialog input[name=filterName]', 'slow-requests');
  await page.fill('dialog input[name=filterPattern]', '"GET"');
  await page.fill('dialog input[name=metricName]', 'Slow');
  await page.click('dialog button[type=submit]');
  await page.waitForSelector('table.grid >> text=slow-requests');
  check(true, 'metric filter created in the dialog');
  await shot(page, 'filters');

  // A running build's log grows.
  await page.goto(url + '/console/#/builds?group=jenkins&job=folder/job');
  await page.waitForSelector('table.grid >> text=#7');
  await shot(page, 'builds');
  await page.goto(url + '/console/#/builds?group=jenkins&job=folder/job&build=7');
  await page.waitForSelector('[data-testid=build-log] >> text=Started by user admin');
  check((await page.textContent('[data-testid=build-status]')).startsWith('Running'), 'build is running');
  check(await page.isVisible('[data-testid=build-log] a[href="https://ci.example.com/job/folder/job/7/artifact/report.html"]'), 'annotation is a link');
  check(await page.isVisible('[data-testid=build-log] .masked'), 'masked secret shown as ****');
  check(await page.isVisible('[data-testid=steps] >> text=Step 3'), 'steps tree');
  check(await page.$('[data-testid=steps] li[data-node="3"] li[data-node="7"]') === null, 'step 7 beside step 3 while 3 has printed only before it');
  await need('build-more');
  await page.waitForSelector('[data-testid=build-log] >> text=Finished: SUCCESS', {timeout: 20000});
  await page.waitForFunction(() => document.querySelector('[data-testid=build-status]').dataset.state === 'complete');
  await page.waitForSelector('[data-testid=steps] li[data-node="3"] li[data-node="7"] li[data-node="9"]');
  check(true, 'steps nested: 7 inside 3 (its lines lie between 3\'s), 9 inside 7 (its writer names the parent)');
  const lines = await page.$$eval('[data-testid=build-log] .line', l => l.map(x => x.textContent));
  check(lines.filter(l => l === '+ make test').length === 1, 'nothing shown twice: ' + JSON.stringify(lines));
  await shot(page, 'build');
  await page.click('[data-testid=steps] >> text=Step 7');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=build-log] .line').length === 2);
  check(true, 'a step\'s own log');

  // Insights (when the server has StartQuery).
  await page.goto(url + '/console/#/insights?groups=app-a&since=1d');
  await page.fill('[data-testid=query]', 'filter level = "error" | stats count(*) as n by bin(1m)');
  await page.click('[data-testid=run]');
  await page.waitForFunction(() => document.querySelector('[data-testid=query-error]').textContent || document.querySelector('[data-testid=query-status]').dataset.status, null, {timeout: 30000});
  const qerr = await page.textContent('[data-testid=query-error]');
  if (qerr) console.log('INSIGHTS unavailable: ' + qerr);
  else {
    await page.waitForSelector('[data-testid=chart] svg.chart rect');
    check(true, 'Insights chart drawn');
    await checkBins(page, localTime, 'local');
    // The histogram counts the 30 error events.
    await page.waitForSelector('[data-testid=histogram] svg.chart rect');
    const hs = await page.textContent('[data-testid=histogram-status]');
    check(/· 30 events,/.test(hs), 'histogram of the 30 matching events: ' + hs);
    // Saved and recent queries.
    await page.click('text=Save');
    await page.fill('dialog input[name=name]', 'errors-by-minute');
    await page.click('dialog button[type=submit]');
    await page.waitForSelector('[data-testid=saved-query] >> text=errors-by-minute');
    check(true, 'query saved');
    const recentText = await page.textContent('[data-testid=recent-query]');
    check(recentText === 'filter level = "error" | stats count(*) as n by bin(1m)', 'recent query listed: ' + recentText);
    await page.fill('[data-testid=query]', 'fields @message');
    await page.click('[data-testid=recent-query]');
    check(await page.inputValue('[data-testid=query]') === recentText, 'a recent query opens in the editor');
    await page.fill('[data-testid=query]', 'fields @message');
    await page.click('[data-testid=saved-query]');
    check(await page.inputValue('[data-testid=query]') === recentText, 'a saved query opens in the editor');
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'insights');
  if (!qerr) {
    // The same in UTC (the switch re-renders the page: run it again), then
    // back to local time.
    await page.click('[data-testid=tz]');
    await page.waitForFunction(() => document.querySelector('[data-testid=tz]')?.textContent === 'UTC');
    // The page is ready to run once its groups are listed (Run is wired in
    // the same step).
    await page.waitForSelector('input[aria-label="app-a"]:checked');
    await page.fill('[data-testid=query]', 'filter level = "error" | stats count(*) as n by bin(1m)');
    await page.click('[data-testid=run]');
    await page.waitForFunction(() => document.querySelector('[data-testid=query-status]').dataset.status === 'Complete', null, {timeout: 30000});
    await checkBins(page, utcTime, 'UTC');
    await page.click('[data-testid=tz]');
    await page.waitForFunction(() => document.querySelector('[data-testid=tz]')?.textContent === 'Local time');
  }

  // Keyboard: ? opens the help, g t goes to live tail.
  await page.goto(url + '/console/#/groups');
  await page.waitForSelector('table.grid');
  await page.click('h1');
  await page.keyboard.press('?');
  await page.waitForSelector('dialog >> text=Keyboard');
  await page.keyboard.press('Escape');
  // Keys typed while the dialog is still closing go to it (the console
  // ignores them there): wait until it is gone.
  await page.waitForSelector('dialog', {state: 'detached'});
  await page.keyboard.press('g');
  await page.keyboard.press('t');
  await page.waitForSelector('h1 >> text=Live tail');
  check(true, 'keyboard navigation');

  // Themes: the button and Shift+T switch the colours, and the choice stays.
  const look = () => page.evaluate(() => [document.documentElement.dataset.theme, getComputedStyle(document.body).backgroundColor]);
  const [t0, bg0] = await look();
  await page.click('[data-testid=theme]');
  const [t1, bg1] = await look();
  check(t0 !== t1 && bg0 !== bg1, `theme ${t0} (${bg0}) → ${t1} (${bg1})`);
  await page.click('h1');
  await page.keyboard.press('Shift+T');
  check((await look())[0] === t0, 'Shift+T switches back');
  await page.reload();
  await page.waitForSelector('h1 >> text=Live tail');
  check((await look())[0] === t0, 'the theme stays after a reload');

  // The step tree's derivation, on hand-written cases.
  const trees = await page.evaluate(async () => {
    const {stepTree} = await import('/console/static/lib/steps.js');
    const t = nodes => JSON.stringify(stepTree(new Map(Object.entries(nodes))), ['id', 'children']);
    return [
      t({3: {first: 0, last: 90, count: 2}, 7: {first: 10, last: 20, count: 2}, 8: {first: 30, last: 40, count: 1}}),
      t({4: {first: 0, last: 50, count: 2}, 5: {first: 40, last: 60, count: 2}}),            // partial overlap: parallel, siblings
      t({1: {first: 0, last: 100, count: 2}, 2: {first: 10, last: 80, count: 2}, 3: {first: 20, last: 30, count: 1}}),
      t({6: {first: 50, last: 60, count: 1, parent: '12'}, 12: {first: 0, last: 5, count: 1}}),   // named parent wins over the spans
      t({a: {first: 10, last: 10, count: 1, parent: 'b'}, b: {first: 20, last: 20, count: 1, parent: 'a'}}), // a cycle is broken
      t({6: {first: 5, last: 6, count: 1, parent: '5'}}),                                      // a named parent that printed nothing
    ];
  });
  const wantTrees = [
    '[{"id":"3","children":[{"id":"7","children":[]},{"id":"8","children":[]}]}]',
    '[{"id":"4","children":[]},{"id":"5","children":[]}]',
    '[{"id":"1","children":[{"id":"2","children":[{"id":"3","children":[]}]}]}]',
    '[{"id":"12","children":[{"id":"6","children":[]}]}]',
    '[{"id":"a","children":[{"id":"b","children":[]}]}]',
    '[{"id":"5","children":[{"id":"6","children":[]}]}]',
  ];
  for (let i = 0; i < wantTrees.length; i++) check(trees[i] === wantTrees[i], `step tree case ${i + 1}: ${trees[i]}`);

  // Sign out ends the session.
  await page.click('[data-testid=signout]');
  await page.waitForSelector('form.signin');
  await page.goto(url + '/console/#/groups');
  await page.waitForSelector('form.signin');
  check(true, 'signed out');

  // A user restricted to one group sees only it.
  const ctx3 = await browser.newContext({viewport: {width: 1280, height: 800}, colorScheme: 'dark'});
  const p3 = await ctx3.newPage();
  await p3.goto(url + '/console/');
  await signIn(p3, userKey, userSecret);
  await p3.waitForSelector('table.grid >> text=app-a');
  check(!(await p3.isVisible('text=app-b')), 'restricted user does not see app-b');
  check(/hidden/.test(await p3.textContent('[data-testid=hidden-groups]')), 'and is told groups are hidden');
  await shot(p3, 'restricted');
  await p3.goto(url + '/console/#/events?group=app-b&since=all');
  await p3.waitForFunction(() => document.querySelector('[data-testid=events-error]')?.textContent.length > 0);
  check((await p3.textContent('[data-testid=events-error]')).includes('not authorized'), 'app-b refused by IAM');
  await ctx3.close();

  check(errors.length === 0, 'no page errors ' + JSON.stringify(errors));
  console.log('DONE');
} finally {
  await browser.close();
  stdin.close();
}
process.exit(0);
