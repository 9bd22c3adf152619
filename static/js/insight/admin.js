/**
 * The Administration panel: takes the admin token into this tab's sessionStorage (never sent
 * anywhere but this server's API, and only as an Authorization header), or forgets it.
 */
import { adminToken, byTestId } from './util.js';

/** Wire the panel; `onChange()` runs after the token is set or forgotten. */
export function bindAdmin(onChange) {
  const panel = byTestId('admin');
  const state = byTestId('admin-state');
  const input = byTestId('admin-token');

  function show() {
    state.textContent = adminToken.get()
      ? 'A token is set for this tab: drawings kept without consent are shown too.'
      : 'No token: only drawings shared with consent are shown.';
    panel.dataset.admin = adminToken.get() ? 'on' : 'off';
  }

  byTestId('admin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    adminToken.set(input.value.trim());
    input.value = '';
    show();
    onChange();
  });
  byTestId('admin-forget').addEventListener('click', () => {
    adminToken.set('');
    show();
    onChange();
  });
  if (adminToken.get()) panel.open = true;
  show();
}
