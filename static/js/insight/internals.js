/**
 * "How the nets see your digit": a small drawing pad (the main page's stroke model and pointer
 * handling, imported) whose every finished stroke asks /api/internals for the CNN's first-layer
 * filters and feature maps and the FNN's most active hidden units. `?sample=<id>` starts from a
 * stored drawing (its strokes, or its picture when none were stored).
 */
import { attachPad } from '../canvas.js';
import { Drawing, toPngDataUrl } from '../strokes.js';
import { byTestId, el, MODEL_LABELS, percent, requestJson, say } from './util.js';

const root = byTestId('internals-page');
const { internalsUrl, sampleUrl } = root.dataset;
const status = byTestId('status');
const drawing = new Drawing();
const pad = attachPad(byTestId('canvas'), drawing, { onStrokeEnd: () => explain(toPngDataUrl(drawing.strokes)) });
let latest = 0; // only the newest request's answer is shown

function showReading(body) {
  byTestId('reading').hidden = false;
  byTestId('preview').src = body.preview;
  const cnn = body.models.cnn_online.top3[0];
  const fnn = body.models.fnn_online.top3[0];
  byTestId('answer').textContent = body.answer === null ? 'not recognised' : String(body.answer);
  say(status, `${MODEL_LABELS.cnn_online}: ${cnn[0]} (${percent(cnn[1], 0)}); ${MODEL_LABELS.fnn_online}: ${fnn[0]} (${
    percent(fnn[1], 0)}).`, 'ready');
}

function showCnn({ filters, feature_maps: maps, feature_peaks: peaks }) {
  byTestId('feature-maps').replaceChildren(
    ...filters.map((filter, i) =>
      el('li', { class: 'maps__item', 'data-testid': 'feature-map' }, [
        el('img', { class: 'maps__filter', src: filter, width: 48, height: 48, alt: `Filter ${i + 1}` }),
        el('img', { class: 'maps__map', src: maps[i], width: 28, height: 28, alt: `Feature map ${i + 1}` }),
        el('span', { class: 'maps__caption', text: `#${i + 1} · peak ${peaks[i].toFixed(2)}` }),
      ]),
    ),
  );
}

function showFnn({ top_units: units, active_units: active, hidden_units: hidden }) {
  byTestId('active-units').textContent = `For this digit ${active} of ${hidden} units fire at all.`;
  byTestId('top-units').replaceChildren(
    ...units.map((unit) =>
      el('li', { class: 'units__item', 'data-testid': 'unit', 'data-unit': unit.unit }, [
        el('img', { class: 'units__weights', src: unit.weights_image, width: 56, height: 56,
          alt: `Input weights of hidden unit ${unit.unit}` }),
        el('span', { class: 'units__name', text: `unit ${unit.unit}` }),
        el('span', { class: 'units__value', text: `fires ${unit.activation.toFixed(2)}` }),
        el('span', { class: 'units__push', text: `→ pushes towards ${unit.pushes_towards}` }),
      ]),
    ),
  );
}

async function explain(image) {
  const mine = ++latest;
  say(status, 'Looking inside…', 'loading');
  root.setAttribute('aria-busy', 'true');
  let body;
  try {
    body = await requestJson(internalsUrl, { method: 'POST', body: { image } });
  } catch (error) {
    if (mine === latest) {
      say(status, error.message, 'error');
      root.removeAttribute('aria-busy');
    }
    return;
  }
  if (mine !== latest) return;
  root.removeAttribute('aria-busy');
  showReading(body);
  showCnn(body.cnn);
  showFnn(body.fnn);
  root.dataset.state = 'shown';
}

function reset(message) {
  latest += 1;
  byTestId('reading').hidden = true;
  byTestId('feature-maps').replaceChildren();
  byTestId('top-units').replaceChildren();
  byTestId('active-units').textContent = '';
  root.removeAttribute('aria-busy');
  root.dataset.state = 'empty';
  say(status, message, 'empty');
}

byTestId('undo').addEventListener('click', () => {
  if (!drawing.undo()) return;
  pad.render();
  if (drawing.isEmpty) reset('Draw a digit: the nets’ insides appear as soon as you lift the pen.');
  else explain(toPngDataUrl(drawing.strokes));
});
byTestId('clear').addEventListener('click', () => {
  drawing.clear();
  pad.render();
  reset('Draw a digit: the nets’ insides appear as soon as you lift the pen.');
});

/** Start from a stored drawing: replay its strokes into the pad, or send its picture as it is. */
async function loadSample(id) {
  say(status, 'Loading the stored drawing…', 'loading');
  let sample;
  try {
    sample = await requestJson(sampleUrl.replace('SAMPLE_ID', encodeURIComponent(id)), { admin: true });
  } catch (error) {
    say(status, error.message, 'error');
    return;
  }
  if (sample.strokes?.length) {
    for (const stroke of sample.strokes) {
      const [[x, y, t = 0], ...rest] = stroke;
      drawing.begin(x, y, t);
      for (const [px, py, pt = 0] of rest) drawing.extend(px, py, pt);
      drawing.end();
    }
    pad.render();
    explain(toPngDataUrl(drawing.strokes));
  } else {
    explain(sample.image);
  }
}

const requested = new URLSearchParams(window.location.search).get('sample');
root.dataset.state = 'empty';
if (requested) loadSample(requested);
