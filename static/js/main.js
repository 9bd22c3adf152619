/**
 * Wires the main page: strokes in, predictions out, corrections back. Each finished stroke (and
 * Predict, and undo) sends the whole drawing at once, with no debounce: pointer-up to answer is the
 * latency people feel. Once an answer is on screen the person can teach the nets about it.
 */
import { correct, predict } from './api.js';
import { bindConsent } from './consent.js';
import { newerVersions, showIfLearningIsOff } from './learning.js';
import { setUpPad } from './pad.js';
import { ResultsView } from './results.js';
import { latestOnly } from './scheduler.js';
import { drawing, toApiStrokes, toPngDataUrl } from './strokes.js';
import { TeachPanel } from './teach.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);
const { predictUrl, correctUrl, healthUrl } = document.body.dataset;
const results = new ResultsView(document.querySelector('.results'));
const consented = bindConsent(byTestId('consent'));

// A correction sends exactly the drawing that was answered (`sent`), not whatever is on the pad by then.
const teach = new TeachPanel(byTestId('teach'), {
  send: ({ label, predicted, sent }) =>
    correct(correctUrl, { image: sent.image, label, predicted, strokes: toApiStrokes(sent.strokes), consent: consented() }),
  onSaved: (body) => results.showRevision(body.after),
  catchUp,
});

/**
 * A queued correction is learned after its answer: once health says the nets moved on, read the same
 * drawing again so the online blocks show them. Nothing is shown once `wanted()` is false (the page moved on).
 */
async function catchUp({ since, sent, wanted }) {
  const versions = await newerVersions(healthUrl, since, { wanted });
  if (!versions) return null;
  const after = await predict(predictUrl, sent.image, toApiStrokes(sent.strokes));
  if (!wanted()) return null;
  results.showRevision(after);
  return after.model_version;
}

const predictions = latestOnly(
  ({ image, strokes }) => predict(predictUrl, image, strokes),
  ({ seq, payload, context }, outcome) => {
    if (outcome.ok) {
      results.showPrediction(outcome.value);
      teach.offer(outcome.value, { image: payload.image, strokes: context.strokes });
    } else {
      results.showError(outcome.error.message);
    }
    results.stamp(seq, outcome.ok ? performance.now() - context.startedAt : undefined);
  },
);

/** Ask for the current drawing's answer; `startedAt` is when the person acted (for the latency). */
function requestPrediction(startedAt) {
  teach.reset(); // a new drawing (or a new reading of it) must be answered before it can be judged
  if (drawing.isEmpty) {
    predictions.cancel();
    results.showEmpty();
    return;
  }
  results.showPending();
  const strokes = drawing.strokes;
  predictions.submit({ image: toPngDataUrl(strokes), strokes: toApiStrokes(strokes) }, { startedAt, strokes });
}

setUpPad(document, {
  onChange: requestPrediction,
  onClear() {
    predictions.cancel();
    results.showEmpty();
    teach.reset();
  },
  keys: { digit: (_, key) => teach.pick(Number(key)) },
});
byTestId('predict').addEventListener('click', () => requestPrediction(performance.now()));
showIfLearningIsOff(byTestId('learning-off'), healthUrl);
