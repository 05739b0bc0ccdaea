// Calendar dates as YYYY-MM-DD strings. The Stats API reads them as days in the workspace timezone; "today" is
// taken from the browser's clock and zone.

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

export const MAX_SPAN_DAYS = 30; // end − start, SPEC §5.3: at most 31 days inclusive

function pad(n) {
  return String(n).padStart(2, '0');
}

export function today() {
  const d = new Date();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function isDate(s) {
  if (!DATE_RE.test(s || '')) return false;
  const d = new Date(s + 'T00:00:00Z');
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

export function addDays(s, n) {
  const d = new Date(s + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

export function daysBetween(a, b) {
  return Math.round((Date.parse(b + 'T00:00:00Z') - Date.parse(a + 'T00:00:00Z')) / 86400000);
}

// lastDays is the range of the n days ending today.
export function lastDays(n) {
  const end = today();
  return {start: addDays(end, -(n - 1)), end};
}

// rangeError returns the problem with a range, or '' when the Stats API accepts it.
export function rangeError(start, end) {
  if (!isDate(start)) return 'Enter a start date (YYYY-MM-DD).';
  if (!isDate(end)) return 'Enter an end date (YYYY-MM-DD).';
  if (end < start) return 'The end date must not be before the start date.';
  if (daysBetween(start, end) > MAX_SPAN_DAYS) return 'A range covers at most 31 days.';
  return '';
}

// dateList lists every date from start to end inclusive.
export function dateList(start, end) {
  const out = [];
  for (let d = start; d <= end && out.length < 400; d = addDays(d, 1)) out.push(d);
  return out;
}
