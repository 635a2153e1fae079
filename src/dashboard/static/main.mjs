// The dashboard's shell: navigation, the route to each page, and the token prompt when the API asks for one.
import { forgetToken, onUnauthorized, savedToken, saveToken } from './api.mjs';
import { ConversationPage } from './conversation-page.mjs';
import { CostsPage } from './costs-page.mjs';
import { html, render, useEffect, useState } from './html.mjs';
import { href, useRoute } from './route.mjs';
import { TaskPage } from './task-page.mjs';
import { TasksPage } from './tasks-page.mjs';

function TokenPrompt({ onSaved, rejected }) {
  const [value, setValue] = useState('');
  const submit = (event) => {
    event.preventDefault();
    if (!value.trim()) return;
    saveToken(value.trim());
    onSaved();
  };
  return html`<section class="token-prompt" aria-labelledby="token-title">
    <h1 id="token-title">This server needs its API token</h1>
    <p>
      ${
        rejected
          ? 'The token was not accepted. Enter it again.'
          : 'Enter the value of TASK_LOGS_API_TOKEN. It is kept for this browser tab only (session storage) and sent as a header.'
      }
    </p>
    <form onSubmit=${submit}>
      <label for="token-input">API token</label>
      <input
        id="token-input"
        type="password"
        autocomplete="current-password"
        value=${value}
        onInput=${(event) => setValue(event.currentTarget.value)}
        autofocus
      />
      <button type="submit">Open the dashboard</button>
    </form>
  </section>`;
}

function Nav({ path }) {
  const item = (target, label, active) =>
    html`<a href=${href(target)} aria-current=${active ? 'page' : undefined}>${label}</a>`;
  return html`<header class="top">
    <a class="brand" href="#/">task-logs</a>
    <nav aria-label="Pages">
      ${item('/', 'Tasks', path === '/' || path.startsWith('/task/'))}
      ${item('/costs', 'Costs', path === '/costs')}
    </nav>
    ${savedToken() ? html`<button class="link" onClick=${() => (forgetToken(), location.reload())}>Forget token</button>` : null}
  </header>`;
}

function App() {
  const route = useRoute();
  const [auth, setAuth] = useState({ needed: false, rejected: false, generation: 0 });
  useEffect(
    () =>
      onUnauthorized(() => setAuth((state) => ({ ...state, needed: true, rejected: savedToken() !== null }))),
    [],
  );
  const { path, params } = route;
  let page;
  if (auth.needed) {
    page = html`<${TokenPrompt}
      rejected=${auth.rejected}
      onSaved=${() => setAuth((state) => ({ needed: false, rejected: false, generation: state.generation + 1 }))}
    />`;
  } else if (path.startsWith('/task/')) {
    page = html`<${TaskPage} taskId=${decodeURIComponent(path.slice(6))} params=${params} />`;
  } else if (path.startsWith('/conversation/')) {
    page = html`<${ConversationPage} conversationId=${decodeURIComponent(path.slice(14))} />`;
  } else if (path === '/costs') {
    page = html`<${CostsPage} params=${params} />`;
  } else if (path === '/') {
    page = html`<${TasksPage} params=${params} />`;
  } else {
    page = html`<section><h1>No such page</h1><p><a href="#/">Go to the task list</a></p></section>`;
  }
  return html`<${Nav} path=${path} />
    <main id="main" key=${auth.generation}>${page}</main>`;
}

const root = document.getElementById('app');
root.textContent = ''; // the static "Loading" line
render(html`<${App} />`, root);
