/** The JSON API as promises: a response body, or an ApiError carrying a sentence for the person. */

import { personId } from './person.js';

export class ApiError extends Error {
  constructor(message, { code, status }) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }
}

/** Fetch `url` and resolve to the body of a 2xx JSON answer (every page's requests go through here). */
export async function call(url, init = {}) {
  let response;
  try {
    response = await fetch(url, { ...init, headers: { Accept: 'application/json', ...init.headers } });
  } catch {
    throw new ApiError('The server cannot be reached; check the connection and try again.', {
      code: 'network_error',
      status: 0,
    });
  }
  const body = await response.json().catch(() => null);
  if (!response.ok || body === null) {
    // The API always explains itself in {"error": {...}}; a proxy's HTML error page does not.
    const error = body?.error ?? {};
    throw new ApiError(error.message ?? `The server answered with an error (HTTP ${response.status}).`, {
      code: error.code ?? 'http_error',
      status: response.status,
    });
  }
  return body;
}

function postJson(url, body) {
  return call(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

/**
 * POST the drawing (a PNG data URL, and its strokes as toApiStrokes gives them, or undefined) to `url`;
 * resolves to the prediction. Like correct(), it sends whose drawing it is (person.js), so someone the app has
 * learned from is read with their own layer; the strokes let the strokes net read the pen's path too.
 */
export function predict(url, image, strokes) {
  return postJson(url, { image, strokes, person: personId() });
}

/**
 * POST a labelled drawing to `url` ({image, label, predicted, strokes, consent, source?} to /api/correct,
 * {image, strokes, number, consent} to /api/read/correct); resolves to what was stored and learned, with
 * `after`: the same drawing read by the updated nets.
 */
export function correct(url, sample) {
  return postJson(url, { ...sample, person: personId() });
}

/** POST a drawing of a number (its strokes in the image's pixels, or undefined) to `url`; resolves to the reading. */
export function readNumber(url, image, strokes) {
  return postJson(url, { image, strokes, person: personId() });
}

/** GET `url`; resolves to {"0": n, …, "9": n}, the stored samples per digit. */
export async function counts(url) {
  return (await call(url)).counts;
}
