/**
 * Keyboard shortcuts: Ctrl/Cmd+Z or Backspace undoes the last stroke, Escape or Delete clears, and
 * a digit key goes to the page's `digit` handler (the main page's label picker) where it has one.
 */

// Keys typed into a text field are text; a checkbox takes no text, so shortcuts still work there.
function isTyping(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target instanceof HTMLInputElement) return !/^(checkbox|radio|button|submit|reset)$/.test(target.type);
  return target.isContentEditable || /^(TEXTAREA|SELECT)$/.test(target.tagName);
}

function actionFor(event) {
  const command = event.ctrlKey || event.metaKey;
  if (command && !event.shiftKey && !event.altKey && event.key.toLowerCase() === 'z') return 'undo';
  if (command || event.altKey) return null;
  if (event.key === 'Backspace') return 'undo';
  if (event.key === 'Escape' || event.key === 'Delete') return 'clear';
  if (/^[0-9]$/.test(event.key)) return 'digit';
  return null;
}

/**
 * `handlers` maps 'undo', 'clear' and optionally 'digit' to functions called with the key press's
 * performance.now() and the key. A handler may return false to leave the key alone (not handled).
 */
export function bindShortcuts(handlers) {
  document.addEventListener('keydown', (event) => {
    const action = event.defaultPrevented || isTyping(event.target) ? null : actionFor(event);
    if (!action || !handlers[action]) return;
    if (handlers[action](performance.now(), event.key) === false) return;
    event.preventDefault();
  });
}
