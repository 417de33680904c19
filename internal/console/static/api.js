// The console's client of the server: the session (sign-in, sign-out), and
// call(op, body), which is the real CloudWatch Logs JSON API run as the
// signed-in identity (POST /console/api/call/{op}, with the CSRF token).
export const session = {info: null};

export class APIError extends Error {
  constructor(status, type, message) {
    super(message || type);
    this.status = status;
    this.type = (type || '').split('#').pop().split(':')[0];
  }
}

async function parse(res) {
  const text = await res.text();
  let body = {};
  try { body = text ? JSON.parse(text) : {}; } catch { body = {message: text}; }
  if (!res.ok) {
    if (res.status === 401 && session.info) { session.info = null; window.dispatchEvent(new Event('cairn:signedout')); }
    throw new APIError(res.status, body.__type, body.message || body.Message);
  }
  return body;
}

export async function loadSession() {
  const res = await fetch('/console/api/session', {credentials: 'same-origin'});
  if (res.status === 401) { session.info = null; return null; }
  session.info = await parse(res);
  return session.info;
}

export async function signIn(accessKeyId, secretAccessKey, region) {
  const res = await fetch('/console/api/signin', {method: 'POST', credentials: 'same-origin',
    headers: {'Content-Type': 'application/json'}, body: JSON.stringify({accessKeyId, secretAccessKey, region})});
  session.info = await parse(res);
  return session.info;
}

export async function signOut() {
  await fetch('/console/api/signout', {method: 'POST', credentials: 'same-origin', headers: {'X-CSRF-Token': session.info?.csrfToken || ''}});
  session.info = null;
}

function headers() {
  return {'Content-Type': 'application/x-amz-json-1.1', 'X-CSRF-Token': session.info?.csrfToken || ''};
}

export async function call(op, body = {}, signal) {
  const res = await fetch('/console/api/call/' + op, {method: 'POST', credentials: 'same-origin', headers: headers(),
    body: JSON.stringify(body), signal});
  return parse(res);
}

// stream runs a streaming operation (StartLiveTail) and hands each relayed
// frame ({event, data} or {exception, data}) to onFrame until the stream
// ends or signal aborts.
export async function stream(op, body, onFrame, signal) {
  const res = await fetch('/console/api/call/' + op, {method: 'POST', credentials: 'same-origin', headers: headers(),
    body: JSON.stringify(body), signal});
  if (!res.ok) return parse(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buf += value;
    const lines = buf.split('\n');
    buf = lines.pop(); // an incomplete last line waits for the next chunk
    for (const line of lines) if (line) onFrame(JSON.parse(line));
  }
}

// get reads one of the console's own GET endpoints (builds) with its
// headers.
export async function get(path, signal) {
  const res = await fetch(path, {credentials: 'same-origin', signal});
  if (!res.ok) await parse(res);
  return res;
}

// allPages follows nextToken through a listing operation, up to max items.
export async function allPages(op, body, key, max = 5000) {
  const out = [];
  let token;
  do {
    const r = await call(op, {...body, ...(token ? {nextToken: token} : {})});
    out.push(...(r[key] || []));
    token = r.nextToken;
  } while (token && out.length < max);
  return {items: out, more: !!token};
}

// readable asks which groups the signed-in identity may read.
export async function readable(names) {
  const res = await fetch('/console/api/readable', {method: 'POST', credentials: 'same-origin', headers: headers(),
    body: JSON.stringify({logGroupNames: names})});
  return (await parse(res)).readable || {};
}
