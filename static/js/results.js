/**
 * The result panel: answer, confidence, each model's top 3, the model's-eye preview and the status
 * line. The status element's data-* attributes are the page's test contract: `state`, and `seq` /
 * `latencyMs` of the request whose outcome is on screen. After a correction the same panel shows
 * the updated nets' reading, and the blocks whose nets changed carry the class `updated`.
 * A block hidden in the markup (the person's own layer) shows only while the answer on screen has it.
 */

const percent = new Intl.NumberFormat(document.documentElement.lang || 'en', {
  style: 'percent',
  maximumFractionDigits: 0,
});

function element(tag, className, text = '') {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

function barItem([digit, probability]) {
  const track = element('span', 'bar__track');
  track.setAttribute('aria-hidden', 'true');
  const fill = element('span', 'bar__fill');
  fill.style.width = `${(probability * 100).toFixed(1)}%`;
  track.append(fill);
  const item = element('li', 'bar');
  item.append(element('span', 'bar__digit', String(digit)), track, element('span', 'bar__value', percent.format(probability)));
  return item;
}

export class ResultsView {
  constructor(root) {
    const find = (id) => root.querySelector(`[data-testid="${id}"]`);
    this.root = root;
    this.answer = find('answer');
    this.confidence = find('confidence');
    this.status = find('status');
    this.preview = find('preview');
    this.blocks = [...root.querySelectorAll('[data-model]')].map((block) => ({
      name: block.dataset.model,
      block,
      bars: block.querySelector('ol'),
      version: block.querySelector('.model__version'),
      optional: block.hidden,
    }));
    this.shown = null; // the prediction on screen, to tell what a correction changed
  }

  showEmpty() {
    this.#clear();
    this.#say('empty', 'Draw a digit');
    delete this.status.dataset.seq;
    delete this.status.dataset.latencyMs;
  }

  /** Marks the panel busy; CSS fades the old answer only if the wait becomes noticeable. */
  showPending() {
    this.root.setAttribute('aria-busy', 'true');
  }

  showPrediction(body) {
    const { recognized, answer, confidence } = body;
    this.answer.textContent = recognized ? String(answer) : '?';
    // Say so when the person's own layer had a say: that is their corrections at work.
    const adapted = body.answered_by === 'personal' ? ' · adapted to your handwriting' : '';
    this.confidence.textContent = recognized ? `${percent.format(confidence)} sure${adapted}` : '';
    for (const { name, block, bars, version, optional } of this.blocks) {
      block.classList.remove('updated');
      if (optional) block.hidden = !body.models[name];
      bars.replaceChildren(...(body.models[name]?.top3 ?? []).map(barItem));
      // Only the learning nets have versions; the shipped ones never change.
      const number = body.model_version?.[name];
      if (version) version.textContent = number === undefined ? '' : `v${number}`;
    }
    this.shown = body;
    this.preview.src = body.preview;
    this.preview.hidden = false;
    if (recognized) this.#say('recognised', `Recognised: ${answer}`);
    else if (body.reason === 'not_a_digit') this.#say('not-a-digit', "That doesn't look like a digit");
    else this.#say('unrecognised', 'Not recognised — try again');
  }

  /**
   * Show the same drawing read again after a correction, marking each block whose net now reads
   * it differently or moved to another version. Returns the names of the marked blocks.
   */
  showRevision(body) {
    const before = this.shown;
    this.showPrediction(body);
    const changed = this.blocks.filter(({ name }) => {
      const same = (read) => JSON.stringify([read?.models[name]?.top3, read?.model_version?.[name]]);
      return same(before) !== same(body);
    });
    for (const { block } of changed) block.classList.add('updated');
    return changed.map(({ name }) => name);
  }

  showError(message) {
    this.#clear();
    this.#say('error', message);
  }

  /** Record which request's outcome is shown, last, so a test that sees `seq` sees everything else. */
  stamp(seq, latencyMs) {
    if (latencyMs === undefined) delete this.status.dataset.latencyMs;
    else this.status.dataset.latencyMs = latencyMs.toFixed(1);
    this.status.dataset.seq = String(seq);
  }

  #say(state, message) {
    this.root.removeAttribute('aria-busy');
    this.status.dataset.state = state;
    this.status.textContent = message;
  }

  #clear() {
    this.answer.textContent = '';
    this.confidence.textContent = '';
    for (const { block, bars, version, optional } of this.blocks) {
      block.classList.remove('updated');
      if (optional) block.hidden = true;
      bars.replaceChildren();
      if (version) version.textContent = '';
    }
    this.shown = null;
    this.preview.hidden = true;
    this.preview.removeAttribute('src');
  }
}
