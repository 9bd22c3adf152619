/**
 * The dataset browser: a page of thumbnails from /api/samples, filtered by the form. The filters
 * live in the address (?label=&misread=&source=&page=), so a view can be bookmarked and Back works.
 */
import { bindAdmin } from './admin.js';
import { adminToken, byTestId, el, imageAsDataUrl, requestJson, say, when } from './util.js';

const root = byTestId('dataset-page');
const { samplesUrl, pageUrl } = root.dataset;
const form = byTestId('filters');
const grid = byTestId('grid');
const status = byTestId('status');
const FILTERS = ['label', 'misread', 'source'];
let generation = 0; // a newer load wins over a slower older one

const withQuery = (url, query) => (String(query) ? `${url}?${query}` : url);

function currentQuery() {
  const params = new URLSearchParams(window.location.search);
  const query = new URLSearchParams();
  for (const name of [...FILTERS, 'page']) {
    const value = params.get(name);
    if (value) query.set(name, value);
  }
  return query;
}

function syncForm(query) {
  for (const name of FILTERS) form.elements[name].value = query.get(name) ?? '';
}

function describe(item) {
  const read = item.shown === null ? 'not recognised' : `read as ${item.shown}`;
  return `${item.label}, ${read}, ${item.source}, ${when(item.created)}`;
}

function cell(item) {
  const image = el('img', { class: 'grid__image', width: 112, height: 112, alt: `Drawing of ${item.label}` });
  if (item.consent) {
    image.src = item.thumbnail;
  } else {
    // kept without consent: only the admin sees it, and an <img> cannot send the token
    imageAsDataUrl(item.thumbnail).then((url) => { image.src = url; }, () => { image.alt = 'Image unavailable'; });
  }
  const verdict = item.misread
    ? el('span', { class: 'tag tag--misread', text: item.shown === null ? 'not recognised' : `read as ${item.shown}` })
    : el('span', { class: 'tag tag--right', text: 'read right' });
  const tags = [verdict];
  if (item.status === 'quarantined') tags.push(el('span', { class: 'tag tag--quarantined', text: 'quarantined' }));
  if (!item.consent) tags.push(el('span', { class: 'tag tag--private', text: 'not shared' }));
  return el('li', { class: 'grid__item', 'data-testid': 'sample', 'data-id': item.id }, [
    el('a', { href: item.url, class: 'grid__link', 'aria-label': describe(item) }, [
      image,
      el('span', { class: 'grid__label', text: item.label }),
      el('span', { class: 'grid__tags' }, tags),
      el('span', { class: 'grid__meta', text: `${item.source} · ${item.created.slice(0, 10)}` }),
    ]),
  ]);
}

function pageLink(link, query, page, enabled) {
  if (!enabled) {
    link.removeAttribute('href');
    link.setAttribute('aria-disabled', 'true');
    return;
  }
  const target = new URLSearchParams(query);
  if (page > 1) target.set('page', String(page));
  else target.delete('page');
  link.href = withQuery(pageUrl, target);
  link.removeAttribute('aria-disabled');
}

async function load() {
  const query = currentQuery();
  syncForm(query);
  root.dataset.admin = adminToken.get() ? 'on' : 'off';
  const mine = ++generation;
  say(status, 'Loading drawings…', 'loading');
  let body;
  try {
    body = await requestJson(withQuery(samplesUrl, query), { admin: true });
  } catch (error) {
    if (mine !== generation) return;
    say(status, error.message, 'error');
    grid.replaceChildren();
    byTestId('pager').hidden = true;
    return;
  }
  if (mine !== generation) return;
  grid.replaceChildren(...body.items.map(cell));
  const filtered = FILTERS.some((name) => body.filters[name] !== null);
  const scope = body.everyone ? 'stored' : 'shared';
  if (body.total === 0) {
    say(status, filtered ? `No ${scope} drawings match these filters.` : `No ${scope} drawings yet.`, 'empty');
  } else if (body.items.length === 0) {
    say(status, `There is no page ${body.page}: ${body.pages} page${body.pages === 1 ? '' : 's'} in all.`, 'empty');
  } else {
    const first = (body.page - 1) * body.per_page + 1;
    say(status, `${first}–${first + body.items.length - 1} of ${body.total} ${scope} drawings${
      filtered ? ' matching the filters' : ''}.`, 'ready');
  }
  const pager = byTestId('pager');
  pager.hidden = body.pages <= 1;
  byTestId('page-of').textContent = `Page ${body.page} of ${Math.max(1, body.pages)}`;
  pageLink(byTestId('previous'), query, body.page - 1, body.page > 1);
  pageLink(byTestId('next'), query, body.page + 1, body.page < body.pages);
}

function navigate(query) {
  history.pushState(null, '', withQuery(pageUrl, query));
  load();
}

function fromForm() {
  const query = new URLSearchParams();
  for (const name of FILTERS) {
    if (form.elements[name].value) query.set(name, form.elements[name].value);
  }
  return query; // a new filter starts at page 1
}

form.addEventListener('change', () => navigate(fromForm()));
form.addEventListener('submit', (event) => {
  event.preventDefault();
  navigate(fromForm());
});
for (const id of ['previous', 'next']) {
  byTestId(id).addEventListener('click', (event) => {
    const link = event.currentTarget;
    if (!link.href || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(new URL(link.href).searchParams);
    grid.scrollIntoView({ block: 'start' });
  });
}
window.addEventListener('popstate', load);
bindAdmin(load);
load();
