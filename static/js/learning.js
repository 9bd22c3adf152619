/**
 * What the server's learning is doing, from GET /api/health. At page load: whether corrections teach
 * the nets here at all, shown up front so nobody teaches them expecting them to change. After a
 * correction the learner had not reached yet: when the nets move on, so the page can read again.
 */
import { call } from './api.js';

/**
 * Unhide `notice` when GET `url` answers that learning is off; its reason becomes the notice's tooltip.
 * `data-learning` (on | off, unset until the server answered) is what tests wait on.
 */
export async function showIfLearningIsOff(notice, url) {
  try {
    const { learning } = await call(url);
    notice.hidden = learning.on;
    notice.title = learning.reason ?? '';
    notice.dataset.learning = learning.on ? 'on' : 'off';
  } catch {
    // health unreachable: the next prediction says the server cannot be reached; no guess here
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Poll GET `url` every `everyMs` until an online net is past its version in `since`; resolves to the
 * health's model_version then, or to null once `wanted()` is false or `forMs` have passed.
 */
export async function newerVersions(url, since, { wanted, everyMs = 1000, forMs = 60_000 }) {
  const deadline = Date.now() + forMs;
  while (Date.now() < deadline) {
    await sleep(everyMs);
    if (!wanted()) return null;
    try {
      const { model_version: versions } = await call(url);
      if (Object.keys(since).some((name) => versions[name] > since[name])) return versions;
    } catch {
      // one missed poll is no news: the learner may still be at work, so ask again
    }
  }
  return null;
}
