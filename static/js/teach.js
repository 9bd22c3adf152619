/**
 * Teaching from the main page: after an answer the person says Right or Wrong (and, if wrong, which
 * digit it was); the drawing that was answered goes to the API and the panel says what became of it.
 *
 * The panel's data-state is the test contract: idle (nothing to judge) → asking (Right / Wrong, or
 * the picker at once when nothing was recognised) → sending → saved, or error (and asking again).
 */

const QUESTIONS = {
  idle: 'Once the nets answer, tell them whether they were right.',
  recognised: 'Did the nets read it right?',
  unrecognised: 'Not recognised. Which digit did you draw?',
  picking: 'Which digit did you draw?',
  saved: 'Thanks for teaching the nets.',
};

/** What happened to the drawing, in the person's words: where it is kept, and whether the nets changed. */
export function savedMessage({ stored, learned, reason, model_version: versions }) {
  const version = Math.max(...Object.values(versions ?? {}));
  const because = /[.!?]$/.test(reason) ? reason : `${reason}.`;
  if (stored === 'spooled') {
    const learning = learned ? `The learning nets updated (version ${version}).` : `The learning nets did not change: ${because}`;
    return `Saved on this server; it will reach storage soon. ${learning}`;
  }
  return learned ? `Saved — thanks! The learning nets updated (version ${version}).` : `Saved; the learning nets did not change: ${because}`;
}

export class TeachPanel {
  #offer = null; // the prediction being judged, and what was sent to get it
  #drawingNumber = 0; // advanced by reset(): a reply about an earlier drawing is not shown

  /**
   * `send({ label, predicted, sent })` posts the correction and resolves to the API's answer;
   * `onSaved(body)` shows its `after`. `sent` is what offer() was given along with the prediction.
   */
  constructor(root, { send, onSaved }) {
    const find = (id) => root.querySelector(`[data-testid="${id}"]`);
    this.root = root;
    this.send = send;
    this.onSaved = onSaved;
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
    this.#state('asking', recognized ? 'recognised' : 'unrecognised');
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
    // The focused button is gone; keep keyboard users here rather than at the top of the page.
    if (focused && (document.activeElement === document.body || this.root.contains(document.activeElement))) {
      this.saved.focus();
    }
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
