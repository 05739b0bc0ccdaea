// The reports page: definitions with their last run, recent runs of one report, run now, download (Signature
// computed in the browser), and a form that creates a definition (SPEC §8.1, §8.2, §13.2) and shows the API's
// validation errors next to the fields they name.
import {api, APIError, downloadReport} from './api.js';
import {clear, empty, errorBox, h, id, loading, scrollRegion} from './dom.js';
import {formatBytes, formatCount, formatTime} from './format.js';
import {ATTRIBUTIONS, ATTRIBUTION_LABELS, CHANNELS, CHANNEL_LABELS} from './metrics.js';

const FINAL = new Set(['SUCCESSFUL', 'FAILED']);
const WEEKDAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'];

function statusBadge(status) {
  return h('span', {class: `status st-${String(status).toLowerCase()}`, 'data-status': status}, status);
}

function rangeText(r) {
  if (!r) return '—';
  if (r.last_days) return `last ${r.last_days} day${r.last_days === 1 ? '' : 's'}`;
  return `${r.start_date} to ${r.end_date}`;
}

function scheduleText(s) {
  if (!s) return 'manual';
  const at = s.at ? ` at ${s.at}` : '';
  if (s.type === 'weekly') return `weekly on ${(s.weekdays || []).join(', ')}${at}`;
  if (s.type === 'monthly') return `monthly on day ${s.day_of_month}${at}`;
  if (s.type === 'once') return `once${s.date ? ' on ' + s.date : ''}${at}`;
  return `${s.type}${at}`;
}

// saveBlob hands a downloaded file to the browser under its name.
function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', {href: url, download: filename, class: 'sr-only', tabindex: '-1'});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

