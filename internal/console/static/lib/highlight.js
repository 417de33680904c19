// Highlighting in event messages, shared by the events, live tail and
// build pages: the terms a filter pattern matches, marked in a message, and
// data-protection masks (****) shown as such.
import {h} from './dom.js';

// matchTerms lists the strings a filter pattern matches, to highlight them:
// plain terms and quoted phrases, and the quoted values of JSON and
// space-delimited patterns.
export function matchTerms(pattern) {
  const p = (pattern || '').trim();
  if (!p) return [];
  if (p.startsWith('{') || p.startsWith('[')) {
    return [...p.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(m => m[1].replace(/\*/g, '')).filter(Boolean);
  }
  if (p.startsWith('%') && p.endsWith('%')) return [];
  const out = [];
  for (const m of p.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    let t = m[1] ?? m[2];
    if (t.startsWith('-')) continue;
    t = t.replace(/^\?/, '');
    if (t) out.push(t);
  }
  return out;
}

export function highlight(text, terms) {
  const out = [];
  let i = 0;
  if (terms.length) {
    const re = new RegExp(terms.map(t => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
    for (const m of text.matchAll(re)) {
      if (!m[0]) break;
      out.push(masked(text.slice(i, m.index)), h('mark', m[0]));
      i = m.index + m[0].length;
    }
  }
  out.push(masked(text.slice(i)));
  return out;
}

// masked shows data-protection masks (****) as such.
export function masked(text) {
  if (!text.includes('****')) return text;
  return text.split(/(\*{4,})/).map((s, i) => (i % 2 ? h('span.masked', {title: 'masked'}, s) : s));
}
