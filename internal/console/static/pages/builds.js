// Build logs (the Jenkins model: a job's streams are "<JOB>@master",
// "<JOB>@agentN"; events are JSON {message, annotations, build, node}):
// jobs → builds → a build's log read like a CI console, with its steps
// (node ids) as a tree and each step's own log. The log is read with the
// progressive endpoint (start offset in, X-Text-Size / X-More-Data out), so
// while a build runs only new lines are fetched.
import {h, clear, sortableTable} from '../lib/dom.js';
import {allPages, get} from '../api.js';
import {fmtTime} from '../lib/time.js';
import {linkTo, navigate} from '../lib/route.js';
import {masked} from '../lib/highlight.js';
import {stepTree} from '../lib/steps.js';

const POLL = 1000;

export default async function builds(main, params) {
  const {group, job, build, node} = params;
  if (!group) return pickGroup(main);
  if (!job) return jobs(main, group);
  if (!build) return buildList(main, group, job);
  return buildView(main, group, job, build, node);
}

async function pickGroup(main) {
  const r = await allPages('DescribeLogGroups', {}, 'logGroups', 1000);
  main.append(h('h1', 'Builds'), h('p.muted', 'Choose the log group your CI writes to (Jenkins: Manage Jenkins » AWS » Log group).'),
    r.items.length ? sortableTable([{key: 'logGroupName', label: 'Log group', fmt: g => linkTo('builds', {group: g.logGroupName}, g.logGroupName)}],
      r.items, {onOpen: g => navigate('builds', {group: g.logGroupName})}) : h('p.muted', 'No log groups.'));
}

async function jobs(main, group) {
  const r = await allPages('DescribeLogStreams', {logGroupName: group}, 'logStreams', 20000);
  const byJob = new Map();
  for (const s of r.items) {
    const i = s.logStreamName.lastIndexOf('@');
    if (i <= 0) continue;
    const j = s.logStreamName.slice(0, i);
    const cur = byJob.get(j) || {job: j, streams: 0, last: 0};
    cur.streams++;
    cur.last = Math.max(cur.last, s.lastEventTimestamp || 0);
    byJob.set(j, cur);
  }
  main.append(h('h1', linkTo('builds', {}, 'Builds'), ' / ', group),
    byJob.size ? sortableTable([
      {key: 'job', label: 'Job', fmt: j => linkTo('builds', {group, job: j.job}, j.job)},
      {key: 'streams', label: 'Streams (controller + agents)', num: true},
      {key: 'last', label: 'Last output', fmt: j => fmtTime(j.last)},
    ], [...byJob.values()], {sortKey: 'last', desc: true, onOpen: j => navigate('builds', {group, job: j.job})})
      : h('p.muted', 'No job streams (named JOB@master, JOB@agentN) in this group.'));
}

async function buildList(main, group, job) {
  const q = new URLSearchParams({group, job});
  const r = await (await get('/console/api/builds/list?' + q)).json();
  main.append(h('h1', linkTo('builds', {}, 'Builds'), ' / ', linkTo('builds', {group}, group), ' / ', job),
    r.partial ? h('p.warn', 'Only the most recent part of the job\'s output was read.') : null,
    r.builds.length ? sortableTable([
      {key: 'build', label: 'Build', sortValue: b => Number(b.build) || b.build, fmt: b => linkTo('builds', {group, job, build: b.build}, '#' + b.build)},
      {key: 'result', label: 'Result', fmt: b => h('span.badge', {class: b.result || 'running'}, b.result || 'running')},
      {key: 'firstTimestamp', label: 'Started', fmt: b => fmtTime(b.firstTimestamp)},
      {key: 'lastTimestamp', label: 'Last line', fmt: b => fmtTime(b.lastTimestamp)},
      {key: 'lines', label: 'Lines', num: true}, {key: 'steps', label: 'Steps', num: true},
    ], r.builds, {onOpen: b => navigate('builds', {group, job, build: b.build})}) : h('p.muted', 'No builds.'));
}