export function renderReports(el, live) {
  document.title = 'Reports · campaignstats';
  const list = h('div', {}, loading('Loading reports…'));
  const runsBox = h('div', {class: 'runs-box'});
  const status = h('p', {class: 'status-line', role: 'status', 'aria-live': 'polite'});
  let selected = null; // report shown in runsBox
  let poll = null;

  el.append(
    h('div', {class: 'page-head'}, h('h1', {}, 'Reports'),
      h('p', {class: 'facts'}, 'Scheduled CSV exports from the same numbers as the Stats API. Files stay downloadable for the retention period.')),
    h('section', {class: 'card-section', 'aria-labelledby': 'sec-defs'}, h('h2', {id: 'sec-defs'}, 'Definitions'), status, list),
    h('section', {class: 'card-section', 'aria-labelledby': 'sec-runs'}, h('h2', {id: 'sec-runs'}, 'Recent runs'), runsBox),
    h('section', {class: 'card-section', 'aria-labelledby': 'sec-new'}, h('h2', {id: 'sec-new'}, 'New report'), createForm(() => loadList())));
  runsBox.append(empty('Choose a report above to see its runs.'));

  async function loadList() {
    list.setAttribute('aria-busy', 'true');
    try {
      const res = await api.reports();
      if (!live()) return;
      showList(res.reports || []);
    } catch (e) {
      if (live()) clear(list).append(errorBox(e, 'Could not load reports:'));
    } finally {
      list.removeAttribute('aria-busy');
    }
  }

  function showList(reports) {
    clear(list);
    if (!reports.length) {
      list.append(empty('No report yet. Create one below.'));
      return;
    }
    list.append(scrollRegion('Report definitions', h('table', {class: 'reports'},
      h('caption', {class: 'sr-only'}, 'Report definitions'),
      h('thead', {}, h('tr', {}, ['Name', 'Range', 'Layout', 'Schedule', 'Next run', 'Last run', 'Actions'].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, reports.map((r) => h('tr', {'data-report-id': r.report_id},
        h('th', {scope: 'row'}, r.name),
        h('td', {'data-label': 'Range'}, `${rangeText(r.range)}, ${r.granularity}`),
        h('td', {'data-label': 'Layout'}, `${r.layout || 'rows'}, ${r.compression}`),
        h('td', {'data-label': 'Schedule'}, scheduleText(r.schedule)),
        h('td', {'data-label': 'Next run'}, formatTime(r.next_run_at)),
        h('td', {'data-label': 'Last run'}, r.last_run ? [statusBadge(r.last_run.status), ' ', formatTime(r.last_run.created_at)] : 'never'),
        h('td', {class: 'actions'},
          h('button', {type: 'button', class: 'run-now', onclick: () => runNow(r)}, 'Run now', h('span', {class: 'sr-only'}, ` ${r.name}`)),
          h('button', {type: 'button', class: 'show-runs', onclick: () => showRuns(r)}, 'Runs', h('span', {class: 'sr-only'}, ` of ${r.name}`)))))))));
  }

  async function runNow(r) {
    status.textContent = `Starting ${r.name}…`;
    try {
      await api.runReport(r.report_id);
      status.textContent = `${r.name}: run queued.`;
    } catch (e) {
      status.textContent = '';
      clear(runsBox).append(errorBox(e, `Could not run ${r.name}:`));
      return;
    }
    showRuns(r);
  }

  async function showRuns(r) {
    selected = r;
    clearTimeout(poll);
    clear(runsBox).append(loading(`Loading runs of ${r.name}…`));
    await refreshRuns(r, 0);
  }

  async function refreshRuns(r, tries) {
    let runs;
    try {
      runs = (await api.runs(r.report_id, 10)).runs || [];
    } catch (e) {
      if (live() && selected === r) clear(runsBox).append(errorBox(e, 'Could not load runs:'));
      return;
    }
    if (!live() || selected !== r) return;
    drawRuns(r, runs);
    if (runs.some((x) => !FINAL.has(x.status)) && tries < 300) {
      poll = setTimeout(() => refreshRuns(r, tries + 1), 1000);
    } else if (tries > 0) {
      if (runs.length) status.textContent = `${r.name}: the last run is ${runs[0].status.toLowerCase()}.`;
      loadList();
    }
  }

  function drawRuns(r, runs) {
    const downloadStatus = h('p', {class: 'status-line download-status', role: 'status', 'aria-live': 'polite'});
    clear(runsBox).append(h('h3', {}, `Runs of ${r.name}`));
    if (!runs.length) {
      runsBox.append(empty('No run yet. Use \u201cRun now\u201d.'));
      return;
    }
    runsBox.append(scrollRegion(`Runs of ${r.name}`, h('table', {class: 'runs'},
      h('caption', {class: 'sr-only'}, `Runs of ${r.name}, newest first`),
      h('thead', {}, h('tr', {}, ['Created', 'Status', 'Trigger', 'Data range', 'Rows', 'Size', 'File'].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, runs.map((x) => h('tr', {'data-run-id': x.run_id, 'data-status': x.status},
        h('th', {scope: 'row'}, formatTime(x.created_at)),
        h('td', {}, statusBadge(x.status), x.error ? h('div', {class: 'error-text'}, x.error) : null),
        h('td', {}, x.trigger),
        h('td', {}, x.range ? `${x.range.start_date} to ${x.range.end_date}` : '—'),
        h('td', {class: 'n'}, x.rows === null || x.rows === undefined ? '—' : formatCount(x.rows)),
        h('td', {class: 'n'}, x.size === null || x.size === undefined ? '—' : formatBytes(x.size)),
        h('td', {}, x.filename
          ? h('button', {type: 'button', class: 'download', 'data-filename': x.filename, onclick: () => download(x, downloadStatus)},
            'Download', h('span', {class: 'sr-only'}, ` ${x.filename}`))
          : '—')))))),
    downloadStatus);
  }

  async function download(run, line) {
    line.textContent = `Downloading ${run.filename}…`;
    try {
      const blob = await downloadReport(run.filename);
      saveBlob(blob, run.filename);
      line.textContent = `Downloaded ${run.filename} (${formatBytes(blob.size)}).`;
      line.dataset.downloaded = run.filename;
      line.dataset.size = String(blob.size);
    } catch (e) {
      line.textContent = `Could not download ${run.filename}: ${e.message}`;
    }
  }

  loadList();
}

// ---- the create form ----

function field(label, control, opts) {
  const o = opts || {};
  const errID = id('err');
  control.setAttribute('aria-describedby', [o.hintID, errID].filter(Boolean).join(' '));
  return h('div', {class: 'field form-field', 'data-field': o.field},
    h('label', {for: control.id}, label), control,
    o.hint ? h('p', {class: 'hint', id: o.hintID}, o.hint) : null,
    h('p', {class: 'field-error', id: errID}));
}

function group(legend, fieldName, controls, hint) {
  const errID = id('err');
  return h('fieldset', {class: 'form-field group', 'data-field': fieldName, 'aria-describedby': errID},
    h('legend', {}, legend), h('div', {class: 'checks'}, controls), hint ? h('p', {class: 'hint'}, hint) : null,
    h('p', {class: 'field-error', id: errID}));
}

function check(name, value, label, checked) {
  const cid = id(`c-${name}`);
  return h('span', {class: 'check'}, h('input', {type: 'checkbox', id: cid, name, value, checked: Boolean(checked)}),
    h('label', {for: cid}, label));
}

function select(name, options, selected) {
  return h('select', {id: id(`s-${name}`), name}, options.map(([v, t]) => h('option', {value: v, selected: v === selected}, t)));
}

function input(name, attrs) {
  return h('input', Object.assign({id: id(`i-${name}`), name}, attrs || {}));
}

function createForm(onCreated) {
  const name = input('name', {autocomplete: 'off', maxlength: '127'});
  const rangeKind = select('range_kind', [['last', 'The last N days'], ['fixed', 'Fixed dates']], 'last');
  const lastDays = input('last_days', {type: 'number', min: '1', max: '90', value: '7', inputmode: 'numeric'});
  const startDate = input('start_date', {type: 'date'});
  const endDate = input('end_date', {type: 'date'});
  const layout = select('layout', [['moengage', 'MoEngage export (wide)'], ['rows', 'Rows (one per node)']], 'moengage');
  const granularity = select('granularity', [['aggregate', 'Whole range'], ['daily', 'Daily']], 'aggregate');
  const metric = select('metric_type', [['TOTAL', 'Total events'], ['UNIQUE', 'Unique users']], 'TOTAL');
  const attribution = select('attribution_type', ATTRIBUTIONS.map((a) => [a, ATTRIBUTION_LABELS[a]]), 'VIEW_THROUGH');
  const compression = select('compression', [['zip', 'ZIP (one CSV per channel)'], ['gzip', 'GZIP (one CSV)']], 'zip');
  const separator = select('separator', [[',', 'Comma ,'], [';', 'Semicolon ;'], ['|', 'Pipe |'], [':', 'Colon :']], ',');
  const ids = h('textarea', {id: id('t-ids'), name: 'ids', rows: '2', spellcheck: 'false'});
  const includeChildren = check('include_children', 'true', 'Include executions of periodic campaigns', true);
  const scheduleType = select('schedule_type', [['', 'Manual runs only'], ['once', 'Once'], ['daily', 'Daily'], ['weekly', 'Weekly'], ['monthly', 'Monthly']], '');
  const at = input('at', {type: 'time', value: '06:00'});
  const onceDate = input('once_date', {type: 'date'});
  const dayOfMonth = input('day_of_month', {type: 'number', min: '1', max: '31', value: '1', inputmode: 'numeric'});
  const webhook = input('webhook_url', {type: 'url', autocomplete: 'off', placeholder: 'https://'});
  const splits = ['platform', 'locale', 'variation'].map((s) => check('split_by', s, s));
  const channels = CHANNELS.map((c) => check('channels', c, CHANNEL_LABELS[c]));
  const weekdays = WEEKDAYS.map((d) => check('weekdays', d, d, d === 'MON'));

  const lastField = field('Number of days', lastDays, {field: 'range.last_days', hint: '1 to 90 complete days before each run.', hintID: id('hint')});
  const startField = field('Start date', startDate, {field: 'range.start_date'});
  const endField = field('End date', endDate, {field: 'range.end_date'});
  const atField = field('Time (workspace timezone)', at, {field: 'schedule.at'});
  const dateField = field('Date', onceDate, {field: 'schedule.date'});
  const domField = field('Day of month', dayOfMonth, {field: 'schedule.day_of_month'});
  const weekdaysField = group('Weekdays', 'schedule.weekdays', weekdays);

  const syncVisibility = () => {
    const fixed = rangeKind.value === 'fixed';
    lastField.hidden = fixed;
    startField.hidden = !fixed;
    endField.hidden = !fixed;
    const t = scheduleType.value;
    atField.hidden = !t;
    dateField.hidden = t !== 'once';
    weekdaysField.hidden = t !== 'weekly';
    domField.hidden = t !== 'monthly';
  };
  rangeKind.addEventListener('change', syncVisibility);
  scheduleType.addEventListener('change', syncVisibility);
  syncVisibility();

  const formError = h('div', {class: 'form-error', 'aria-live': 'assertive'});
  const done = h('p', {class: 'status-line', role: 'status'});
  const submit = h('button', {type: 'submit', class: 'primary'}, 'Create report');

  const checked = (boxes) => boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);

  function definition() {
    const def = {name: name.value.trim(), layout: layout.value, granularity: granularity.value, metric_type: metric.value,
      attribution_type: attribution.value, compression: compression.value, separator: separator.value,
      split_by: checked(splits)};
    if (rangeKind.value === 'fixed') def.range = {start_date: startDate.value, end_date: endDate.value};
    else def.range = {last_days: lastDays.value === '' ? null : Number(lastDays.value)};
    const campaignIDs = ids.value.split(/[\s,]+/).filter(Boolean);
    const chans = checked(channels);
    const inc = includeChildren.querySelector('input').checked;
    if (campaignIDs.length || chans.length || !inc) def.campaigns = {ids: campaignIDs, channels: chans, include_children: inc};
    const t = scheduleType.value;
    if (t) {
      def.schedule = {type: t, at: at.value};
      if (t === 'once' && onceDate.value) def.schedule.date = onceDate.value;
      if (t === 'weekly') def.schedule.weekdays = checked(weekdays);
      if (t === 'monthly') def.schedule.day_of_month = dayOfMonth.value === '' ? null : Number(dayOfMonth.value);
    }
    if (webhook.value.trim()) def.webhook_url = webhook.value.trim();
    return def;
  }

  const form = h('form', {class: 'report-form', novalidate: true, 'aria-label': 'New report'},
    field('Name', name, {field: 'name', hint: 'Letters, digits, spaces, _ and -; starts with a letter. It names the files.', hintID: id('hint')}),
    h('div', {class: 'form-row'},
      field('Range', rangeKind, {field: 'range'}), lastField, startField, endField),
    h('div', {class: 'form-row'},
      field('Layout', layout, {field: 'layout'}), field('Granularity', granularity, {field: 'granularity'}),
      field('Metric type', metric, {field: 'metric_type'}), field('Attribution', attribution, {field: 'attribution_type'})),
    group('Split rows by', 'split_by', splits, 'The MoEngage layout always splits by platform and variation.'),
    h('fieldset', {class: 'form-field group', 'data-field': 'campaigns'}, h('legend', {}, 'Campaigns'),
      group('Channels (none = all)', 'campaigns.channels', channels),
      field('Campaign ids (optional; spaces, commas or new lines)', ids, {field: 'campaigns.ids'}),
      h('div', {class: 'form-field', 'data-field': 'campaigns.include_children'}, includeChildren, h('p', {class: 'field-error'})),
      h('p', {class: 'field-error'})),
    h('div', {class: 'form-row'},
      field('File', compression, {field: 'compression'}), field('CSV separator', separator, {field: 'separator'})),
    h('div', {class: 'form-row'},
      field('Schedule', scheduleType, {field: 'schedule.type'}), atField, dateField, domField),
    weekdaysField,
    field('Webhook URL (optional)', webhook, {field: 'webhook_url'}),
    formError, done, submit);

  function clearErrors() {
    for (const e of form.querySelectorAll('.field-error')) e.textContent = '';
    for (const e of form.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid');
    for (const e of form.querySelectorAll('.has-error')) e.classList.remove('has-error');
    clear(formError);
  }

  // showError puts the API's message next to the field it names (or its nearest enclosing field).
  function showError(err) {
    let f = err instanceof APIError ? err.field : '';
    if (f === 'schedule') f = 'schedule.type';
    let box = null;
    while (f && !box) {
      box = form.querySelector(`[data-field="${CSS.escape(f)}"]:not([hidden])`);
      if (!box) f = f.includes('.') ? f.slice(0, f.lastIndexOf('.')) : '';
    }
    if (!box) {
      formError.append(errorBox(err, 'Not created:'));
      return;
    }
    box.classList.add('has-error');
    const msg = box.querySelector(':scope > .field-error');
    msg.textContent = err.message;
    msg.setAttribute('role', 'alert');
    const control = box.querySelector('input, select, textarea');
    if (control) {
      control.setAttribute('aria-invalid', 'true');
      control.focus();
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors();
    done.textContent = '';
    submit.disabled = true;
    try {
      const rep = await api.createReport(definition());
      done.textContent = `Created \u201c${rep.name}\u201d.`;
      name.value = '';
      onCreated(rep);
    } catch (ex) {
      showError(ex);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
