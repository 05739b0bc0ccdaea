// The campaign page: headline numbers of ALL_PLATFORMS, daily charts (daily series extension), breakdowns by
// platform, locale and variation (control groups and uplift side by side), the delivery funnel and failures, and
// each goal's conversions under every attribution type. Every number is the Stats API's, for the query on screen.
import {api, statsBody} from './api.js';
import {append, clear, empty, errorBox, h, loading, scrollRegion} from './dom.js';
import {barChart, dailyTable} from './chart.js';
import {dateList} from './dates.js';
import {formatCount} from './format.js';
import {ALL_LOCALE, ALL_PLATFORMS, ALL_VARIATIONS, ATTRIBUTIONS, ATTRIBUTION_LABELS, CHANNEL_LABELS, MAIN_COUNTERS,
  METRIC_LABELS, entry, fieldLabel, goalFieldLabel, goalNames, goalValue, isRate, localeKeys, localeLabel, node,
  overall, perfValue, platformKeys, platformLabel, value, variationKeys, variationLabel} from './metrics.js';
import {queryControls, queryParams, rangeNote, readQuery} from './query.js';
import {rangeError} from './dates.js';

const OVERALL = `${ALL_PLATFORMS}/${ALL_LOCALE}/${ALL_VARIATIONS}`;

