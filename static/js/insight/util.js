/**
 * Small helpers the "show the learning" pages share: JSON requests, the admin token, building DOM.
 * The pages keep to the CSP (no inline scripts or styles): content goes in with textContent and
 * attributes, never innerHTML, and looks are classes in static/css/insight.css.
 */

import { ApiError, call } from '../api.js';

const TOKEN_KEY = 'digitdraw:admin-token';

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

/** JSON request through the shared API helper; `admin` sends the admin token if one is set. */
export function requestJson(url, { method = 'GET', body, admin = false } = {}) {
  const headers = authHeaders(admin);
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return call(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/** An image as a data URL, fetched with the admin token (an <img> cannot send it; CSP allows data:). */
export async function imageAsDataUrl(url) {
  const response = await fetch(url, { headers: authHeaders(true) });
  if (!response.ok) throw new ApiError(`The image could not be loaded (HTTP ${response.status}).`, {
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

export const SOURCE_LABELS = {
  correction: 'correction',
  confirmation: 'confirmation',
  collection: 'collection',
  number: 'digit of a number',
};

/** Put a sentence in a status element (role=status) and mark its state for styles and tests. */
export function say(node, text, state = 'info') {
  node.textContent = text;
  node.dataset.state = state;
}
