// A group's streams, by name or by last event, with first and last event
// times; select several to read them together.
import {h, clear, fmtBytes, sortableTable} from '../lib/dom.js';
import {call} from '../api.js';
import {fmtTime} from '../lib/time.js';
import {linkTo, navigate, setParams} from '../lib/route.js';

export default async function streams(main, params) {
  const group = params.group;
  const order = h('select', {'aria-label': 'Order'}, h('option', {value: 'LastEventTime', selected: params.order !== 'LogStreamName'}, 'By last event'),
    h('option', {value: 'LogStreamName', selected: params.order === 'LogStreamName'}, 'By name'));
  const prefix = h('input', {type: 'search', placeholder: 'Stream name prefix', value: params.prefix || '', 'data-search': true, 'aria-label': 'Stream prefix'});
  const status = h('p.err', {role: 'alert'});
  const list = h('div');
  const more = h('button', {hidden: true}, 'Load more');
  const chosen = new Set();
  const openSel = h('button.primary', {disabled: true, onclick: () => navigate('events', {group, streams: [...chosen].join(','), since: '1d'})}, 'View selected');
  let token, rows = [];

  async function load(append) {
    status.textContent = '';
    const byName = order.value === 'LogStreamName';
    if (!byName && prefix.value) { order.value = 'LogStreamName'; }
    const body = {logGroupName: group, orderBy: order.value, descending: order.value === 'LastEventTime', limit: 50};
    if (prefix.value) body.logStreamNamePrefix = prefix.value;
    if (append && token) body.nextToken = token;
    try {
      const r = await call('DescribeLogStreams', body);
      token = r.nextToken;
      rows = append ? rows.concat(r.logStreams || []) : (r.logStreams || []);
      more.hidden = !token;
      draw();
    } catch (x) { status.textContent = x.message; }
  }

  function draw() {
    const t = sortableTable([
      {key: 'sel', label: '', fmt: s => {
        const b = h('input', {type: 'checkbox', checked: chosen.has(s.logStreamName), 'aria-label': 'Select ' + s.logStreamName});
        b.addEventListener('change', () => { b.checked ? chosen.add(s.logStreamName) : chosen.delete(s.logStreamName); openSel.disabled = !chosen.size; });
        return b;
      }},
      {key: 'logStreamName', label: 'Stream', fmt: s => linkTo('events', {group, streams: s.logStreamName, since: 'all'}, s.logStreamName)},
      {key: 'firstEventTimestamp', label: 'First event', fmt: s => fmtTime(s.firstEventTimestamp)},
      {key: 'lastEventTimestamp', label: 'Last event', fmt: s => fmtTime(s.lastEventTimestamp)},
      {key: 'lastIngestionTime', label: 'Last ingestion', fmt: s => fmtTime(s.lastIngestionTime)},
      {key: 'storedBytes', label: 'Stored', num: true, fmt: s => fmtBytes(s.storedBytes)},
    ], rows, {onOpen: s => navigate('events', {group, streams: s.logStreamName, since: 'all'})});
    clear(list).append(rows.length ? t : h('p.muted', 'No streams.'));
  }

  order.addEventListener('change', () => { setParams({group, order: order.value, prefix: prefix.value}); load(false); });
  let timer;
  prefix.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => { setParams({group, order: order.value, prefix: prefix.value}); load(false); }, 250); });
  more.addEventListener('click', () => load(true));
  main.append(h('h1', linkTo('groups', {}, 'Log groups'), ' / ', group),
    h('div.toolbar', prefix, order, openSel,
      h('button', {onclick: () => navigate('events', {group, since: '1h'})}, 'All streams'),
      h('button', {onclick: () => navigate('tail', {groups: group})}, 'Live tail'),
      h('button', {onclick: () => navigate('insights', {groups: group})}, 'Query'),
      h('button', {onclick: () => navigate('builds', {group})}, 'Builds')),
    status, list, more);
  await load(false);
  return () => clearTimeout(timer);
}
