/**
 * This browser's anonymous id, sent with every drawing so that the server can fit a small layer to
 * one person's handwriting. It is 32 random hex characters and nothing else: no name, no account,
 * nothing read from the device; clearing the site's data starts a new person.
 */

const KEY = 'digitdraw-person';
const VALID = /^[A-Za-z0-9_-]{8,64}$/; // what the API accepts

// Storage can be switched off (private windows); the id then lasts for this page only.
let unstored = null;

function read() {
  try {
    const id = localStorage.getItem(KEY);
    return VALID.test(id ?? '') ? id : null;
  } catch {
    return null;
  }
}

/** Store `id`; returns whether that worked. */
function write(id) {
  try {
    localStorage.setItem(KEY, id);
    return true;
  } catch {
    return false;
  }
}

// Not crypto.randomUUID: it exists only on secure pages, and the app may be served over plain http.
function fresh() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The id: the stored one, else a new one (stored if storage allows). Read each time, so every tab agrees. */
export function personId() {
  let id = read();
  if (id === null) {
    id = unstored ?? fresh();
    if (!write(id)) unstored = id;
  }
  return id;
}
