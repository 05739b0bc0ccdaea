// What the dashboard shows of each channel, and how it reads the Stats API's nodes (SPEC §5.8, §13.1).
import {h} from './dom.js';
import {format} from './format.js';

export const ALL_PLATFORMS = 'ALL_PLATFORMS';
export const ALL_LOCALE = 'all_locale';
export const ALL_VARIATIONS = 'all_variations';
export const CONTROL_GROUPS = ['campaign_control_group', 'global_control_group'];

export const CHANNELS = ['PUSH', 'EMAIL', 'SMS', 'WHATSAPP', 'IN_APP', 'ON_SITE', 'CARDS', 'CONNECTORS', 'FACEBOOK', 'GOOGLE_ADS'];

export const CHANNEL_LABELS = {
  PUSH: 'Push', EMAIL: 'Email', SMS: 'SMS', WHATSAPP: 'WhatsApp', IN_APP: 'In-app', ON_SITE: 'On-site', CARDS: 'Cards',
  CONNECTORS: 'Connectors', FACEBOOK: 'Facebook', GOOGLE_ADS: 'Google Ads', UNKNOWN: 'Unknown',
};

export const ATTRIBUTIONS = ['VIEW_THROUGH', 'CLICK_THROUGH', 'IN_SESSION', 'TOTAL_CONVERSIONS', 'CLICK_CONVERSIONS'];
export const ATTRIBUTION_LABELS = {
  VIEW_THROUGH: 'View-through', CLICK_THROUGH: 'Click-through', IN_SESSION: 'In-session',
  TOTAL_CONVERSIONS: 'Total conversions', CLICK_CONVERSIONS: 'Click conversions',
};

export const METRIC_LABELS = {TOTAL: 'Total events', UNIQUE: 'Unique users'};

const FIELD_LABELS = {
  attempted: 'Attempted', sent: 'Sent', failed: 'Failed', delivered: 'Delivered', impression: 'Impressions',
  click: 'Clicks', open: 'Opens', read: 'Reads', unsubscribe: 'Unsubscribes', complaint: 'Complaints',
  hard_bounce: 'Hard bounces', soft_bounce: 'Soft bounces', bounced: 'Bounces', closed_click: 'Closed clicks',
  successfully_synced: 'Synced', ctr: 'CTR', ctor: 'CTOR', open_rate: 'Open rate', delivery_rate: 'Delivery rate',
  sent_rate: 'Sent rate', failure_rate: 'Failure rate', unsub_rate: 'Unsubscribe rate', bounce_rate: 'Bounce rate',
  complaints_rate: 'Complaint rate', read_rate: 'Read rate',
};

const GOAL_LABELS = {
  conversions: 'Conversions', total: 'Conversion events', unique: 'Converted users', revenue: 'Revenue',
  average_order_value: 'Avg. order value', average_revenue_per_user: 'Avg. revenue per user', cvr: 'CVR',
  uplift: 'Uplift vs campaign control', gcg_uplift: 'Uplift vs global control',
};

// KEY_METRICS are the campaigns table's columns of each channel.
export const KEY_METRICS = {
  PUSH: ['sent', 'impression', 'click', 'ctr'],
  EMAIL: ['delivered', 'open', 'click', 'open_rate', 'ctr'],
  SMS: ['sent', 'delivered', 'click', 'delivery_rate'],
  WHATSAPP: ['sent', 'delivered', 'read', 'click', 'read_rate'],
  IN_APP: ['impression', 'click', 'closed_click', 'ctr'],
  ON_SITE: ['impression', 'click', 'closed_click', 'ctr'],
  CARDS: ['sent', 'impression', 'click', 'ctr'],
  CONNECTORS: ['sent'],
  FACEBOOK: ['successfully_synced'],
  GOOGLE_ADS: ['successfully_synced'],
};

// MAIN_COUNTERS are the daily chart's series of each channel (conversions are added per goal).
export const MAIN_COUNTERS = {
  PUSH: ['sent', 'impression', 'click'],
  EMAIL: ['sent', 'delivered', 'open', 'click'],
  SMS: ['sent', 'delivered', 'click'],
  WHATSAPP: ['sent', 'delivered', 'read', 'click'],
  IN_APP: ['impression', 'click'],
  ON_SITE: ['impression', 'click'],
  CARDS: ['sent', 'impression', 'click'],
  CONNECTORS: ['sent'],
  FACEBOOK: ['successfully_synced'],
  GOOGLE_ADS: ['successfully_synced'],
};

