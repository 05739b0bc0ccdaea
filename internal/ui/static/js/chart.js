// Daily bar charts drawn as SVG: one small chart per series, each on its own scale. Every bar carries its date and
// the exact API number (data-date, data-value), and a table of the same numbers is one click away.
import {h, svg} from './dom.js';
import {formatCount} from './format.js';

const W = 320;
const H = 120;
const PAD_TOP = 4;
const PAD_BOTTOM = 2;

// barChart draws one series: points = [{date, value}].
export function barChart(seriesKey, title, points) {
  const max = Math.max(0, ...points.map((p) => p.value));
  const total = points.reduce((s, p) => s + p.value, 0);
  const n = Math.max(1, points.length);
  const step = W / n;
  const bar = Math.max(1, step * 0.72);
  const plotH = H - PAD_TOP - PAD_BOTTOM;
  const titleID = `chart-${seriesKey.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const bars = points.map((p, i) => {
    const hgt = max > 0 ? (p.value / max) * plotH : 0;
    return svg('rect', {class: 'bar', x: (i * step + (step - bar) / 2).toFixed(2), y: (PAD_TOP + plotH - hgt).toFixed(2),
      width: bar.toFixed(2), height: Math.max(hgt, p.value > 0 ? 1 : 0).toFixed(2),
      'data-series': seriesKey, 'data-date': p.date, 'data-value': String(p.value)},
    svg('title', {}, `${p.date}: ${formatCount(p.value)}`));
  });
  const first = points.length ? points[0].date : '';
  const last = points.length ? points[points.length - 1].date : '';
  const figure = svg('svg', {class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': titleID,
    preserveAspectRatio: 'none', 'data-series': seriesKey},
  svg('line', {class: 'axis', x1: '0', x2: String(W), y1: String(PAD_TOP + plotH), y2: String(PAD_TOP + plotH)}),
  ...bars);
  return h('figure', {class: 'mini-chart', 'data-series': seriesKey, 'data-total': String(total)},
    h('figcaption', {id: titleID},
      h('span', {class: 'chart-title'}, title),
      h('span', {class: 'chart-total'}, `${formatCount(total)} in range`),
      h('span', {class: 'sr-only'}, ` from ${first} to ${last}, daily bars, highest day ${formatCount(max)}`)),
    figure,
    h('div', {class: 'chart-dates', 'aria-hidden': 'true'}, h('span', {}, first), h('span', {}, `peak ${formatCount(max)}`),
      h('span', {}, last)));
}

// dailyTable is the charts' data as a table.
export function dailyTable(caption, series, dates) {
  return h('table', {class: 'daily-table'},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Date'), series.map((s) => h('th', {scope: 'col'}, s.title)))),
    h('tbody', {}, dates.map((d, i) => h('tr', {}, h('th', {scope: 'row'}, d),
      series.map((s) => h('td', {class: 'n'}, formatCount(s.points[i].value)))))));
}
