/**
 * Small helpers the "show the learning" pages share: JSON requests, the admin token, building DOM.
 * The pages keep to the CSP (no inline scripts or styles): content goes in with textContent and
 * attributes, never innerHTML, and looks are classes in static/css/insight.css.
 */

const TOKEN_KEY = 'digitdraw:admin-token';

/** A failed request, with the API's sentence for people and its code for programs. */
export class RequestError extends Error {
  constructor(message, { code, status }) {
    super(message);
    this.name = 'RequestError';
    this.code = code;
    this.status = status;
  }
}

/** The admin token this tab was given (sessionStorage: forgotten when the tab closes). */
export const adminToken = {
  get: () => sessionStorage.getItem(TOKEN_KEY) ?? '',
  set(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

function authHeaders(admin) {
  const token = admin ? adminToken.get() : '';
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Fetch `url` and resolve to the JSON body of a 2xx answer; `admin` sends the admin token if one is set. */
export async function requestJson(url, { method = 'GET', body, admin = false } = {}) {
  const headers = { Accept: 'application/json', ...authHeaders(admin) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new RequestError('The server cannot be reached; check the connection and try again.', {
      code: 'network_error',
      status: 0,
    });
  }
  const parsed = await response.json().catch(() => null);
  if (!response.ok || parsed === null) {
    const error = parsed?.error ?? {};
    throw new RequestError(error.message ?? `The server answered with an error (HTTP ${response.status}).`, {
      code: error.code ?? 'http_error',
      status: response.status,
    });
  }
  return parsed;
}

/** An image as a data URL, fetched with the admin token (an <img> cannot send it; CSP allows data:). */
export async function imageAsDataUrl(url) {
  const response = await fetch(url, { headers: authHeaders(true) });
  if (!response.ok) throw new RequestError(`The image could not be loaded (HTTP ${response.status}).`, {
    code: 'http_error',
    status: response.status,
  });
  const blob = await response.blob();
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/** Create an element: `attrs` become attributes (`class`, `data-*`, `aria-*`…), `text` its text. */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = String(value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children);
  return node;
}

export const byTestId = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);

/** 0.9731 → "97.3 %"; null → "–". */
export function percent(value, digits = 1) {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(digits)} %`;
}

export const count = (value) => Number(value).toLocaleString('en');

/** "2026-11-23T19:53:01.123+00:00" → "2026-11-23 19:53 UTC". */
export function when(iso) {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '–';
}

/** The four nets by the names the main page uses. */
export const MODEL_LABELS = {
  fnn: 'feed-forward (shipped)',
  cnn: 'convolutional (shipped)',
  fnn_online: 'feed-forward (learning)',
  cnn_online: 'convolutional (learning)',
  shown: 'answer shown',
};

export const SOURCE_LABELS = { correction: 'correction', confirmation: 'confirmation', collection: 'collection' };

/** Put a sentence in a status element (role=status) and mark its state for styles and tests. */
export function say(node, text, state = 'info') {
  node.textContent = text;
  node.dataset.state = state;
}
