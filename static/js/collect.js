/**
 * Wires the collection page: it asks for one digit at a time (deck.js), the person draws it, Save
 * stores it labelled with the digit asked for, Skip moves on; the tally shows what is collected.
 * Data contract for tests: the prompt's data-digit, and the message's data-state (idle, saving, saved, error).
 */
import { correct, counts as fetchCounts } from './api.js';
import { bindConsent } from './consent.js';
import { Deck } from './deck.js';
import { setUpPad } from './pad.js';
import { drawing, toApiStrokes, toPngDataUrl } from './strokes.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);
const { correctUrl, countsUrl } = document.body.dataset;
const prompt = byTestId('prompt');
const save = byTestId('save');
const skip = byTestId('skip');
const message = byTestId('message');
const canvas = byTestId('canvas');
const tally = new Map([...document.querySelectorAll('.tally__item')].map((item) => [Number(item.dataset.digit), item]));
const consented = bindConsent(byTestId('consent'));
const deck = new Deck();
let counts = null;
let asked = null;
let saving = false;

function say(state, text) {
  message.dataset.state = state;
  message.textContent = text;
}

function showCounts() {
  for (const [digit, item] of tally) {
    item.querySelector('.tally__count').textContent = counts ? String(counts[digit] ?? 0) : '–';
  }
}

/**
 * Fetch the counts; on failure keep the last ones (the prompt order only loses its balance) and
 * return a sentence saying so, to add to whatever the page is saying.
 */
async function refreshCounts() {
  try {
    counts = await fetchCounts(countsUrl);
    return '';
  } catch (error) {
    return ` The tally could not be updated: ${error.message}`;
  } finally {
    showCounts();
  }
}

function ask(digit) {
  asked = digit;
  prompt.dataset.digit = String(digit);
  const article = digit === 8 ? 'an' : 'a';
  prompt.replaceChildren(`Please draw ${article} `, Object.assign(document.createElement('strong'), { textContent: digit }));
  for (const [each, item] of tally) {
    if (each === digit) item.setAttribute('aria-current', 'true');
    else item.removeAttribute('aria-current');
  }
}

function next() {
  pad.clear();
  ask(deck.next(counts));
}

// Save needs ink and a digit to label it with; neither button acts while a save is on its way.
function updateButtons() {
  save.disabled = saving || asked === null || drawing.isEmpty;
  skip.disabled = saving || asked === null;
}

async function saveDrawing() {
  if (save.disabled) return;
  const strokes = drawing.strokes;
  const label = asked;
  saving = true;
  // The pad holds still while saving: strokes drawn now would vanish with the saved drawing.
  canvas.inert = true;
  updateButtons();
  say('saving', 'Saving…');
  try {
    const body = await correct(correctUrl, {
      image: toPngDataUrl(strokes),
      label,
      predicted: null,
      source: 'collection',
      strokes: toApiStrokes(strokes),
      consent: consented(),
    });
    const saved = body.stored === 'spooled'
      ? `Saved your ${label} on this server; it will reach storage soon.`
      : `Saved your ${label} — thanks!`;
    const tallyProblem = await refreshCounts();
    say(tallyProblem ? 'error' : 'saved', saved + tallyProblem);
    next();
  } catch (error) {
    say('error', error.message); // the drawing stays, so Save can be pressed again
  } finally {
    saving = false;
    canvas.inert = false;
    updateButtons();
  }
}

const pad = setUpPad(document, {
  onChange: () => {
    if (message.dataset.state !== 'saving') say('idle', '');
    updateButtons();
  },
  onClear: updateButtons,
});

save.addEventListener('click', saveDrawing);
skip.addEventListener('click', () => {
  if (skip.disabled) return;
  say('idle', '');
  next();
});

updateButtons();
const tallyProblem = await refreshCounts();
if (tallyProblem) say('error', tallyProblem.trim());
next();
updateButtons();
