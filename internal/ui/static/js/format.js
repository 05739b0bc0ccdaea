// Number formatting: thousands separators, rates with %, at most two decimals (the API's own precision).
// Fixed to en-US so that the page reads the same everywhere; the raw API number stays in data-raw.

const counts = new Intl.NumberFormat('en-US', {maximumFractionDigits: 0});
const decimals = new Intl.NumberFormat('en-US', {maximumFractionDigits: 2});

export function formatCount(n) {
  return counts.format(n);
}

export function formatDecimal(n) {
  return decimals.format(n);
}

export function formatRate(n) {
  return decimals.format(n) + '%';
}

// format renders a value of a kind: 'count', 'rate' or 'money'.
export function format(kind, n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  if (kind === 'rate') return formatRate(n);
  if (kind === 'money') return formatDecimal(n);
  return formatCount(n);
}

export function formatBytes(n) {
  if (n < 1024) return `${formatCount(n)} B`;
  if (n < 1024 * 1024) return `${formatDecimal(Math.round(n / 102.4) / 10)} KiB`;
  return `${formatDecimal(Math.round(n / (1024 * 102.4)) / 10)} MiB`;
}

// formatTime renders an RFC 3339 instant in the browser's zone, to the minute.
export function formatTime(s) {
  if (!s) return '—';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return s;
  const p = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
