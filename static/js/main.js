/**
 * Wires the page: strokes in, predictions out. Each finished stroke (and Predict, and undo) sends
 * the whole drawing at once, with no debounce: pointer-up to answer is the latency people feel.
 */
import { predict } from './api.js';
import { attachPad } from './canvas.js';
import { bindShortcuts } from './keys.js';
import { ResultsView } from './results.js';
import { latestOnly } from './scheduler.js';
import { drawing, toPngDataUrl } from './strokes.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);
const results = new ResultsView(document.querySelector('.results'));

const predictions = latestOnly(
  (image) => predict(document.body.dataset.predictUrl, image),
  ({ seq, context }, outcome) => {
    if (outcome.ok) results.showPrediction(outcome.value);
    else results.showError(outcome.error.message);
    results.stamp(seq, outcome.ok ? performance.now() - context.startedAt : undefined);
  },
);

/** Ask for the current drawing's answer; `startedAt` is when the person acted (for the latency). */
function requestPrediction(startedAt) {
  if (drawing.isEmpty) {
    predictions.cancel();
    results.showEmpty();
    return;
  }
  results.showPending();
  predictions.submit(toPngDataUrl(drawing.strokes), { startedAt });
}

const pad = attachPad(byTestId('canvas'), drawing, { onStrokeEnd: requestPrediction });

function undo(startedAt) {
  if (!drawing.undo()) return;
  pad.render();
  requestPrediction(startedAt);
}

function clear() {
  drawing.clear();
  pad.render();
  predictions.cancel();
  results.showEmpty();
}

byTestId('undo').addEventListener('click', () => undo(performance.now()));
byTestId('clear').addEventListener('click', clear);
byTestId('predict').addEventListener('click', () => requestPrediction(performance.now()));
bindShortcuts({ undo, clear });
