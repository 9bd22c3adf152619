/**
 * One drawing: the stored picture, the 28×28 the nets read, its metadata, each net's answer at the
 * time, and its strokes replayed at the pace they were drawn. An admin can delete it.
 */
import { renderStrokes } from '../strokes.js';
import { bindAdmin } from './admin.js';
import { adminToken, byTestId, el, MODEL_LABELS, percent, requestJson, say, when } from './util.js';

const root = byTestId('sample-page');
const { sampleUrl, datasetUrl } = root.dataset;
const status = byTestId('status');
const MAX_PAUSE_MS = 400; // pen-up pauses longer than this are shortened: nobody wants to watch hesitation
const UNTIMED_STEP_MS = 12; // points stored without a time are replayed at a steady pace

/** Stored strokes ([[x, y, t?], …] per stroke) as timed points with long pauses shortened. */
export function timeline(strokes) {
  let shift = 0;
  let lastT = null;
  let counter = 0;
  return strokes.map((stroke) =>
    stroke.map(([x, y, t], i) => {
      let time = Number.isFinite(t) ? t : counter * UNTIMED_STEP_MS;
      counter += 1;
      if (i === 0 && lastT !== null && time - shift - lastT > MAX_PAUSE_MS) shift += time - shift - lastT - MAX_PAUSE_MS;
      time = Math.max(lastT ?? 0, time - shift);
      lastT = time;
      return { x, y, t: time };
    }),
  );
}

function setUpReplay(strokes) {
  const canvas = byTestId('replay');
  const note = byTestId('replay-note');
  const button = byTestId('replay-button');
  const context = canvas.getContext('2d');
  if (!strokes || strokes.length === 0) {
    button.hidden = true;
    note.textContent = 'No pen trajectory was stored with this drawing.';
    canvas.dataset.state = 'none';
    return;
  }
  const timed = timeline(strokes);
  const duration = timed.at(-1).at(-1).t;
  let frame = 0;
  let shown = timed;

  function paint(visible) {
    shown = visible;
    context.clearRect(0, 0, canvas.width, canvas.height);
    renderStrokes(context, visible, canvas.width, canvas.height, getComputedStyle(canvas).color);
  }

  function fit() {
    const side = Math.round(canvas.getBoundingClientRect().width * window.devicePixelRatio);
    if (side > 0 && canvas.width !== side) {
      canvas.width = side;
      canvas.height = side;
    }
    paint(shown);
  }

  function play() {
    cancelAnimationFrame(frame);
    canvas.dataset.state = 'playing';
    const start = performance.now();
    const step = (now) => {
      const elapsed = now - start;
      paint(timed.map((stroke) => stroke.filter((p) => p.t <= elapsed)).filter((stroke) => stroke.length > 0));
      if (elapsed < duration) {
        frame = requestAnimationFrame(step);
      } else {
        paint(timed);
        canvas.dataset.state = 'done';
      }
    };
    frame = requestAnimationFrame(step);
  }

  const points = strokes.reduce((n, s) => n + s.length, 0);
  note.textContent = `${strokes.length} stroke${strokes.length === 1 ? '' : 's'}, ${points} points, ${(duration / 1000)
    .toFixed(1)} s`;
  button.addEventListener('click', play);
  new ResizeObserver(fit).observe(canvas);
  fit();
  if (matchMedia('(prefers-reduced-motion: reduce)').matches) {
    canvas.dataset.state = 'done';
  } else {
    play();
  }
}

function showMeta(sample) {
  const answer = (value) => (value === null || value === undefined ? 'not recognised' : String(value));
  const versions = sample.model_version ? Object.values(sample.model_version) : [];
  const entries = [
    ['label', String(sample.label), 'meta-label'],
    ['answer shown', sample.source === 'collection' ? 'none (collection mode)' : answer(sample.predicted), 'meta-shown'],
    ['learning pair’s answer', answer(sample.answer), 'meta-answer'],
    ['source', sample.source, 'meta-source'],
    ['drawn', when(sample.created), 'meta-created'],
    ['learning', sample.status === 'learned' ? `learned → version ${sample.learned_version}` : sample.reason ?? sample.status,
      'meta-status'],
    ['learning nets were at', versions.length ? `version ${Math.max(...versions)}` : '–', 'meta-version'],
    ['in the public dataset', sample.consent ? 'yes' : 'no (shown to the admin only)', 'meta-consent'],
    ['canvas', sample.canvas ? `${sample.canvas.width} × ${sample.canvas.height} px` : '–', 'meta-canvas'],
    ['id', sample.id, 'meta-id'],
  ];
  byTestId('meta').replaceChildren(
    ...entries.map(([term, value, id]) => el('div', {}, [el('dt', { text: term }), el('dd', { text: value, 'data-testid': id })])),
  );
  const rows = Object.keys(MODEL_LABELS)
    .filter((name) => sample.models?.[name])
    .map((name) =>
      el('tr', { 'data-model': name }, [
        el('th', { scope: 'row', text: MODEL_LABELS[name] }),
        ...sample.models[name].top3.map(([digit, p]) =>
          el('td', { class: digit === sample.label ? 'is-label' : undefined, text: `${digit} · ${percent(p, 0)}` })),
      ]),
    );
  byTestId('readings').tBodies[0].replaceChildren(...rows);
}

function bindDelete(sample) {
  const start = byTestId('delete');
  const confirm = byTestId('delete-confirm');
  const cancel = byTestId('delete-cancel');
  const result = byTestId('delete-result');
  const asking = (yes) => {
    start.hidden = yes;
    confirm.hidden = !yes;
    cancel.hidden = !yes;
  };
  start.addEventListener('click', () => {
    if (!adminToken.get()) {
      result.textContent = 'Set the admin token above first.';
      return;
    }
    asking(true);
    confirm.focus();
  });
  cancel.addEventListener('click', () => asking(false));
  confirm.addEventListener('click', async () => {
    confirm.disabled = true;
    try {
      await requestJson(sampleUrl, { method: 'DELETE', admin: true });
    } catch (error) {
      result.textContent = error.message;
      confirm.disabled = false;
      return;
    }
    asking(false);
    start.hidden = true;
    byTestId('sample').hidden = true;
    result.textContent = `Drawing ${sample.id} was deleted.`;
    result.append(' ', el('a', { href: datasetUrl, text: 'Back to the dataset' }));
    say(status, 'This drawing was deleted.', 'deleted');
  });
}

async function main() {
  let sample;
  try {
    sample = await requestJson(sampleUrl, { admin: true });
  } catch (error) {
    say(status, error.status === 404
      ? 'This drawing is not public (its author did not share it), or it no longer exists.'
      : error.message, 'error');
    return;
  }
  byTestId('drawing').src = sample.image;
  if (sample.preview) byTestId('preview').src = sample.preview;
  const read = sample.shown === null ? 'not recognised' : `read as ${sample.shown}`;
  say(status, `A ${sample.label}, ${sample.misread ? `misread: ${read}` : 'read right'}.`, 'ready');
  byTestId('sample').hidden = false;
  showMeta(sample);
  setUpReplay(sample.strokes);
  bindDelete(sample);
}

// A drawing that is not public is served exactly as a missing one; with an admin token the script asks anyway.
if (sampleUrl) bindAdmin(() => window.location.reload());
if (sampleUrl && (!root.hasAttribute('data-missing') || adminToken.get())) main();
