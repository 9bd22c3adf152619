/** The JSON API as promises: a prediction body, or an ApiError carrying a sentence for the person. */

export class ApiError extends Error {
  constructor(message, { code, status }) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }
}

/** POST the drawing (a PNG data URL) to `url`; resolves to the body of a 200 answer. */
export async function predict(url, image) {
  let response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ image }),
    });
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
