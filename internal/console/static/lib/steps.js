// stepTree nests a CI build's steps. The Jenkins plugin's events name the
// step (FlowNode id, `node`) that printed each line but not its parent, so
// the tree is derived, in this order:
//   1. an explicit `parent` on a step's lines (another CI system writing the
//      same shape may send one), when it names another step and makes no
//      cycle; a parent that printed nothing itself still becomes a step;
//   2. otherwise the order and overlap of the steps' lines in the build's
//      text: Jenkins runs a block step's body between the block's start and
//      its end, so a block's lines (its opening output, then its closing
//      output, e.g. "[Pipeline] node" … "[Pipeline] // node") come before
//      and after its body's. A step whose lines all lie inside another
//      step's first and last line is inside it (the tightest such step is
//      its parent); steps whose spans only partly overlap ran side by side
//      (parallel branches) and are siblings.
// What it cannot see: a block that prints nothing, or only before its body,
// encloses no span and its body's steps show as its siblings.
//
// nodes maps a step id to {first, last, count, parent}: the offsets of its
// first and last line in the build's text, its number of lines, and the
// parent its lines named, if any. The result is the roots, each
// {id, count, children}, children in the order they started.
export function stepTree(nodes) {
  const all = new Map();
  for (const [id, n] of nodes) all.set(id, {id, first: n.first, last: n.last, count: n.count, parent: n.parent || '', children: []});
  // A named parent that printed nothing spans its children.
  for (const n of [...all.values()]) {
    if (!n.parent || n.parent === n.id) continue;
    let p = all.get(n.parent);
    if (!p) { p = {id: n.parent, first: n.first, last: n.last, count: 0, parent: '', children: [], virtual: true}; all.set(p.id, p); }
    if (p.virtual) { p.first = Math.min(p.first, n.first); p.last = Math.max(p.last, n.last); }
  }
  const up = new Map();
  for (const n of all.values()) {
    if (n.parent && n.parent !== n.id && all.has(n.parent)) { up.set(n.id, n.parent); continue; }
    let best = null;
    for (const a of all.values()) {
      if (a === n || !(a.first < n.first && n.last <= a.last)) continue;
      if (!best || a.first > best.first || (a.first === best.first && a.last < best.last)) best = a;
    }
    if (best) up.set(n.id, best.id);
  }
  // Named parents can form a cycle (a → b → a); the link that closes it is
  // dropped, so every step is reachable from a root.
  for (const id of all.keys()) {
    const seen = new Set([id]);
    for (let p = up.get(id); p != null; p = up.get(p)) {
      if (seen.has(p)) { up.delete(id); break; }
      seen.add(p);
    }
  }
  const roots = [];
  for (const n of all.values()) (up.has(n.id) ? all.get(up.get(n.id)).children : roots).push(n);
  const order = (a, b) => a.first - b.first || String(a.id).localeCompare(String(b.id), undefined, {numeric: true});
  const sortAll = list => { list.sort(order); for (const n of list) sortAll(n.children); return list; };
  return sortAll(roots).map(function strip(n) { return {id: n.id, count: n.count, children: n.children.map(strip)}; });
}
