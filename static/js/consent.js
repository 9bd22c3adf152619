/**
 * The "keep my drawing in the public dataset" checkbox: unticked until the person ticks it, and
 * remembered on this device, so nobody is asked again on every drawing or on the other page.
 */

const KEY = 'digitdraw.consent';

// Storage can be switched off or full (private windows); the choice then lasts for this page only.
function read() {
  try {
    return localStorage.getItem(KEY) === 'yes';
  } catch {
    return false;
  }
}

function write(consented) {
  try {
    localStorage.setItem(KEY, consented ? 'yes' : 'no');
  } catch {
    // not remembered; the checkbox itself still holds the choice
  }
}

/** Restore the remembered choice into `checkbox` and remember each change. Returns `() => checked`. */
export function bindConsent(checkbox) {
  checkbox.checked = read();
  checkbox.addEventListener('change', () => write(checkbox.checked));
  return () => checkbox.checked;
}
