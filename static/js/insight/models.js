/**
 * The models page: both architectures as boxes (one per layer, with output shape and parameters),
 * the model card's accuracies and training, and the training curves drawn from models/card.json.
 */
import { legend, lineChart, responsive } from './charts.js';
import { byTestId, count, el, percent, requestJson, say } from './util.js';

const root = byTestId('models-page');
const NET_LABELS = { fnn: 'feed-forward', cnn: 'convolutional' };
const DATA_LABELS = {
  mnist_test: () => 'MNIST test set (10,000 scanned digits)',
  pendigits_held_out_writers: (card) =>
    `Drawings by ${card.data.pendigits_held_out_writers ?? 'the'} writers never seen in training`,
};

function shape(output) {
  return output.map(count).join(' × ');
}

function diagram(net) {
  const layers = net.layers.map((layer) =>
    el('li', {
      class: `arch__layer arch__layer--${layer.kind.toLowerCase()}${layer.learns_online ? ' arch__layer--online' : ''}`,
      'data-kind': layer.kind,
    }, [
      el('span', { class: 'arch__kind', text: layer.kind }),
      el('span', { class: 'arch__detail', text: layer.detail }),
      el('span', { class: 'arch__shape', text: shape(layer.output) }),
      el('span', { class: 'arch__params', text: layer.parameters ? `${count(layer.parameters)} parameters` : 'no parameters' }),
    ]),
  );
  return el('section', { class: 'card', 'data-testid': `net-${net.name}`, 'aria-labelledby': `net-${net.name}-title` }, [
    el('h2', { id: `net-${net.name}-title`, text: net.title }),
    el('p', { class: 'arch__total' }, [
      el('strong', { 'data-testid': `params-${net.name}`, text: count(net.parameters) }),
      ' parameters; ',
      el('span', { class: 'arch__online-key', text: 'highlighted' }),
      ' layers learn from corrections.',
    ]),
    el('ol', { class: 'arch', 'aria-label': `${net.title}, layer by layer` }, layers),
  ]);
}

function showCard(card) {
  const rows = Object.entries(DATA_LABELS)
    .filter(([key]) => card.accuracy[key])
    .map(([key, label]) => {
      const figures = card.accuracy[key];
      return el('tr', { 'data-data': key }, [
        el('th', { scope: 'row', text: label(card) }),
        el('td', { text: percent(figures.fnn, 2) }),
        el('td', { text: percent(figures.cnn, 2) }),
        el('td', { text: percent(figures.ensemble, 2) }),
        el('td', { text: figures.with_strokes === undefined ? '—' : percent(figures.with_strokes, 2) }),
      ]);
    });
  byTestId('card-accuracy').tBodies[0].replaceChildren(...rows);

  const training = [
    ['command', card.command],
    ['seed', String(card.seed)],
    ...Object.entries(card.epochs).map(([net, n]) => [`${NET_LABELS[net] ?? net} epochs`, String(n)]),
    ...Object.entries(card.training_seconds).map(([net, s]) => [`${NET_LABELS[net] ?? net} training time`,
      `${Math.round(s)} s on 2 CPU cores`]),
    ['training images', card.data.mnist_train_images
      ? `${count(card.data.mnist_train_images)} MNIST + ${count(card.data.pendigits_train_images ?? 0)} drawn`
      : '–'],
    ['trained', card.created ? card.created.slice(0, 10) : '–'],
  ];
  byTestId('card-training').replaceChildren(
    ...training.map(([term, value]) => el('div', {}, [el('dt', { text: term }), el('dd', { text: value })])),
  );

  const curves = card.curves ?? {};
  const nets = Object.keys(curves).filter((net) => curves[net].val_accuracy?.length && curves[net].loss?.length);
  if (nets.length === 0) return;
  const series = (metric) => nets.map((net) => ({
    key: net,
    label: NET_LABELS[net] ?? net,
    points: curves[net][metric].map((value, i) => [i + 1, value]),
  }));
  const accuracy = series('val_accuracy');
  const lowest = Math.min(...accuracy.flatMap((s) => s.points.map(([, y]) => y)));
  responsive(byTestId('chart-val-accuracy'), (width) => lineChart(width, {
    series: accuracy,
    height: 220,
    yMin: Math.floor(lowest * 100) / 100,
    yMax: 1,
    yFormat: (v) => `${(v * 100).toFixed(0)} %`,
    xLabel: 'epoch',
    label: `Validation accuracy per epoch: ${accuracy.map((s) => `${s.label} ends at ${percent(s.points.at(-1)[1], 2)}`)
      .join(', ')}`,
  }));
  const loss = series('loss');
  const highest = Math.max(...loss.flatMap((s) => s.points.map(([, y]) => y)));
  responsive(byTestId('chart-loss'), (width) => lineChart(width, {
    series: loss,
    height: 220,
    yMin: 0,
    yMax: Math.ceil(highest * 10) / 10,
    yFormat: (v) => v.toFixed(1),
    xLabel: 'epoch',
    label: 'Training loss per epoch',
  }));
  byTestId('legend-curves').replaceChildren(legend(accuracy));
}

async function main() {
  const status = byTestId('status');
  let body;
  try {
    body = await requestJson(root.dataset.architectureUrl);
  } catch (error) {
    say(status, error.message, 'error');
    return;
  }
  byTestId('nets').replaceChildren(...body.nets.map(diagram));
  say(status, body.nets.map((net) => `${net.title}: ${count(net.parameters)} parameters`).join('. ') + '.', 'ready');
  if (Object.keys(body.card.accuracy ?? {}).length > 0) showCard(body.card);
}

main();
