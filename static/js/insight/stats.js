/**
 * The stats page: fetches /api/stats once and draws it — key numbers, the prequential accuracy of
 * each net, drawings per day and per digit, the confusion matrix and the online versions' canary.
 */
import { legend, lineChart, responsive, stackedBars } from './charts.js';
import { byTestId, count, el, MODEL_LABELS, percent, requestJson, say } from './util.js';

const root = byTestId('stats-page');
const { statsUrl, datasetUrl } = root.dataset;
const SOURCES = [
  { key: 'correction', label: 'corrections' },
  { key: 'confirmation', label: 'confirmations' },
  { key: 'collection', label: 'collected' },
  { key: 'number', label: 'digits of numbers' },
];
const NETS = ['fnn', 'cnn', 'fnn_online', 'cnn_online'];

function figures(list, entries) {
  list.replaceChildren(
    ...entries.flatMap(([term, value, id]) => [
      el('div', {}, [el('dt', { text: term }), el('dd', { text: value, 'data-testid': id })]),
    ]),
  );
}

function showTotals(totals) {
  figures(root.querySelector('[data-testid=totals] .figures'), [
    ['drawings', count(totals.samples), 'total-samples'],
    ['misread when drawn', count(totals.misread), 'total-misread'],
    ['people', count(totals.people), 'total-people'],
    ['in the public dataset', count(totals.consented), 'total-consented'],
    ['learned from', count(totals.by_status.learned), 'total-learned'],
    ['quarantined by the guard', count(totals.by_status.quarantined), 'total-quarantined'],
  ]);
}

/** Domain for accuracies: from a round value below the lowest point up to 100 %. */
function accuracyFloor(series) {
  const values = Object.values(series).flat().filter((v) => v !== null);
  const lowest = values.length ? Math.min(...values) : 0;
  return Math.max(0, Math.floor(lowest * 10) / 10 - (lowest > 0.95 ? 0 : 0.05));
}

function showPrequential(data) {
  byTestId('window').textContent = String(data.window);
  const names = [...NETS, 'shown'];
  const series = names.map((key) => ({
    key,
    label: MODEL_LABELS[key],
    points: data.index.map((x, i) => [x, data.series[key][i]]),
  }));
  const yMin = accuracyFloor(data.series);
  // the learning nets first, so the shipped nets' dashes stay visible where the lines coincide
  const drawOrder = ['fnn_online', 'cnn_online', 'fnn', 'cnn', 'shown'].map((key) => series.find((s) => s.key === key));
  responsive(byTestId('chart-prequential'), (width) =>
    lineChart(width, {
      series: drawOrder,
      yMin,
      yFormat: (v) => `${Math.round(v * 100)} %`,
      xLabel: 'drawings, oldest first',
      label: `Rolling accuracy over the last ${data.window} drawings: ${names
        .map((n) => `${MODEL_LABELS[n]} ${percent(data.recent[n])}`)
        .join(', ')}`,
    }),
  );
  byTestId('legend-prequential').replaceChildren(legend(series));
  root.querySelector('[data-testid=table-prequential] tbody').replaceChildren(
    ...names.map((key) =>
      el('tr', { 'data-model': key }, [
        el('th', { scope: 'row', text: MODEL_LABELS[key] }),
        el('td', { text: percent(data.overall[key]) }),
        el('td', { text: percent(data.recent[key]) }),
      ]),
    ),
  );
}

function showDays(days) {
  responsive(byTestId('chart-days'), (width) =>
    stackedBars(width, {
      categories: days.map((d) => d.date.slice(5)),
      stacks: SOURCES.map(({ key, label }) => ({ key, label, values: days.map((d) => d[key]) })),
      label: `Drawings per day over ${days.length} days`,
    }),
  );
  byTestId('legend-days').replaceChildren(legend(SOURCES));
}

function showDigits(digits) {
  const stacks = [
    { key: 'misread', label: 'misread', values: digits.map((d) => d.misread) },
    { key: 'read-right', label: 'read right', values: digits.map((d) => d.total - d.misread) },
  ];
  responsive(byTestId('chart-digits'), (width) =>
    stackedBars(width, {
      categories: digits.map((d) => String(d.digit)),
      stacks,
      maxLabels: 10,
      label: `Drawings per digit: ${digits.map((d) => `${d.digit}: ${d.total}`).join(', ')}`,
    }),
  );
  byTestId('legend-digits').replaceChildren(legend(stacks));
}