// noteURL finds a link in a ConsoleNote: the note is a serialized Java
// object (base64); a HyperlinkNote carries its URL as a string, which shows
// in the bytes. Only http(s) and site-relative URLs are used.
export function noteURL(note) {
  let bytes;
  try { bytes = atob(note); } catch { return null; }
  const m = bytes.match(/(https?:\/\/[\x21-\x7e]+|\/(?:job|computer|user|view)\/[\x21-\x7e]*)/);
  if (!m) return null;
  return m[1].replace(/[\x00-\x1f"'<>\\]+.*$/, '');
}

function lineView(l, offsetShown) {
  const msg = l.message;
  const anns = (l.annotations || []).slice().sort((a, b) => a.position - b.position);
  const parts = [];
  let i = 0;
  for (const a of anns) {
    const p = Math.max(i, Math.min(msg.length, a.position | 0));
    parts.push(masked(msg.slice(i, p)));
    const rest = msg.slice(p);
    const w = rest.match(/^\S+/)?.[0] || '';
    const url = noteURL(a.note || '');
    parts.push(url ? h('a', {href: url, rel: 'noreferrer', target: '_blank', title: 'console note'}, w || '↗')
      : h('span.badge', {title: 'console note'}, w || '•'));
    i = p + w.length;
  }
  parts.push(masked(msg.slice(i)));
  return h('span.line', {'data-offset': l.offset}, offsetShown ? h('span.off', String(l.offset)) : null, parts);
}

async function buildView(main, group, job, build, node) {
  const steps = h('nav.steps', {'aria-label': 'Steps', 'data-testid': 'steps'});
  const con = h('div.console.log', {'data-testid': 'build-log', tabindex: 0});
  const status = h('span.muted', {'data-testid': 'build-status'});
  const err = h('p.err', {role: 'alert'});
  const eventsLink = linkTo('events', {group, filter: `{$.build = "${build}"${node ? ` && $.node = "${node}"` : ''}}`, since: 'all'}, 'Open in events');
  main.append(h('h1', linkTo('builds', {}, 'Builds'), ' / ', linkTo('builds', {group}, group), ' / ', linkTo('builds', {group, job}, job), ' / #' + build,
    node ? ' / step ' + node : ''),
    h('div.toolbar', status, eventsLink, h('a', {href: '/console/api/builds/progressiveText?' + new URLSearchParams({group, job, build, ...(node ? {node} : {})}), target: '_blank'}, 'Plain text')),
    err, h('div.split', steps, con));

  // The steps come from the whole build's lines; kept up to date by the
  // same progressive read when a step is shown (one more request per poll).
  // Each step's first and last line offsets nest it (lib/steps.js).
  const nodes = new Map(); // node → {first, last, count, parent}
  function see(l) {
    if (!l.node) return;
    const n = nodes.get(l.node);
    if (!n) nodes.set(l.node, {first: l.offset, last: l.offset, count: 1, parent: l.parent || ''});
    else { n.last = Math.max(n.last, l.offset); n.count++; if (l.parent) n.parent = l.parent; }
  }
  let stopped = false, timer = 0;
  const offsets = {log: 0, all: 0};

  function drawSteps() {
    const item = s => h('li', {'data-node': s.id},
      h('a', {href: '#/builds?' + new URLSearchParams({group, job, build, node: s.id}), class: s.id === node ? 'active' : null},
        `Step ${s.id}`, h('span.muted', ` (${s.count})`)),
      s.children.length ? h('ul', s.children.map(item)) : null);
    clear(steps).append(h('ul', h('li', h('a', {href: '#/builds?' + new URLSearchParams({group, job, build}), class: node ? null : 'active'}, 'Whole build'),
      h('ul', stepTree(nodes).map(item)))));
  }

  async function read(nodeParam, start) {
    const q = new URLSearchParams({group, job, build, start, format: 'json', ...(nodeParam ? {node: nodeParam} : {})});
    const res = await get('/console/api/builds/progressiveText?' + q);
    const body = await res.json();
    return {lines: body.lines, size: Number(res.headers.get('X-Text-Size')), more: res.headers.get('X-More-Data') === 'true'};
  }

  async function poll() {
    try {
      const r = await read(node, offsets.log);
      if (stopped) return;
      const atBottom = con.scrollTop + con.clientHeight >= con.scrollHeight - 30;
      const frag = document.createDocumentFragment();
      for (const l of r.lines) frag.append(lineView(l, false));
      con.append(frag);
      if (atBottom) con.scrollTop = con.scrollHeight;
      offsets.log = r.size;
      let more = r.more;
      if (node) {
        const a = await read('', offsets.all);
        for (const l of a.lines) see(l);
        offsets.all = a.size;
        more = more || a.more;
      } else {
        for (const l of r.lines) see(l);
      }
      drawSteps();
      con.dataset.size = String(r.size);
      status.textContent = more ? `Running… ${r.size.toLocaleString()} bytes` : `Complete · ${r.size.toLocaleString()} bytes`;
      status.dataset.state = more ? 'running' : 'complete';
      if (more && !stopped) timer = setTimeout(poll, POLL);
    } catch (x) { err.textContent = x.message; }
  }
  await poll();
  return () => { stopped = true; clearTimeout(timer); };
}
