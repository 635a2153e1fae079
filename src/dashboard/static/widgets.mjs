// Small pieces every page uses: status badges, loading, error and empty states.
import { html } from './html.mjs';

export function StatusBadge({ status }) {
  const known = ['queued', 'running', 'completed', 'failed', 'rejected'].includes(status);
  return html`<span class=${`badge badge-${known ? status : 'unknown'}`}>${status ?? 'unknown'}</span>`;
}

export function Loading({ what }) {
  return html`<p class="loading" role="status">Loading ${what}…</p>`;
}

export function ErrorBox({ error, retry }) {
  if (!error) return null;
  return html`<div class="error-box" role="alert">
    <strong>Could not load: </strong>${String(error.message ?? error)}
    ${retry ? html` <button onClick=${retry}>Try again</button>` : null}
  </div>`;
}

export function Empty({ children }) {
  return html`<div class="empty" role="status">${children}</div>`;
}
