/**
 * Latest-drawing-wins request scheduling.
 *
 * Predictions fire on every pointer-up with no debounce, so a fast writer outpaces the server.
 * At most one request is in flight and one waits; a newer submission replaces the waiting one,
 * and an answer is shown only if no newer drawing was submitted (or cancelled) since its request.
 */
export function latestOnly(send, onSettled) {
  let issued = 0;
  let wanted = 0;
  let waiting = null;
  let busy = false;

  async function pump() {
    if (busy || waiting === null) return;
    const job = waiting;
    waiting = null;
    busy = true;
    let outcome;
    try {
      outcome = { ok: true, value: await send(job.payload) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    busy = false;
    if (job.seq === wanted) onSettled(job, outcome);
    pump();
  }

  return {
    /** Queue `payload`; `context` comes back with the outcome. Returns the request's sequence number. */
    submit(payload, context) {
      issued += 1;
      wanted = issued;
      waiting = { seq: issued, payload, context };
      pump();
      return issued;
    },
    /** Forget the waiting request and ignore the one in flight (the drawing was cleared). */
    cancel() {
      wanted = 0;
      waiting = null;
    },
  };
}
