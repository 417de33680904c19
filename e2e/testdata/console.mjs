// Drives the console in Debian's chromium with playwright-core (installed by
// scripts/test.sh into CAIRN_PLAYWRIGHT). Run by e2e/console_test.go, which
// starts the real binary, seeds it and answers this script's requests on
// stdin: the script prints "NEED <what>" and waits for a line back, so
// events are put by the Go side while the page watches.
//
// node console.mjs URL ROOT_KEY ROOT_SECRET USER_KEY USER_SECRET SHOTS_DIR
import {createRequire} from 'node:module';
import {createInterface} from 'node:readline';
import path from 'node:path';

const require = createRequire(process.env.CAIRN_PLAYWRIGHT + '/');
const {chromium} = require('playwright-core');
const [url, rootKey, rootSecret, userKey, userSecret, shots] = process.argv.slice(2);

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
  const ctx = await browser.newContext({viewport: {width: 1280, height: 800}, colorScheme: 'light'});
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
  check(true, 'JSON tree and context lines');
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
  await shot(page, 'tail');
  await page.click('[data-testid=tail-pause]');

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
  await need('build-more');
  await page.waitForSelector('[data-testid=build-log] >> text=Finished: SUCCESS', {timeout: 20000});
  await page.waitForFunction(() => document.querySelector('[data-testid=build-status]').dataset.state === 'complete');
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
  }
  await shot(page, 'insights');

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
