/** Keyboard shortcuts: Ctrl/Cmd+Z or Backspace undoes the last stroke, Escape or Delete clears. */

function isTyping(target) {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

function actionFor(event) {
  const command = event.ctrlKey || event.metaKey;
  if (command && !event.shiftKey && !event.altKey && event.key.toLowerCase() === 'z') return 'undo';
  if (command || event.altKey) return null;
  if (event.key === 'Backspace') return 'undo';
  if (event.key === 'Escape' || event.key === 'Delete') return 'clear';
  return null;
}

/** `handlers` maps 'undo' and 'clear' to functions called with the key press's performance.now(). */
export function bindShortcuts(handlers) {
  document.addEventListener('keydown', (event) => {
    const action = event.defaultPrevented || isTyping(event.target) ? null : actionFor(event);
    if (!action) return;
    event.preventDefault();
    handlers[action](performance.now());
  });
}
