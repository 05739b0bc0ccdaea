// The campaigns page: every campaign with data in the range, a page at a time through the Stats API (offset/limit),
// named through the Meta API; a channel filter or a search lists the Meta API's matches instead. Parents expand to
// their executions (Executions API).
import {api, statsBody} from './api.js';
import {clear, empty, errorBox, h, id, loading} from './dom.js';
import {formatCount} from './format.js';
import {CHANNELS, CHANNEL_LABELS, KEY_METRICS, ALL_PLATFORMS, ALL_LOCALE, ALL_VARIATIONS, entry, fieldLabel, goalNames,
  goalValue, overall, perfValue} from './metrics.js';
import {queryControls, queryParams, rangeNote, readQuery} from './query.js';
import {rangeError} from './dates.js';

const PAGE = 10; // the Stats API's largest limit
const META_LIMIT = 15; // the Meta and Executions APIs' largest limit
const MAX_MATCHES = 300;
const OVERALL = `${ALL_PLATFORMS}/${ALL_LOCALE}/${ALL_VARIATIONS}`;

// metaPages reads every page of a Meta query (up to MAX_MATCHES campaigns).
async function metaPages(fields) {
  const out = [];
  for (let page = 1; out.length < MAX_MATCHES; page++) {
    const items = await api.meta({limit: META_LIMIT, page, include_child_campaigns: true, campaign_fields: fields});
    out.push(...items);
    if (items.length < META_LIMIT) break;
  }
  return out;
}

// metaFor returns the Meta entries of the given ids, by id.
async function metaFor(ids) {
  const out = {};
  for (let i = 0; i < ids.length; i += META_LIMIT) {
    const chunk = ids.slice(i, i + META_LIMIT);
    const items = await api.meta({limit: META_LIMIT, page: 1, include_child_campaigns: true, campaign_fields: {id: chunk}});
    for (const m of items) out[m.campaign_id] = m;
  }
  return out;
}

// statsFor returns data[cid][0] for each id, ten ids per Stats call.
async function statsFor(q, ids) {
  const out = {};
  const calls = [];
  for (let i = 0; i < ids.length; i += PAGE) {
    const chunk = ids.slice(i, i + PAGE);
    calls.push(api.stats(statsBody(q, {campaign_ids: chunk, limit: PAGE})).then((resp) => {
      for (const cid of chunk) out[cid] = entry(resp, cid);
    }));
  }
  await Promise.all(calls);
  return out;
}

function keyMetrics(channel, n, attrs) {
  const fields = KEY_METRICS[channel] || Object.keys((n && n.performance_stats) || {}).slice(0, 4);
  if (!fields.length) return h('span', {class: 'muted'}, 'No counters for this channel');
  return h('ul', {class: 'kv'}, fields.map((f) => h('li', {}, h('span', {class: 'k'}, fieldLabel(f)), ' ', perfValue(n, f, attrs))));
}

function goalList(n, field, attrs) {
  const goals = goalNames(n);
  if (!goals.length) return h('span', {class: 'muted'}, 'No goals');
  return h('ul', {class: 'kv'}, goals.map((g) => h('li', {}, h('span', {class: 'k'}, g), ' ', goalValue(n, g, field, attrs))));
}

function campaignHref(cid, q) {
  return `#/campaign/${encodeURIComponent(cid)}?${queryParams(q)}`;
}

// row renders one campaign: its name, channel, key metrics and each goal's conversions and CVR from the
// ALL_PLATFORMS/all_locale/all_variations node.
function row(cid, e, meta, q, opts) {
  const n = overall(e);
  const channel = meta ? meta.channel : '';
  const cells = [];
  const nameCell = h('th', {scope: 'row', class: 'name'},
    h('a', {href: campaignHref(cid, q)}, meta && meta.campaign_name ? meta.campaign_name : cid),
    h('div', {class: 'sub'}, h('span', {class: 'sr-only'}, 'Campaign id '), h('code', {}, cid)));
  if (opts.sub) nameCell.append(h('div', {class: 'sub'}, opts.sub));
  if (meta && meta.parent_campaign_id && !opts.child) {
    nameCell.append(h('div', {class: 'sub'}, 'Execution of ',
      h('a', {href: campaignHref(meta.parent_campaign_id, q)}, meta.parent_campaign_id)));
  }
  if (opts.toggle) nameCell.append(opts.toggle);
  cells.push(nameCell);
  cells.push(h('td', {'data-label': 'Channel'}, channel ? h('span', {class: `badge ch-${channel.toLowerCase()}`}, CHANNEL_LABELS[channel] || channel) : '—'));
  if (!n) {
    cells.push(h('td', {colspan: '3', class: 'muted'}, 'No data'));
  } else {
    cells.push(h('td', {'data-label': 'Key metrics'}, keyMetrics(channel, n)));
    cells.push(h('td', {'data-label': 'Conversions'}, goalList(n, 'conversions')));
    cells.push(h('td', {'data-label': 'CVR'}, goalList(n, 'cvr')));
  }
  return h('tr', {class: opts.child ? 'child' : null, 'data-campaign-id': cid, 'data-node': OVERALL}, cells);
}

