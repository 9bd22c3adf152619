/**
 * Wires the number page: a wide pad whose drawing is read as a whole number while the person writes,
 * each digit's box drawn over the ink with its top three, and a field to say what the number really
 * is. Reading a number costs more than a digit and a writer lifts the pen between digits, so a change
 * waits READ_DELAY_MS for the next stroke before it is sent (and latestOnly drops stale answers).
 * Test contract: the status's data-state and data-seq, the overlay's data-boxes, the teach form's data-state.
 */
import { correct, readNumber } from './api.js';
import { bindConsent } from './consent.js';
import { showIfLearningIsOff } from './learning.js';
import { setUpPad } from './pad.js';
import { latestOnly } from './scheduler.js';
import { drawing, toApiStrokes, toPngDataUrl } from './strokes.js';

/** The image sent: 3:1 at the digit page's height (pendigits.CANVAS), as bench/read.py measures numbers. */
const EXPORT = { width: 840, height: 280 };
const READ_DELAY_MS = 300;
const NUMBER = /^[0-9]{1,12}$/;

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);
const { readUrl, readCorrectUrl, healthUrl } = document.body.dataset;
const status = byTestId('status');
const shownNumber = byTestId('number');
const confidence = byTestId('confidence');
const digitList = byTestId('digits');
const overlay = byTestId('overlay');
const form = byTestId('teach');
const field = byTestId('correction');
const send = byTestId('send');
const saved = byTestId('saved');
const teachError = byTestId('teach-error');
const consented = bindConsent(byTestId('consent'));

let shown = null; // the reading on screen and the drawing it was read from: {reading, sent}
let timer = 0;

function say(state, text, seq) {
  status.dataset.state = state;
  status.textContent = text;
  if (seq !== undefined) status.dataset.seq = String(seq);
}

const percent = (p) => `${Math.round(p * 100)} %`;

/** Each digit's box over the ink, with its top three above it, in the overlay's pixels. */
function paintBoxes() {
  const { width, height } = overlay.getBoundingClientRect();
  overlay.width = Math.round(width * window.devicePixelRatio);
  overlay.height = Math.round(height * window.devicePixelRatio);
  const context = overlay.getContext('2d');
  const digits = shown?.reading.digits ?? [];
  overlay.dataset.boxes = String(digits.length);
  const [sx, sy] = [overlay.width / EXPORT.width, overlay.height / EXPORT.height];
  context.strokeStyle = context.fillStyle = getComputedStyle(overlay).color;
  context.lineWidth = 2 * window.devicePixelRatio;
  context.font = `${Math.round(12 * window.devicePixelRatio)}px sans-serif`;
  context.textBaseline = 'bottom';
  for (const { box, top3 } of digits) {
    const [x0, y0, x1, y1] = box;
    context.strokeRect(x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy);
    const label = top3.map(([d, p]) => `${d} ${percent(p)}`).join(' · ');
    context.fillText(label, x0 * sx, Math.max(y0 * sy - 2, 12 * window.devicePixelRatio));
  }
}

function digitItem({ answer, confidence: sure, top3, preview, box }) {
  const item = document.createElement('li');
  item.className = 'digit';
  item.dataset.testid = 'digit';
  item.dataset.answer = answer === null ? '' : String(answer);
  item.dataset.box = box.join(',');
  const big = Object.assign(document.createElement('span'), { className: 'digit__answer', textContent: answer ?? '?' });
  const image = Object.assign(document.createElement('img'), {
    className: 'digit__preview', src: preview, width: 28, height: 28, alt: 'The 28 × 28 pixel image this digit was read from',
  });
  const guesses = Object.assign(document.createElement('p'), {
    className: 'digit__top3',
    textContent: `${top3.map(([d, p]) => `${d}: ${percent(p)}`).join(', ')} (sure: ${percent(sure)})`,
  });
  item.append(big, image, guesses);
  return item;
}

function showReading(reading, sent, seq) {
  shown = { reading, sent };
  shownNumber.textContent = reading.number ?? reading.digits.map((d) => d.answer ?? '?').join('');
  confidence.textContent = `Confidence ${percent(reading.confidence)}`;
  say(reading.recognized ? 'recognised' : 'unrecognised',
    reading.recognized ? `Read as ${reading.number}` : 'Not every digit is recognised — check the boxes', seq);
  digitList.replaceChildren(...reading.digits.map(digitItem));
  paintBoxes();
  field.disabled = send.disabled = false;
  if (form.dataset.state === 'idle') field.value = reading.number ?? ''; // never over what the person typed
}

function showEmpty() {
  shown = null;
  shownNumber.textContent = confidence.textContent = '';
  digitList.replaceChildren();
  paintBoxes();
  field.value = '';
  field.disabled = send.disabled = true;
  form.dataset.state = 'idle';
  saved.textContent = teachError.textContent = '';
  say('empty', 'Write a number');
}

const readings = latestOnly(
  ({ image, strokes }) => readNumber(readUrl, image, strokes),
  ({ seq, payload }, outcome) => {
    if (outcome.ok) showReading(outcome.value, payload, seq);
    else say('error', outcome.error.message, seq);
  },
);

/** Read the drawing once the writer pauses; a cleared pad is read as nothing at once. */
function requestReading() {
  clearTimeout(timer);
  form.dataset.state = 'idle';
  saved.textContent = teachError.textContent = '';
  if (drawing.isEmpty) {
    readings.cancel();
    showEmpty();
    return;
  }
  say('pending', 'Reading…');
  timer = setTimeout(() => {
    const strokes = drawing.strokes;
    readings.submit({ image: toPngDataUrl(strokes, EXPORT), strokes: toApiStrokes(strokes, EXPORT) });
  }, READ_DELAY_MS);
}

/** What the server did with a correction, in one sentence per outcome. */
function outcome(body) {
  if (!body.segmented) {
    return `Saved the whole drawing as ${body.number}: it was read as ${shown.reading.digits.length} digit(s), `
      + `not ${body.number.length}, so it is kept for training rather than cut up.`;
  }
  const each = body.digits.map((d) => `${d.label}: ${d.status.replace('_', ' ')}`).join(', ');
  return `Saved ${body.digits.length} digit${body.digits.length === 1 ? '' : 's'} (${each}).`;
}

async function teach(event) {
  event.preventDefault();
  const number = field.value.trim();
  if (!shown || form.dataset.state === 'saving') return;
  if (!NUMBER.test(number)) {
    teachError.textContent = 'Type the number as 1 to 12 digits, 0–9.';
    return;
  }
  const { sent } = shown;
  form.dataset.state = 'saving';
  teachError.textContent = '';
  saved.textContent = 'Saving…';
  try {
    const body = await correct(readCorrectUrl, { ...sent, number, consent: consented() });
    if (shown?.sent !== sent) return; // the drawing changed meanwhile: its answer belongs to the old one
    form.dataset.state = 'saved';
    saved.textContent = outcome(body);
    saved.dataset.segmented = String(body.segmented);
    showReading(body.after, sent);
    saved.focus();
  } catch (error) {
    form.dataset.state = 'error';
    saved.textContent = '';
    teachError.textContent = error.message;
  }
}

setUpPad(document, { onChange: requestReading, onClear: requestReading });
field.addEventListener('input', () => {
  form.dataset.state = 'editing';
});
form.addEventListener('submit', teach);
new ResizeObserver(paintBoxes).observe(overlay);
showIfLearningIsOff(byTestId('learning-off'), healthUrl);
showEmpty();
