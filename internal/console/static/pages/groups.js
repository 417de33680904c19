// Log groups: search by prefix or pattern, sort, stored bytes, retention,
// class, deletion protection; create, delete (confirmed by typing the
// name; the server refuses a protected group), retention, tags.
import {h, clear, fmtBytes, confirmDialog, formDialog, sortableTable} from '../lib/dom.js';
import {call, readable} from '../api.js';
import {fmtTime} from '../lib/time.js';
import {linkTo, navigate, setParams} from '../lib/route.js';

export const RETENTION = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

export default async function groups(main, params) {
  const search = h('input', {type: 'search', placeholder: 'Prefix, or *pattern* for a substring', value: params.q || '',
    'data-search': true, 'aria-label': 'Search log groups', size: 40});
  const status = h('p.err', {role: 'alert'});
  const list = h('div');
  const more = h('button', {hidden: true}, 'Load more');
  let token, rows = [], table, hiddenCount = 0;
  const showAll = h('input', {type: 'checkbox', 'aria-label': 'Show groups I cannot read'});
  const hidden = h('span.muted', {'data-testid': 'hidden-groups'});
  showAll.addEventListener('change', () => load(false));

  async function load(append) {
    status.textContent = '';
    const q = search.value.trim();
    const body = {limit: 50};
    if (q.startsWith('*') || q.endsWith('*')) { const p = q.replace(/^\*|\*$/g, ''); if (p) body.logGroupNamePattern = p; }
    else if (q) body.logGroupNamePrefix = q;
    if (append && token) body.nextToken = token;
    try {
      const r = await call('DescribeLogGroups', body);
      token = r.nextToken;
      // Groups this identity cannot read are left out unless asked for.
      let page = r.logGroups || [];
      const can = await readable(page.map(g => g.logGroupName)).catch(() => ({}));
      hiddenCount = (append ? hiddenCount : 0) + page.filter(g => !can[g.logGroupName]).length;
      if (!showAll.checked) page = page.filter(g => can[g.logGroupName]);
      rows = append ? rows.concat(page) : page;
      hidden.textContent = hiddenCount && !showAll.checked ? `${hiddenCount} group(s) you cannot read are hidden.` : '';
      more.hidden = !token;
      draw();
    } catch (x) {
      status.textContent = x.message;
      if (x.type === 'AccessDeniedException') clear(list).append(openByName());
    }
  }

  // Without logs:DescribeLogGroups a user can still open a group by name.
  function openByName() {
    const name = h('input', {placeholder: 'Log group name', 'aria-label': 'Log group name'});
    const f = h('form.toolbar', h('span', 'Open a log group you may read:'), name, h('button', {type: 'submit'}, 'Open'));
    f.addEventListener('submit', e => { e.preventDefault(); if (name.value) navigate('streams', {group: name.value}); });
    return f;
  }

  function draw() {
    const cols = [
      {key: 'logGroupName', label: 'Name', fmt: g => linkTo('streams', {group: g.logGroupName}, g.logGroupName)},
      {key: 'creationTime', label: 'Created', fmt: g => fmtTime(g.creationTime)},
      {key: 'storedBytes', label: 'Stored', num: true, fmt: g => fmtBytes(g.storedBytes)},
      {key: 'retentionInDays', label: 'Retention', sortValue: g => g.retentionInDays || 1e9,
        fmt: g => retentionSelect(g)},
      {key: 'logGroupClass', label: 'Class'},
      {key: 'deletionProtectionEnabled', label: 'Protected', fmt: g => protectToggle(g)},
      {key: 'actions', label: '', fmt: g => h('span.row',
        h('button', {onclick: () => navigate('events', {group: g.logGroupName, since: '1h'})}, 'Events'),
        h('button', {onclick: () => tags(g)}, 'Tags'),
        h('button.danger', {onclick: () => del(g), 'data-testid': 'delete-' + g.logGroupName}, 'Delete'))},
    ];
    if (!table) {
      table = sortableTable(cols, rows, {sortKey: 'logGroupName', onOpen: g => navigate('streams', {group: g.logGroupName})});
      clear(list).append(rows.length ? table : h('p.muted', 'No log groups.'));
    } else {
      table.setRows(rows);
      if (!rows.length) clear(list).append(h('p.muted', 'No log groups.'));
      else if (!table.isConnected) clear(list).append(table);
    }
  }

  function retentionSelect(g) {
    const sel = h('select', {'aria-label': 'Retention of ' + g.logGroupName},
      h('option', {value: ''}, 'Never expire'),
      RETENTION.map(d => h('option', {value: d, selected: g.retentionInDays === d}, d + ' days')));
    sel.addEventListener('change', async () => {
      try {
        if (sel.value) await call('PutRetentionPolicy', {logGroupName: g.logGroupName, retentionInDays: Number(sel.value)});
        else await call('DeleteRetentionPolicy', {logGroupName: g.logGroupName});
        g.retentionInDays = sel.value ? Number(sel.value) : undefined;
        status.textContent = '';
      } catch (x) { status.textContent = x.message; sel.value = g.retentionInDays || ''; }
    });
    return sel;
  }

  function protectToggle(g) {
    const box = h('input', {type: 'checkbox', checked: g.deletionProtectionEnabled, 'aria-label': 'Deletion protection of ' + g.logGroupName});
    box.addEventListener('change', async () => {
      try {
        await call('PutLogGroupDeletionProtection', {logGroupIdentifier: g.logGroupName, deletionProtectionEnabled: box.checked});
        g.deletionProtectionEnabled = box.checked;
      } catch (x) { status.textContent = x.message; box.checked = !box.checked; }
    });
    return box;
  }

  async function del(g) {
    if (!await confirmDialog(`Delete log group ${g.logGroupName} and all its events? This cannot be undone.`, 'Delete', g.logGroupName)) return;
    try {
      await call('DeleteLogGroup', {logGroupName: g.logGroupName});
      rows = rows.filter(x => x !== g);
      draw();
    } catch (x) { status.textContent = x.message; }
  }

  async function tags(g) {
    const arn = g.logGroupArn || g.arn.replace(/:\*$/, '');
    let current = {};
    try { current = (await call('ListTagsForResource', {resourceArn: arn})).tags || {}; } catch (x) { status.textContent = x.message; return; }
    const text = Object.entries(current).map(([k, v]) => `${k}=${v}`).join('\n');
    const r = await formDialog('Tags of ' + g.logGroupName, [{name: 'tags', label: 'One key=value per line', multiline: true, value: text}], 'Save');
    if (!r) return;
    const next = {};
    for (const line of r.tags.split('\n')) {
      const t = line.trim();
      if (!t) continue;
      const i = t.indexOf('=');
      next[i < 0 ? t : t.slice(0, i)] = i < 0 ? '' : t.slice(i + 1);
    }
    try {
      const removed = Object.keys(current).filter(k => !(k in next));
      if (removed.length) await call('UntagResource', {resourceArn: arn, tagKeys: removed});
      if (Object.keys(next).length) await call('TagResource', {resourceArn: arn, tags: next});
    } catch (x) { status.textContent = x.message; }
  }

  async function create() {
    const r = await formDialog('Create log group', [
      {name: 'name', label: 'Name', required: true, placeholder: '/my/app'},
      {name: 'cls', label: 'Class', options: [['STANDARD', 'Standard'], ['INFREQUENT_ACCESS', 'Infrequent access']]},
      {name: 'retention', label: 'Retention', options: [['', 'Never expire'], ...RETENTION.map(d => [String(d), d + ' days'])]},
    ]);
    if (!r) return;
    try {
      await call('CreateLogGroup', {logGroupName: r.name, logGroupClass: r.cls});
      if (r.retention) await call('PutRetentionPolicy', {logGroupName: r.name, retentionInDays: Number(r.retention)});
      await load(false);
    } catch (x) { status.textContent = x.message; }
  }

  let timer;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { setParams({q: search.value}); load(false); }, 250);
  });
  more.addEventListener('click', () => load(true));
  main.append(h('h1', 'Log groups'),
    h('div.toolbar', search, h('button.primary', {onclick: create}, 'Create log group'), h('label.row', showAll, 'Show all'), hidden),
    status, list, more);
  await load(false);
  return () => clearTimeout(timer);
}