/** Cells shaded in six steps of their share of the row, as classes (no inline style under the CSP). */
function showConfusion({ rows, columns, matrix }) {
  const table = byTestId('confusion');
  const head = el('tr', {}, [el('th', { scope: 'col', text: 'drawn \\ shown' })]);
  for (const column of columns) head.append(el('th', { scope: 'col', text: column === null ? '–' : column }));
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(
    ...rows.map((label, r) => {
      const total = matrix[r].reduce((a, b) => a + b, 0);
      const row = el('tr', {}, [el('th', { scope: 'row', text: label })]);
      matrix[r].forEach((n, c) => {
        const heat = n === 0 ? 0 : Math.min(5, 1 + Math.floor((n / total) * 5));
        const link = n > 0 && columns[c] !== label;
        const cell = el('td', {
          class: `heat-${heat}${columns[c] === label ? ' diagonal' : ''}`,
          'data-count': n,
          title: `${n} drawing${n === 1 ? '' : 's'} of ${label} shown as ${columns[c] ?? 'nothing'}`,
        });
        // a misread cell links to those drawings in the dataset browser (public ones)
        cell.append(link ? el('a', { href: `${datasetUrl}?label=${label}&misread=true`, text: n }) : String(n));
        row.append(cell);
      });
      return row;
    }),
  );
}

function showVersions(versions) {
  const online = ['fnn_online', 'cnn_online'];
  const canary = versions.current_canary ?? {};
  const floor = versions.baseline.canary ?? {};
  figures(root.querySelector('[data-testid=versions] .figures'), [
    ['current version', String(versions.current), 'version-current'],
    ['versions made', String(versions.latest), 'version-latest'],
    ...online.map((name) => [
      `${MODEL_LABELS[name]}, canary`,
      canary[name] ? `${percent(canary[name].accuracy, 2)} (shipped ${percent(floor[name]?.accuracy, 2)})` : '–',
      `canary-${name}`,
    ]),
  ]);
  const chart = byTestId('chart-versions');
  const kept = versions.kept.filter((v) => v.canary && v.canary.fnn_online);
  if (kept.length === 0 || !floor.fnn_online) {
    chart.replaceChildren(el('p', { class: 'card__note', text: 'No learned versions kept yet.' }));
    return;
  }
  const points = (name) => [[versions.baseline.version, floor[name].accuracy],
    ...kept.map((v) => [v.version, v.canary[name].accuracy])];
  const series = online.map((key) => ({ key, label: `${MODEL_LABELS[key]} on the canary`, points: points(key) }));
  const values = series.flatMap((s) => s.points.map(([, y]) => y));
  responsive(chart, (width) =>
    lineChart(width, {
      series,
      height: 200,
      markers: true,
      yMin: Math.max(0, Math.floor((Math.min(...values) - 0.005) * 100) / 100),
      yMax: Math.min(1, Math.ceil((Math.max(...values) + 0.005) * 100) / 100),
      yFormat: (v) => `${(v * 100).toFixed(0)} %`,
      xLabel: 'version (0 = shipped)',
      label: 'Canary accuracy of each kept version',
    }),
  );
  byTestId('legend-versions').replaceChildren(legend(series));
}

async function main() {
  const status = byTestId('status');
  let data;
  try {
    data = await requestJson(statsUrl);
  } catch (error) {
    say(status, error.message, 'error');
    return;
  }
  showTotals(data.totals);
  showVersions(data.versions);
  if (data.totals.samples === 0) {
    say(status, 'No drawings yet: draw a digit on the main page and tell the nets what it is.', 'empty');
    return;
  }
  say(status, `Figures from ${count(data.totals.samples)} drawings, the latest at ${data.totals.last.slice(0, 16)
    .replace('T', ' ')} UTC.${data.learning ? '' : ' Online learning is switched off on this server.'}`, 'ready');
  showPrequential(data.prequential);
  showDays(data.per_day);
  showDigits(data.per_digit);
  showConfusion(data.confusion);
}

main();