export function fieldLabel(f) {
  return FIELD_LABELS[f] || f.replace(/_/g, ' ');
}

export function goalFieldLabel(f) {
  return GOAL_LABELS[f] || f;
}

export function isRate(field) {
  return field === 'ctr' || field === 'ctor' || field.endsWith('_rate');
}

export function goalKind(field) {
  if (field === 'cvr' || field === 'uplift' || field === 'gcg_uplift') return 'rate';
  if (field === 'revenue' || field === 'average_order_value' || field === 'average_revenue_per_user') return 'money';
  return 'count';
}

export function variationLabel(v) {
  if (v === ALL_VARIATIONS) return 'All variations';
  if (v === 'campaign_control_group') return 'Campaign control group';
  if (v === 'global_control_group') return 'Global control group';
  const m = /^variation_(\d+)$/.exec(v);
  return m ? `Variation ${m[1]}` : v;
}

export function platformLabel(p) {
  if (p === ALL_PLATFORMS) return 'All platforms';
  return {ANDROID: 'Android', IOS: 'iOS', WEB: 'Web', WINDOWS: 'Windows', UNKNOWN: 'Unknown'}[p] || p;
}

export function localeLabel(l) {
  return l === ALL_LOCALE ? 'All locales' : l;
}

// entry is data[cid][0] of a Stats response, or null.
export function entry(resp, cid) {
  const arr = resp && resp.data && resp.data[cid];
  return Array.isArray(arr) && arr.length ? arr[0] : null;
}

// node walks to platforms[p].locales[l].variations[v]; null when a step is missing.
export function node(e, p, l, v) {
  const pl = e && e.platforms && e.platforms[p];
  const lo = pl && pl.locales && pl.locales[l];
  return (lo && lo.variations && lo.variations[v]) || null;
}

export function overall(e) {
  return node(e, ALL_PLATFORMS, ALL_LOCALE, ALL_VARIATIONS);
}

function sortedKeys(obj, first) {
  const keys = Object.keys(obj || {}).filter((k) => k !== first).sort();
  return obj && first in obj ? [first, ...keys] : keys;
}

export function platformKeys(e) {
  return sortedKeys(e && e.platforms, ALL_PLATFORMS);
}

export function localeKeys(e, p) {
  const pl = e && e.platforms && e.platforms[p];
  return sortedKeys(pl && pl.locales, ALL_LOCALE);
}

// variationKeys orders variations as the Stats API does: all_variations, variation_n by n, others, control groups.
export function variationKeys(e, p, l) {
  const pl = e && e.platforms && e.platforms[p];
  const lo = pl && pl.locales && pl.locales[l];
  const keys = Object.keys((lo && lo.variations) || {});
  const rank = (k) => (k === ALL_VARIATIONS ? 0 : CONTROL_GROUPS.includes(k) ? 3 + CONTROL_GROUPS.indexOf(k) : 1);
  return keys.sort((a, b) => {
    if (rank(a) !== rank(b)) return rank(a) - rank(b);
    const na = /^variation_(\d+)$/.exec(a);
    const nb = /^variation_(\d+)$/.exec(b);
    if (na && nb) return Number(na[1]) - Number(nb[1]);
    if (na || nb) return na ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

export function goalNames(n) {
  return Object.keys((n && n.conversion_goal_stats) || {});
}

// value renders one API number: the formatted text, with the exact API value in data-raw and its place in
// data-section (performance_stats, conversion_goal_stats, delivery_funnel, failure_breakdown), data-field and, for
// goals, data-goal. The element holding it says which campaign and node (data-campaign-id, data-node).
export function value(section, field, raw, kind, extra) {
  const attrs = Object.assign({class: 'num', 'data-section': section, 'data-field': field}, extra || {});
  if (typeof raw !== 'number') {
    attrs.class = 'num na';
    return h('span', attrs, '—');
  }
  attrs['data-raw'] = String(raw);
  attrs['data-kind'] = kind;
  return h('span', attrs, format(kind, raw));
}

export function perfValue(n, field, extra) {
  const raw = n && n.performance_stats ? n.performance_stats[field] : undefined;
  return value('performance_stats', field, raw, isRate(field) ? 'rate' : 'count', extra);
}

export function goalValue(n, goal, field, extra) {
  const g = n && n.conversion_goal_stats ? n.conversion_goal_stats[goal] : undefined;
  return value('conversion_goal_stats', field, g ? g[field] : undefined, goalKind(field), Object.assign({'data-goal': goal}, extra || {}));
}
