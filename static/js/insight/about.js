/** The about page's one live sentence: how much has been drawn and learned so far. */
import { byTestId, count, requestJson } from './util.js';

const root = byTestId('about-page');

async function main() {
  const live = byTestId('live');
  try {
    const { totals, versions, learning } = await requestJson(root.dataset.statsUrl);
    const learned = totals.by_status.learned;
    live.textContent = `So far ${count(totals.samples)} drawing${totals.samples === 1 ? '' : 's'} from ${count(
      totals.people)} ${totals.people === 1 ? 'person' : 'people'}; the learning nets have learned from ${count(learned)} and are at version ${
      versions.current}.${learning ? '' : ' Learning is switched off on this server.'}`;
    live.dataset.state = 'ready';
  } catch {
    live.textContent = '';
  }
}

main();