export function renderCampaigns(el, params, live) {
  document.title = 'Campaigns · campaignstats';
  let q = readQuery(params);
  let channel = CHANNELS.includes(params.get('channel')) ? params.get('channel') : '';
  let search = params.get('q') || '';
  let page = Math.max(1, parseInt(params.get('page') || '1', 10) || 1);
  let seq = 0;
  let matches = null; // {key, list} of the Meta API's matches for the filter

  const results = h('section', {class: 'results', 'aria-label': 'Campaign list'});
  const channelID = id('f-channel');
  const searchID = id('f-search');
  const channelSel = h('select', {id: channelID, name: 'channel'},
    h('option', {value: ''}, 'All channels'),
    CHANNELS.map((c) => h('option', {value: c, selected: c === channel}, CHANNEL_LABELS[c])));
  const searchBox = h('input', {type: 'search', id: searchID, name: 'q', value: search, placeholder: 'Name or id',
    autocomplete: 'off', spellcheck: 'false'});
  channelSel.addEventListener('change', () => {
    channel = channelSel.value;
    page = 1;
    load();
  });
  const filters = h('form', {class: 'filters', role: 'search', 'aria-label': 'Filter campaigns', onsubmit: (e) => {
    e.preventDefault();
    search = searchBox.value.trim();
    page = 1;
    load();
  }},
  h('span', {class: 'field'}, h('label', {for: channelID}, 'Channel'), channelSel),
  h('span', {class: 'field grow'}, h('label', {for: searchID}, 'Search campaigns'), searchBox),
  h('button', {type: 'submit'}, 'Search'));

  el.append(
    h('div', {class: 'page-head'}, h('h1', {}, 'Campaigns')),
    h('div', {class: 'toolbar'}, queryControls(q, (nq) => {
      q = nq;
      page = 1;
      load();
    }), filters),
    rangeNote(),
    results);

  function updateURL() {
    history.replaceState(null, '', '#/campaigns?' + queryParams(q, {channel, q: search, page: page > 1 ? page : ''}));
  }

  async function matchList() {
    const key = `${channel}|${search}`;
    if (matches && matches.key === key) return matches.list;
    const base = channel ? {channels: [channel]} : {};
    let list;
    if (!search) {
      list = await metaPages(base);
    } else {
      // An exact id first, then names containing the text (Meta: case-insensitive substring).
      const [byID, byName] = await Promise.all([metaPages(Object.assign({id: [search]}, base)),
        metaPages(Object.assign({name: search}, base))]);
      const seen = new Set(byID.map((m) => m.campaign_id));
      list = byID.concat(byName.filter((m) => !seen.has(m.campaign_id)));
    }
    matches = {key, list};
    return list;
  }

  async function load() {
    seq += 1;
    const mine = seq;
    updateURL();
    if (rangeError(q.start, q.end)) return;
    clear(results).append(loading('Loading campaigns…'));
    results.setAttribute('aria-busy', 'true');
    try {
      let ids;
      let total;
      let metas = {};
      let stats = {};
      const filtered = Boolean(channel || search);
      if (filtered) {
        const list = await matchList();
        total = list.length;
        const items = list.slice((page - 1) * PAGE, page * PAGE);
        ids = items.map((m) => m.campaign_id);
        for (const m of items) metas[m.campaign_id] = m;
        stats = await statsFor(q, ids);
      } else {
        const resp = await api.stats(statsBody(q, {offset: (page - 1) * PAGE, limit: PAGE}));
        total = resp.total_campaigns;
        const keys = Object.keys(resp.data || {});
        for (const k of keys) stats[k] = entry(resp, k);
        metas = keys.length ? await metaFor(keys) : {};
        // The Meta API orders like the Stats API (SPEC §7.1, §5.5); keys JSON.parse would reorder come last.
        ids = Object.values(metas).map((m) => m.campaign_id).filter((k) => k in stats);
        for (const k of keys) if (!ids.includes(k)) ids.push(k);
      }
      if (mine !== seq || !live()) return;
      results.removeAttribute('aria-busy');
      show(ids, total, metas, stats, filtered);
    } catch (e) {
      if (mine !== seq || !live()) return;
      results.removeAttribute('aria-busy');
      clear(results).append(errorBox(e, 'Could not load campaigns:'));
    }
  }

  function show(ids, total, metas, stats, filtered) {
    clear(results);
    const pages = Math.max(1, Math.ceil(total / PAGE));
    const from = total ? (page - 1) * PAGE + 1 : 0;
    const to = Math.min(page * PAGE, total);
    const what = filtered
      ? `${formatCount(total)} campaign${total === 1 ? '' : 's'} match${total === 1 ? 'es' : ''}${channel ? ' in ' + CHANNEL_LABELS[channel] : ''}${search ? ` \u201c${search}\u201d` : ''}`
      : `${formatCount(total)} campaign${total === 1 ? '' : 's'} with data from ${q.start} to ${q.end}`;
    results.append(h('p', {class: 'summary', role: 'status', 'data-total': String(total)},
      what, ids.length ? ` \u00b7 showing ${from}\u2013${to}` : ''));
    if (!ids.length) {
      results.append(empty(filtered ? 'No campaign matches this filter.' : 'No campaign has data in this range. Try a longer range.'));
      return;
    }
    const table = h('table', {class: 'campaigns'},
      h('caption', {class: 'sr-only'}, `Campaigns, ${q.metric === 'UNIQUE' ? 'unique users' : 'total events'}, ${q.attribution}`),
      h('thead', {}, h('tr', {},
        h('th', {scope: 'col'}, 'Campaign'), h('th', {scope: 'col'}, 'Channel'), h('th', {scope: 'col'}, 'Key metrics'),
        h('th', {scope: 'col'}, 'Conversions'), h('th', {scope: 'col'}, 'CVR'))));
    for (const cid of ids) {
      const meta = metas[cid];
      const body = h('tbody', {class: 'campaign'});
      let toggle = null;
      if (meta && meta.total_child_campaigns > 0) {
        const kids = h('tbody', {class: 'children', id: id('children'), hidden: true});
        toggle = h('button', {type: 'button', class: 'toggle', 'aria-expanded': 'false', 'aria-controls': kids.id},
          `Executions (${formatCount(meta.total_child_campaigns)})`);
        toggle.addEventListener('click', () => toggleChildren(cid, toggle, kids));
        body.append(row(cid, stats[cid], meta, q, {toggle}));
        table.append(body, kids);
        continue;
      }
      body.append(row(cid, stats[cid], meta, q, {}));
      table.append(body);
    }
    results.append(table);
    if (pages > 1) {
      const go = (p) => {
        page = p;
        load().then(() => {
          const first = results.querySelector('tbody th a');
          if (first) first.focus();
        });
      };
      results.append(h('nav', {class: 'pager', 'aria-label': 'Pages'},
        h('button', {type: 'button', disabled: page <= 1, onclick: () => go(page - 1)}, '\u2190 Previous'),
        h('span', {class: 'page-of'}, `Page ${page} of ${pages}`),
        h('button', {type: 'button', disabled: page >= pages, onclick: () => go(page + 1)}, 'Next \u2192')));
    }
  }

  async function toggleChildren(parent, button, kids) {
    const open = button.getAttribute('aria-expanded') === 'true';
    button.setAttribute('aria-expanded', String(!open));
    kids.hidden = open;
    if (open || kids.dataset.loaded) return;
    kids.dataset.loaded = 'true';
    clear(kids).append(h('tr', {class: 'child'}, h('td', {colspan: '5'}, loading('Loading executions…'))));
    try {
      const execs = [];
      for (let page = 1; page <= 7; page++) {
        const res = await api.executions(parent, page, META_LIMIT);
        execs.push(...res.executions);
        if (execs.length >= res.total_instances || res.executions.length < META_LIMIT) break;
      }
      const ids = execs.map((x) => x.campaign_id);
      const [metas, stats] = await Promise.all([metaFor(ids), statsFor(q, ids)]);
      clear(kids);
      if (!execs.length) kids.append(h('tr', {class: 'child'}, h('td', {colspan: '5'}, empty('No executions.'))));
      for (const x of execs) {
        const sub = `Sent ${x.sent_time ? x.sent_time.slice(0, 16).replace('T', ' ') + ' UTC' : '—'} \u00b7 ${x.status}`;
        kids.append(row(x.campaign_id, stats[x.campaign_id], metas[x.campaign_id], q, {child: true, sub}));
      }
    } catch (e) {
      delete kids.dataset.loaded;
      clear(kids).append(h('tr', {class: 'child'}, h('td', {colspan: '5'}, errorBox(e, 'Could not load executions:'))));
    }
  }

  load();
}
