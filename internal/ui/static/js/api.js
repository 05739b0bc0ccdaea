// The public APIs the dashboard reads, with the workspace id and report key the user signed in with. The keys live
// only in sessionStorage (gone when the tab closes) and are sent as the Stats API's Basic auth and MOE-APPKEY.
import {sha256Hex} from './sha256.js';

const WS_KEY = 'campaignstats.workspace';
const REPORT_KEY = 'campaignstats.reportKey';

export class APIError extends Error {
  constructor(status, body, retryAfter) {
    const title = body && typeof body.title === 'string' ? body.title : '';
    const description = body && typeof body.description === 'string' ? body.description : '';
    let message = description || title || `HTTP ${status}`;
    if (body && body.error && typeof body.error.message === 'string') message = body.error.message; // download 400
    if (status === 429 && retryAfter) message += ` (retry after ${retryAfter} s)`;
    super(message);
    this.status = status;
    this.title = title;
    this.description = description;
    this.code = body && typeof body.code === 'string' ? body.code : '';
  }

  // field is the request field a validation error names ("<field> - <reason>"), or ''.
  get field() {
    const m = /^([A-Za-z_][A-Za-z0-9_.]*) - /.exec(this.description || '');
    return m ? m[1] : '';
  }
}

export function session() {
  const ws = sessionStorage.getItem(WS_KEY);
  const key = sessionStorage.getItem(REPORT_KEY);
  return ws && key ? {ws, key} : null;
}

export function signIn(ws, key) {
  sessionStorage.setItem(WS_KEY, ws);
  sessionStorage.setItem(REPORT_KEY, key);
}

export function signOut() {
  sessionStorage.removeItem(WS_KEY);
  sessionStorage.removeItem(REPORT_KEY);
}

function base64(s) {
  let bin = '';
  for (const b of new TextEncoder().encode(s)) bin += String.fromCharCode(b);
  return btoa(bin);
}

let seq = 0;
export function requestID(prefix) {
  seq += 1;
  return `ui-${prefix}-${Date.now().toString(36)}-${seq}`;
}

async function call(method, path, body, creds) {
  const c = creds || session();
  if (!c) throw new APIError(401, {title: 'Authentication required', description: 'Sign in first.'});
  const headers = {'Authorization': 'Basic ' + base64(`${c.ws}:${c.key}`), 'MOE-APPKEY': c.ws};
  const init = {method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error'};
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new APIError(0, {title: 'Network error', description: 'The server could not be reached.'});
  }
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (!resp.ok) {
    const err = new APIError(resp.status, data, resp.headers.get('Retry-After'));
    if (resp.status === 401 && !creds) window.dispatchEvent(new CustomEvent('campaignstats:unauthorized', {detail: err.message}));
    throw err;
  }
  return data;
}

const enc = encodeURIComponent;

// statsBody is the Stats API body (SPEC §5.3) of a dashboard query.
export function statsBody(q, extra) {
  return Object.assign({request_id: requestID('stats'), start_date: q.start, end_date: q.end,
    attribution_type: q.attribution, metric_type: q.metric}, extra || {});
}

export const api = {
  stats: (body) => call('POST', '/core-services/v1/campaign-stats', body),
  daily: (body) => call('POST', `/v1/stats/${enc(session().ws)}/daily`, body),
  meta: (body, creds) => call('POST', '/core-services/v1/campaigns/meta', Object.assign({request_id: requestID('meta')}, body), creds),
  executions: (parent, page, limit) => call('POST', `/core-services/v1/campaigns/${enc(parent)}/executions`,
    {request_id: requestID('exec'), page, limit}),
  reports: () => call('GET', `/v1/reports/${enc(session().ws)}`),
  createReport: (def) => call('POST', `/v1/reports/${enc(session().ws)}`, def),
  runReport: (id) => call('POST', `/v1/reports/${enc(session().ws)}/${enc(id)}/run`),
  runs: (id, limit) => call('GET', `/v1/reports/${enc(session().ws)}/${enc(id)}/runs?limit=${limit || 10}`),
};

// reportSignature is the download Signature of SPEC §8.9: hex SHA-256 of APP_ID|FILENAME|report_key, computed with
// SubtleCrypto (a plain implementation where the page is not a secure context and SubtleCrypto is missing).
export async function reportSignature(ws, filename, key) {
  const bytes = new TextEncoder().encode(`${ws}|${filename}|${key}`);
  if (globalThis.crypto && crypto.subtle) {
    const sum = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    return Array.from(sum, (b) => b.toString(16).padStart(2, '0')).join('');
  }
  return sha256Hex(bytes);
}

// downloadReport fetches a report file with its Signature and returns it as a Blob.
export async function downloadReport(filename) {
  const c = session();
  const sig = await reportSignature(c.ws, filename, c.key);
  let resp;
  try {
    resp = await fetch(`/campaign_reports/rest_api/${enc(c.ws)}/${enc(filename)}`,
      {headers: {'Signature': sig}, cache: 'no-store', credentials: 'omit'});
  } catch (e) {
    throw new APIError(0, {title: 'Network error', description: 'The server could not be reached.'});
  }
  if (!resp.ok) {
    let data = null;
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
    if (resp.status === 401) data = {description: 'The download signature was refused.'};
    throw new APIError(resp.status, data);
  }
  return resp.blob();
}
