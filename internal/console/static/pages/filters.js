// Metric filters and subscription filters: list, create, delete; each
// subscription's delivery lag, throughput and failures from
// GET /cairn/subscriptions (shown only for filters this identity can
// describe).
import {h, clear, fmtBytes, confirmDialog, formDialog, sortableTable} from '../lib/dom.js';
import {call, allPages, get} from '../api.js';
import {fmtTime} from '../lib/time.js';
import {setParams} from '../lib/route.js';

export default async function filters(main, params) {
  const groupSel = h('select', {'aria-label': 'Log group', 'data-search': true});
  const err = h('p.err', {role: 'alert'});
  const mf = h('div'), sf = h('div');
  main.append(h('h1', 'Metric filters & subscriptions'), h('div.toolbar', h('label.row', 'Log group', groupSel)), err,
    h('h2', 'Metric filters'), h('div.toolbar', h('button.primary', {onclick: createMetric}, 'Create metric filter')), mf,
    h('h2', 'Subscription filters'), h('div.toolbar', h('button.primary', {onclick: createSub}, 'Create subscription filter')), sf);
  const groups = await allPages('DescribeLogGroups', {}, 'logGroups', 1000).catch(x => { err.textContent = x.message; return {items: []}; });
  for (const g of groups.items) groupSel.append(h('option', {value: g.logGroupName, selected: g.logGroupName === params.group}, g.logGroupName));
  groupSel.addEventListener('change', () => { setParams({group: groupSel.value}); load(); });

  async function load() {
    err.textContent = '';
    const group = groupSel.value;
    if (!group) { clear(mf).append(h('p.muted', 'No log groups.')); return; }
    try {
      const m = await allPages('DescribeMetricFilters', {logGroupName: group}, 'metricFilters');
      clear(mf).append(m.items.length ? sortableTable([
        {key: 'filterName', label: 'Name'},
        {key: 'filterPattern', label: 'Pattern', fmt: f => h('code', f.filterPattern)},
        {key: 'metric', label: 'Metric', fmt: f => (f.metricTransformations || []).map(t => `${t.metricNamespace}/${t.metricName} = ${t.metricValue}`).join(', ')},
        {key: 'creationTime', label: 'Created', fmt: f => fmtTime(f.creationTime)},
        {key: 'x', label: '', fmt: f => h('button.danger', {onclick: () => delMetric(f)}, 'Delete')},
      ], m.items, {sortKey: 'filterName'}) : h('p.muted', 'No metric filters.'));
    } catch (x) { err.textContent = x.message; }
    try {
      const s = await allPages('DescribeSubscriptionFilters', {logGroupName: group}, 'subscriptionFilters');
      let stats = [];
      try { stats = (await (await get('/cairn/subscriptions')).json()).filters || []; } catch { /* stats are optional */ }
      const statOf = f => stats.find(x => x.logGroupName === f.logGroupName && x.filterName === f.filterName) || {};
      clear(sf).append(s.items.length ? sortableTable([
        {key: 'filterName', label: 'Name'},
        {key: 'filterPattern', label: 'Pattern', fmt: f => h('code', f.filterPattern)},
        {key: 'destinationArn', label: 'Destination'},
        {key: 'lag', label: 'Lag (s)', num: true, fmt: f => { const v = statOf(f).lagSeconds; return v == null ? '' : v.toFixed(1); }},
        {key: 'delivered', label: 'Delivered events / bytes', num: true, fmt: f => { const st = statOf(f); return st.deliveredEvents == null ? '' : `${st.deliveredEvents} / ${fmtBytes(st.deliveredBytes)}`; }},
        {key: 'failures', label: 'Failed / retries', num: true, fmt: f => { const st = statOf(f); return st.failedEvents == null ? '' : `${st.failedEvents} / ${st.retries}`; }},
        {key: 'lastError', label: 'Last error', fmt: f => { const st = statOf(f); return st.waitingForSink ? 'waiting for a sink' : (st.lastError || ''); }},
        {key: 'x', label: '', fmt: f => h('button.danger', {onclick: () => delSub(f)}, 'Delete')},
      ], s.items, {sortKey: 'filterName'}) : h('p.muted', 'No subscription filters.'));
    } catch (x) { err.textContent = x.message; }
  }

  async function createMetric() {
    const r = await formDialog('Create metric filter on ' + groupSel.value, [
      {name: 'filterName', label: 'Name', required: true}, {name: 'filterPattern', label: 'Filter pattern', placeholder: 'ERROR'},
      {name: 'metricNamespace', label: 'Metric namespace', value: 'Cairn'}, {name: 'metricName', label: 'Metric name', required: true},
      {name: 'metricValue', label: 'Metric value', value: '1'}]);
    if (!r) return;
    try {
      await call('PutMetricFilter', {logGroupName: groupSel.value, filterName: r.filterName, filterPattern: r.filterPattern,
        metricTransformations: [{metricNamespace: r.metricNamespace, metricName: r.metricName, metricValue: r.metricValue}]});
      load();
    } catch (x) { err.textContent = x.message; }
  }
  async function delMetric(f) {
    if (!await confirmDialog(`Delete metric filter ${f.filterName}?`, 'Delete')) return;
    try { await call('DeleteMetricFilter', {logGroupName: groupSel.value, filterName: f.filterName}); load(); } catch (x) { err.textContent = x.message; }
  }
  async function createSub() {
    const r = await formDialog('Create subscription filter on ' + groupSel.value, [
      {name: 'filterName', label: 'Name', required: true}, {name: 'filterPattern', label: 'Filter pattern', placeholder: '(empty: every event)'},
      {name: 'destinationArn', label: 'Destination ARN', required: true, placeholder: 'arn:aws:kinesis:us-east-1:000000000000:stream/x'},
      {name: 'roleArn', label: 'Role ARN (optional)'}]);
    if (!r) return;
    try {
      await call('PutSubscriptionFilter', {logGroupName: groupSel.value, filterName: r.filterName, filterPattern: r.filterPattern,
        destinationArn: r.destinationArn, ...(r.roleArn ? {roleArn: r.roleArn} : {})});
      load();
    } catch (x) { err.textContent = x.message; }
  }
  async function delSub(f) {
    if (!await confirmDialog(`Delete subscription filter ${f.filterName}?`, 'Delete')) return;
    try { await call('DeleteSubscriptionFilter', {logGroupName: groupSel.value, filterName: f.filterName}); load(); } catch (x) { err.textContent = x.message; }
  }
  await load();
}
