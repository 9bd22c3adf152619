/**
 * Teaching from the main page: after an answer the person says Right or Wrong (and, if wrong, which
 * digit it was); the drawing that was answered goes to the API and the panel says what became of it.
 *
 * The panel's data-state is the test contract: idle (nothing to judge) → asking (Right / Wrong, or
 * the picker at once when nothing was recognised) → sending → saved, or error (and asking again).
 * A correction saved but not yet learned (`queued`) stays saved; its message changes once the nets learn.
 */

const QUESTIONS = {
  idle: 'Once the nets answer, tell them whether they were right.',
  recognised: 'Did the nets read it right?',
  unrecognised: 'Not recognised. Which digit did you draw?',
  not_a_digit: "That doesn't look like a digit. If it is one, which digit did you draw?",
  picking: 'Which digit did you draw?',
  saved: 'Thanks for teaching the nets.',
};

/** What happened to the drawing, in the person's words: where it is kept, and whether the nets changed. */
export function savedMessage({ stored, learned, status, reason, model_version: versions }) {
  const version = Math.max(...Object.values(versions ?? {}));
  const because = /[.!?]$/.test(reason) ? reason : `${reason}.`;
  // Queued: the learner has not decided yet, so there is no version and no reason to give.
  const queued = !learned && status === 'queued';
  if (stored === 'spooled') {
    const learning = learned
      ? `The learning nets updated (version ${version}).`
      : queued ? 'The learning nets will learn it in a moment.' : `The learning nets did not change: ${because}`;
    return `Saved on this server; it will reach storage soon. ${learning}`;
  }
  if (learned) return `Saved — thanks! The learning nets updated (version ${version}).`;
  return queued ? 'Saved — the learning nets will learn it in a moment.' : `Saved; the learning nets did not change: ${because}`;
}

export class TeachPanel {
  #offer = null; // the prediction being judged, and what was sent to get it
  #drawingNumber = 0; // advanced by reset(): a reply about an earlier drawing is not shown

  /**
   * `send({ label, predicted, sent })` posts the correction and resolves to the API's answer;
   * `onSaved(body)` shows its `after`. `sent` is what offer() was given along with the prediction.
   * `catchUp({ since, sent, wanted })`, for a correction the learner had not reached (`queued`),
   * waits for the nets to move past the versions `since`, shows their reading of `sent` and
   * resolves to their versions; or to null, having shown nothing, once `wanted()` is false.
   */
  constructor(root, { send, onSaved, catchUp }) {
    const find = (id) => root.querySelector(`[data-testid="${id}"]`);
    this.root = root;
    this.send = send;
    this.onSaved = onSaved;
    this.catchUp = catchUp;
    this.question = find('teach-question');
    this.right = find('right');
    this.wrong = find('wrong');
    this.choices = this.right.parentElement;
    this.labels = [...root.querySelectorAll('[data-label]')];
    this.picker = this.labels[0].parentElement;
    this.saved = find('saved');
    this.error = find('teach-error');

    this.right.addEventListener('click', () => this.#offer && this.#teach(this.#offer.prediction.answer));
    this.wrong.addEventListener('click', () => this.#showPicker(this.picker.hidden));
    this.picker.addEventListener('click', (event) => {
      const button = event.target.closest('[data-label]');
      if (button && !button.disabled) this.#teach(Number(button.dataset.label));
    });
  }

  /** Ask about `prediction`, the answer now on screen; `sent` ({image, strokes}) is what it answered. */
  offer(prediction, sent) {
    this.reset();
    this.#offer = { prediction, sent };
    const { recognized } = prediction;
    this.#busy(false);
    this.choices.hidden = !recognized;
    this.#showPicker(!recognized);
    this.#state('asking', recognized ? 'recognised' : prediction.reason === 'not_a_digit' ? 'not_a_digit' : 'unrecognised');
  }

  /** The drawing changed or was cleared: nothing to judge until the next answer. */
  reset() {
    this.#drawingNumber += 1;
    this.#offer = null;
    this.choices.hidden = true;
    this.#showPicker(false);
    this.#busy(false);
    this.saved.textContent = '';
    this.error.textContent = '';
    this.#state('idle', 'idle');
  }

  /** A digit key: picks that label while the picker is open. Returns whether the key was used. */
  pick(digit) {
    if (this.root.dataset.state !== 'asking' || this.picker.hidden || this.labels[digit].disabled) return false;
    this.#teach(digit);
    return true;
  }

  #showPicker(shown) {
    this.picker.hidden = !shown;
    this.wrong.setAttribute('aria-expanded', String(shown));
    if (this.#offer?.prediction.recognized) this.question.textContent = QUESTIONS[shown ? 'picking' : 'recognised'];
  }

  async #teach(label) {
    // The buttons are disabled while sending, but a click already queued must not send twice either.
    if (this.root.dataset.state !== 'asking') return;
    const { prediction, sent } = this.#offer;
    const drawingNumber = this.#drawingNumber;
    // Disabling the buttons drops their focus; note where it was, to give it back afterwards.
    const focused = this.root.contains(document.activeElement) ? document.activeElement : null;
    this.#busy(true);
    this.root.dataset.state = 'sending';
    this.saved.textContent = 'Saving…';
    this.error.textContent = '';
    let body;
    try {
      body = await this.send({ label, predicted: prediction.recognized ? prediction.answer : null, sent });
    } catch (error) {
      if (drawingNumber !== this.#drawingNumber) return;
      this.#busy(false);
      this.saved.textContent = '';
      this.error.textContent = error.message;
      this.root.dataset.state = 'asking'; // the same drawing can be sent again
      focused?.focus();
      return;
    }
    // Stored all the same; but the screen shows another drawing now, and `after` is not about it.
    if (drawingNumber !== this.#drawingNumber) return;
    this.#busy(false);
    this.choices.hidden = true;
    this.#showPicker(false);
    this.saved.textContent = savedMessage(body);
    this.#state('saved', 'saved');
    this.onSaved(body);
    if (body.status === 'queued') this.#awaitLearning(body, sent, drawingNumber);
    // The focused button is gone; keep keyboard users here rather than at the top of the page.
    if (focused && (document.activeElement === document.body || this.root.contains(document.activeElement))) {
      this.saved.focus();
    }
  }

  /** Queued: `after` was read by the nets as they were; once they have moved on, say so (catchUp re-reads). */
  async #awaitLearning(body, sent, drawingNumber) {
    const wanted = () => drawingNumber === this.#drawingNumber;
    // A failed re-read leaves the screen as it was, and the drawing is saved either way: nothing to report.
    const versions = await this.catchUp({ since: body.model_version, sent, wanted }).catch(() => null);
    if (versions && wanted()) this.saved.textContent = savedMessage({ ...body, learned: true, model_version: versions });
  }

  /** While sending, no button sends again (no double submit); otherwise all but the shown answer's digit. */
  #busy(busy) {
    const { recognized, answer } = this.#offer?.prediction ?? {};
    this.right.disabled = busy;
    this.wrong.disabled = busy;
    // Saying "wrong, it is the digit you said" makes no sense; Right is the button for that.
    for (const button of this.labels) button.disabled = busy || (recognized && Number(button.dataset.label) === answer);
    if (busy) this.root.setAttribute('aria-busy', 'true');
    else this.root.removeAttribute('aria-busy');
  }

  #state(state, question) {
    this.root.dataset.state = state;
    this.question.textContent = QUESTIONS[question];
  }
}
