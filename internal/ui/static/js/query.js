// The query every stats page shares — date range, metric type, attribution type — kept in the URL (so a view can
// be bookmarked and shared) and remembered for the tab.
import {h, id} from './dom.js';
import {lastDays, rangeError} from './dates.js';
import {ATTRIBUTIONS, ATTRIBUTION_LABELS, METRIC_LABELS} from './metrics.js';

const STORE = 'campaignstats.query';
export const PRESETS = [7, 14, 30];

export function defaultQuery() {
  const r = lastDays(14);
  return {start: r.start, end: r.end, metric: 'TOTAL', attribution: 'VIEW_THROUGH'};
}

// readQuery takes the query from URL parameters, else from the tab's last query, else the default.
export function readQuery(params) {
  let q = defaultQuery();
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORE) || 'null');
    if (saved && typeof saved === 'object') q = Object.assign(q, saved);
  } catch (e) { /* keep the default */ }
  for (const k of ['start', 'end', 'metric', 'attribution']) {
    if (params.get(k)) q[k] = params.get(k);
  }
  q.metric = String(q.metric).toUpperCase() === 'UNIQUE' ? 'UNIQUE' : 'TOTAL';
  q.attribution = ATTRIBUTIONS.includes(String(q.attribution).toUpperCase()) ? String(q.attribution).toUpperCase() : 'VIEW_THROUGH';
  return q;
}

export function saveQuery(q) {
  sessionStorage.setItem(STORE, JSON.stringify({start: q.start, end: q.end, metric: q.metric, attribution: q.attribution}));
}

export function queryParams(q, extra) {
  const p = new URLSearchParams({start: q.start, end: q.end, metric: q.metric, attribution: q.attribution});
  for (const [k, v] of Object.entries(extra || {})) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  return p.toString();
}

// queryControls builds the range, metric and attribution controls; onChange(q) runs with a valid query.
export function queryControls(q, onChange) {
  const startID = id('q-start');
  const endID = id('q-end');
  const errID = id('q-range-error');
  const start = h('input', {type: 'date', id: startID, name: 'start', value: q.start, required: true, 'aria-describedby': errID});
  const end = h('input', {type: 'date', id: endID, name: 'end', value: q.end, required: true, 'aria-describedby': errID});
  const err = h('p', {class: 'field-error', id: errID, 'aria-live': 'polite'});
  const presets = PRESETS.map((n) => h('button', {type: 'button', class: 'preset', 'data-days': n, 'aria-pressed': 'false',
    onclick: () => {
      const r = lastDays(n);
      start.value = r.start;
      end.value = r.end;
      apply();
    }}, `Last ${n} days`));
  const markPreset = () => {
    for (const b of presets) {
      const r = lastDays(Number(b.dataset.days));
      b.setAttribute('aria-pressed', String(start.value === r.start && end.value === r.end));
    }
  };
  const metricName = id('q-metric');
  const metrics = ['TOTAL', 'UNIQUE'].map((m) => {
    const inputID = id('q-metric-' + m.toLowerCase());
    return h('span', {class: 'seg'},
      h('input', {type: 'radio', name: metricName, id: inputID, value: m, checked: q.metric === m, onchange: () => apply()}),
      h('label', {for: inputID}, METRIC_LABELS[m]));
  });
  const attrID = id('q-attribution');
  const attribution = h('select', {id: attrID, name: 'attribution', onchange: () => apply()},
    ATTRIBUTIONS.map((a) => h('option', {value: a, selected: q.attribution === a}, ATTRIBUTION_LABELS[a])));

  function apply() {
    const problem = rangeError(start.value, end.value);
    err.textContent = problem;
    start.setAttribute('aria-invalid', String(Boolean(problem)));
    end.setAttribute('aria-invalid', String(Boolean(problem)));
    markPreset();
    if (problem) return;
    const checked = metrics.map((s) => s.querySelector('input')).find((i) => i.checked);
    const next = {start: start.value, end: end.value, metric: checked ? checked.value : 'TOTAL', attribution: attribution.value};
    saveQuery(next);
    onChange(next);
  }
  start.addEventListener('change', apply);
  end.addEventListener('change', apply);
  markPreset();
  const el = h('div', {class: 'query'},
    h('fieldset', {class: 'range'}, h('legend', {}, 'Date range'),
      h('div', {class: 'dates'},
        h('span', {class: 'field'}, h('label', {for: startID}, 'From'), start),
        h('span', {class: 'field'}, h('label', {for: endID}, 'To'), end)),
      h('div', {class: 'presets', role: 'group', 'aria-label': 'Range presets'}, presets),
      err),
    h('fieldset', {class: 'metric'}, h('legend', {}, 'Metric type'), h('div', {class: 'segmented'}, metrics)),
    h('span', {class: 'field attribution'}, h('label', {for: attrID}, 'Attribution'), attribution));
  return el;
}

export function rangeNote() {
  return h('p', {class: 'note'}, 'Dates are calendar days in the workspace timezone; presets end today by this browser\u2019s clock.');
}
