/**
 * Says up front when this server stores corrections without learning from them (turned off, or its
 * reference digits are missing), so nobody teaches the nets expecting them to change. One GET of
 * /api/health at page load: learning is a property of the server, not of each answer.
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
