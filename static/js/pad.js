/**
 * The drawing pad as both pages use it: the canvas, its Undo and Clear buttons, and their keys.
 * A page says what a change means to it (ask for a prediction, allow Save) through the callbacks.
 */
import { attachPad } from './canvas.js';
import { bindShortcuts } from './keys.js';
import { drawing } from './strokes.js';

/**
 * `onChange(startedAt)` follows each finished stroke and each undo, with the performance.now() of
 * the person's action; `onClear()` follows Clear. `keys` adds page-specific shortcuts (e.g. digit).
 */
export function setUpPad(root, { onChange, onClear, keys = {} }) {
  const find = (id) => root.querySelector(`[data-testid="${id}"]`);
  const pad = attachPad(find('canvas'), drawing, { onStrokeEnd: onChange });

  function undo(startedAt) {
    if (!drawing.undo()) return;
    pad.render();
    onChange(startedAt);
  }

  function clear() {
    drawing.clear();
    pad.render();
    onClear();
  }

  find('undo').addEventListener('click', () => undo(performance.now()));
  find('clear').addEventListener('click', clear);
  bindShortcuts({ ...keys, undo, clear });
  return { clear };
}
