// Times: shown in local time or UTC (a setting kept in localStorage), and
// time ranges that are relative ("15m": the last 15 minutes, re-evaluated on
// every load) or absolute (two epoch milliseconds).
const pad = (n, w = 2) => String(n).padStart(w, '0');

export function isUTC() { return localStorage.getItem('cairn.tz') === 'utc'; }
export function setUTC(v) { localStorage.setItem('cairn.tz', v ? 'utc' : 'local'); }

export function fmtTime(ms, utc = isUTC()) {
  if (ms == null || ms === '') return '';
  const d = new Date(Number(ms));
  if (isNaN(d)) return '';
  const g = utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
  return `${g[0]}-${pad(g[1])}-${pad(g[2])} ${pad(g[3])}:${pad(g[4])}:${pad(g[5])}.${pad(g[6], 3)}${utc ? 'Z' : ''}`;
}

export const RELATIVE = [['5m', '5 minutes'], ['15m', '15 minutes'], ['1h', '1 hour'], ['3h', '3 hours'], ['12h', '12 hours'],
  ['1d', '1 day'], ['7d', '7 days'], ['30d', '30 days'], ['all', 'All time']];
const UNIT = {s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5};

// resolveRange turns {since} or {start, end} into epoch-ms bounds (undefined
// where open).
export function resolveRange(r, now = Date.now()) {
  if (r.start || r.end) return {start: r.start ? Number(r.start) : undefined, end: r.end ? Number(r.end) : undefined};
  const m = /^(\d+)([smhdw])$/.exec(r.since || '');
  if (!m) return {};
  return {start: now - Number(m[1]) * UNIT[m[2]], end: undefined};
}

// toInput and fromInput convert between epoch ms and a datetime-local
// input's value, in the zone shown.
export function toInput(ms, utc = isUTC()) {
  if (!ms) return '';
  return fmtTime(ms, utc).replace(' ', 'T').replace('Z', '').slice(0, 23);
}
export function fromInput(v, utc = isUTC()) {
  if (!v) return undefined;
  const t = utc ? Date.parse(v + 'Z') : new Date(v).getTime();
  return isNaN(t) ? undefined : t;
}