function section(title, ...children) {
  const hid = `sec-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', {class: 'card-section', 'aria-labelledby': hid}, h('h2', {id: hid}, title), ...children);
}

// perfFields lists the channel's performance fields in the API's order.
function perfFields(n) {
  return Object.keys((n && n.performance_stats) || {});
}

function headline(e, channel) {
  const n = overall(e);
  if (!n) return empty('No data for this campaign.');
  const path = {'data-node': OVERALL};
  const fields = perfFields(n);
  const counts = fields.filter((f) => !isRate(f));
  const rates = fields.filter((f) => isRate(f));
  const card = (label, val) => h('div', {class: 'stat'}, h('dt', {}, label), h('dd', {}, val));
  const out = [];
  if (fields.length) {
    out.push(h('dl', {class: 'stats'}, counts.map((f) => card(fieldLabel(f), perfValue(n, f, path))),
      rates.map((f) => card(fieldLabel(f), perfValue(n, f, path)))));
  } else {
    out.push(h('p', {class: 'muted'}, `${CHANNEL_LABELS[channel] || channel || 'This'} campaign has no delivery counters.`));
  }
  const goals = goalNames(n);
  if (goals.length) {
    out.push(h('h3', {}, 'Goals'), h('dl', {class: 'stats goals'}, goals.map((g) => [
      card(`${g} conversions`, goalValue(n, g, 'conversions', path)),
      card(`${g} CVR`, goalValue(n, g, 'cvr', path)),
      card(`${g} revenue`, goalValue(n, g, 'revenue', path)),
    ])));
  } else {
    out.push(h('p', {class: 'muted'}, 'No conversion goals are defined for this campaign.'));
  }
  return out;
}

// breakdown is a table with one column per node (platform, locale or variation) and one row per metric.
function breakdown(caption, columns, goalFields) {
  const first = columns.find((c) => c.node && c.node.performance_stats) || columns[0];
  const fields = perfFields(first && first.node);
  const goals = [...new Set(columns.flatMap((c) => goalNames(c.node)))];
  const rows = [];
  for (const f of fields) {
    rows.push(h('tr', {}, h('th', {scope: 'row'}, fieldLabel(f)), columns.map((c) => h('td', {class: 'n'},
      c.node && c.node.performance_stats ? perfValue(c.node, f, {'data-node': c.path}) : h('span', {class: 'na', title: 'Not measured for control groups'}, '—')))));
  }
  for (const g of goals) {
    for (const gf of goalFields) {
      rows.push(h('tr', {class: gf === goalFields[0] ? 'group-start' : null}, h('th', {scope: 'row'}, `${g}: ${goalFieldLabel(gf)}`),
        columns.map((c) => h('td', {class: 'n'}, goalValue(c.node, g, gf, {'data-node': c.path})))));
    }
  }
  return scrollRegion(caption, h('table', {class: 'breakdown'},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Metric'), columns.map((c) => h('th', {scope: 'col'}, c.label)))),
    h('tbody', {}, rows)));
}

function breakdowns(e) {
  const plats = platformKeys(e).map((p) => ({label: platformLabel(p), path: `${p}/${ALL_LOCALE}/${ALL_VARIATIONS}`,
    node: node(e, p, ALL_LOCALE, ALL_VARIATIONS)}));
  const locs = localeKeys(e, ALL_PLATFORMS).map((l) => ({label: localeLabel(l), path: `${ALL_PLATFORMS}/${l}/${ALL_VARIATIONS}`,
    node: node(e, ALL_PLATFORMS, l, ALL_VARIATIONS)}));
  const vars = variationKeys(e, ALL_PLATFORMS, ALL_LOCALE).map((v) => ({label: variationLabel(v),
    path: `${ALL_PLATFORMS}/${ALL_LOCALE}/${v}`, node: node(e, ALL_PLATFORMS, ALL_LOCALE, v)}));
  const out = [];
  out.push(h('h3', {}, 'By platform'));
  out.push(plats.length > 2 ? breakdown('Metrics by platform', plats, ['conversions', 'cvr'])
    : [h('p', {class: 'muted'}, 'One platform only: the numbers are those of the overview.'), breakdown('Metrics by platform', plats, ['conversions', 'cvr'])]);
  out.push(h('h3', {}, 'By locale'));
  out.push(breakdown('Metrics by locale', locs, ['conversions', 'cvr']));
  out.push(h('h3', {}, 'By variation'));
  if (vars.length <= 1) out.push(h('p', {class: 'muted'}, 'No A/B variations or control groups in this range.'));
  out.push(breakdown('Variations side by side with the control groups', vars, ['conversions', 'unique', 'cvr', 'uplift', 'gcg_uplift']));
  return out;
}

function funnel(e) {
  const n = overall(e);
  const stages = Object.entries((n && n.delivery_funnel) || {});
  const fails = Object.entries((n && n.failure_breakdown) || {}).sort((a, b) => b[1] - a[1]);
  const path = {'data-node': OVERALL};
  const max = Math.max(1, ...stages.map(([, v]) => v));
  const out = [h('h3', {}, 'Delivery funnel')];
  if (!stages.length) out.push(empty('No funnel stages.'));
  else {
    out.push(h('ol', {class: 'funnel'}, stages.map(([k, v]) => {
      const fill = h('span', {class: 'fill'});
      fill.style.width = `${Math.max(0.5, (v / max) * 100).toFixed(1)}%`;
      return h('li', {}, h('span', {class: 'stage'}, fieldLabel(k)), h('span', {class: 'track', 'aria-hidden': 'true'}, fill),
        value('delivery_funnel', k, v, 'count', path));
    })));
  }
  out.push(h('h3', {}, 'Failures'));
  if (!fails.length) out.push(empty('No failures in this range.'));
  else {
    out.push(scrollRegion('Failure breakdown', h('table', {class: 'failures'}, h('caption', {class: 'sr-only'}, 'Failure breakdown'),
      h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Reason'), h('th', {scope: 'col'}, 'Count'))),
      h('tbody', {}, fails.map(([k, v]) => h('tr', {}, h('th', {scope: 'row'}, k.replace(/_/g, ' ')),
        h('td', {class: 'n'}, value('failure_breakdown', k, v, 'count', path))))))));
  }
  return out;
}

function byAttribution(cid, responses, current) {
  const nodes = ATTRIBUTIONS.map((at, i) => overall(entry(responses[i], cid)));
  const goals = [...new Set(nodes.flatMap((n) => goalNames(n)))];
  if (!goals.length) return empty('No conversion goals are defined for this campaign.');
  const fields = ['conversions', 'unique', 'revenue', 'cvr', 'uplift'];
  return scrollRegion('Conversions by attribution type', h('table', {class: 'breakdown attribution'},
    h('caption', {}, 'Each goal under every attribution type (all platforms)'),
    h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Goal'), ATTRIBUTIONS.map((at) => h('th', {scope: 'col',
      class: at === current ? 'current' : null}, ATTRIBUTION_LABELS[at], at === current ? h('span', {class: 'sr-only'}, ' (selected)') : null)))),
    h('tbody', {}, goals.flatMap((g) => fields.map((f, fi) => h('tr', {class: fi === 0 ? 'group-start' : null},
      h('th', {scope: 'row'}, `${g}: ${goalFieldLabel(f)}`),
      ATTRIBUTIONS.map((at, i) => h('td', {class: at === current ? 'n current' : 'n', 'data-attribution': at},
        goalValue(nodes[i], g, f, {'data-node': OVERALL, 'data-attribution': at})))))))));
}

function daily(cid, resp, q, channel) {
  const days = (resp && resp.days) || [];
  const dates = days.map((d) => d.date);
  const nodes = days.map((d) => overall(entry({data: d.data}, cid)));
  const series = [];
  for (const f of MAIN_COUNTERS[channel] || []) {
    series.push({key: `performance_stats.${f}`, title: fieldLabel(f),
      points: nodes.map((n, i) => ({date: dates[i], value: (n && n.performance_stats && n.performance_stats[f]) || 0}))});
  }
  const goals = [...new Set(nodes.flatMap((n) => goalNames(n)))];
  for (const g of goals) {
    series.push({key: `conversion_goal_stats.${g}.conversions`, title: `${g} conversions`,
      points: nodes.map((n, i) => {
        const gs = n && n.conversion_goal_stats && n.conversion_goal_stats[g];
        return {date: dates[i], value: (gs && gs.conversions) || 0};
      })});
  }
  if (!series.length) return empty('Nothing to chart for this channel.');
  const out = [h('div', {class: 'charts'}, series.map((s) => barChart(s.key, s.title, s.points)))];
  if (q.metric === 'UNIQUE') {
    out.push(h('p', {class: 'note'}, 'Unique users are counted per day: a user active on several days counts on each, so the days add up to more than the range\u2019s unique count.'));
  }
  out.push(h('details', {class: 'numbers'}, h('summary', {}, 'Show the daily numbers'),
    scrollRegion('Daily numbers', dailyTable(`Daily ${METRIC_LABELS[q.metric].toLowerCase()}, ${ATTRIBUTION_LABELS[q.attribution]}`,
      series, dateList(q.start, q.end).filter((d) => dates.includes(d))))));
  return out;
}

export function renderCampaign(el, cid, params, live) {
  let q = readQuery(params);
  let meta = null;
  let seq = 0;
  document.title = `${cid} · campaignstats`;
  const title = h('h1', {}, cid);
  const facts = h('p', {class: 'facts'});
  const family = h('div', {class: 'family'});
  const body = h('div', {class: 'campaign-body', 'data-campaign-id': cid});
  el.append(
    h('p', {class: 'back'}, h('a', {href: `#/campaigns?${queryParams(q)}`, class: 'back-link'}, '\u2190 All campaigns')),
    h('div', {class: 'page-head'}, title, facts, family),
    h('div', {class: 'toolbar'}, queryControls(q, (nq) => {
      q = nq;
      load();
    })),
    rangeNote(),
    body);

  async function loadMeta() {
    try {
      const items = await api.meta({limit: 1, page: 1, include_child_campaigns: true, campaign_fields: {id: [cid]}});
      if (!live()) return null;
      meta = items[0] || null;
      if (!meta) {
        facts.append(h('span', {class: 'muted'}, 'This campaign is not in the catalog.'));
        return null;
      }
      title.textContent = meta.campaign_name || cid;
      document.title = `${meta.campaign_name || cid} · campaignstats`;
      clear(facts).append(
        h('span', {class: `badge ch-${String(meta.channel).toLowerCase()}`}, CHANNEL_LABELS[meta.channel] || meta.channel),
        h('span', {}, h('span', {class: 'sr-only'}, 'Campaign id '), h('code', {}, cid)),
        h('span', {}, meta.campaign_delivery_type.replace(/_/g, ' ').toLowerCase()),
        h('span', {}, meta.campaign_status),
        meta.campaign_start_time ? h('span', {}, `starts ${meta.campaign_start_time.replace('T', ' ')} UTC`) : null);
      if (meta.parent_campaign_id) {
        family.append(h('p', {}, 'Execution of ', h('a', {href: `#/campaign/${encodeURIComponent(meta.parent_campaign_id)}?${queryParams(q)}`},
          meta.parent_campaign_id), '.'));
      }
      if (meta.total_child_campaigns > 0) {
        const res = await api.executions(cid, 1, 15);
        if (!live()) return meta;
        family.append(h('details', {class: 'executions'},
          h('summary', {}, `${formatCount(res.total_instances)} execution${res.total_instances === 1 ? '' : 's'} (their numbers are included here)`),
          h('ul', {}, res.executions.map((x) => h('li', {},
            h('a', {href: `#/campaign/${encodeURIComponent(x.campaign_id)}?${queryParams(q)}`}, x.campaign_id),
            ` \u00b7 sent ${x.sent_time ? x.sent_time.slice(0, 16).replace('T', ' ') + ' UTC' : '—'} \u00b7 ${x.status}`))),
          res.total_instances > res.executions.length ? h('p', {class: 'muted'}, `First ${res.executions.length} shown.`) : null));
      }
      return meta;
    } catch (e) {
      if (live()) facts.append(errorBox(e, 'Could not load the campaign:'));
      return null;
    }
  }
  const metaReady = loadMeta();

  async function load() {
    seq += 1;
    const mine = seq;
    history.replaceState(null, '', `#/campaign/${encodeURIComponent(cid)}?${queryParams(q)}`);
    if (rangeError(q.start, q.end)) return;
    const slots = {
      overview: h('div', {}, loading()), daily: h('div', {}, loading('Loading the daily series…')),
      breakdown: h('div', {}, loading()), funnel: h('div', {}, loading()), attribution: h('div', {}, loading()),
    };
    body.dataset.attribution = q.attribution;
    body.dataset.metricType = q.metric;
    body.dataset.start = q.start;
    body.dataset.end = q.end;
    clear(body).append(
      section(`Overview \u00b7 all platforms`, h('p', {class: 'note'}, `${METRIC_LABELS[q.metric]}, ${ATTRIBUTION_LABELS[q.attribution]} attribution, ${q.start} to ${q.end}.`), slots.overview),
      section('Daily', slots.daily),
      section('Breakdown', slots.breakdown),
      section('Funnel and failures', slots.funnel),
      section('Conversions by attribution type', slots.attribution));
    body.setAttribute('aria-busy', 'true');
    const fail = (slot, what) => (e) => {
      if (mine === seq && live()) clear(slot).append(errorBox(e, what));
    };
    const m = await metaReady;
    const channel = m ? m.channel : '';
    const one = {campaign_ids: [cid], limit: 1};
    const all = Promise.all(ATTRIBUTIONS.map((at) => api.stats(statsBody(Object.assign({}, q, {attribution: at}), one))));
    const dailyDone = api.daily(statsBody(q, one)).then((resp) => {
      if (mine === seq && live()) append(clear(slots.daily), daily(cid, resp, q, channel));
    }, fail(slots.daily, 'Could not load the daily series:'));
    const statsDone = all.then((responses) => {
      if (mine !== seq || !live()) return;
      const e = entry(responses[ATTRIBUTIONS.indexOf(q.attribution)], cid);
      append(clear(slots.overview), headline(e, channel));
      append(clear(slots.breakdown), breakdowns(e));
      append(clear(slots.funnel), funnel(e));
      append(clear(slots.attribution), byAttribution(cid, responses, q.attribution));
    }, (e) => {
      for (const k of ['overview', 'breakdown', 'funnel', 'attribution']) fail(slots[k], 'Could not load the stats:')(e);
    });
    await Promise.all([dailyDone, statsDone]);
    if (mine === seq) body.removeAttribute('aria-busy');
  }
  load();
}
