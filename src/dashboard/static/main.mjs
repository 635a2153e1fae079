// The dashboard's shell: navigation, the route to each page, and the token prompt when the API asks for one.
import { forgetToken, onUnauthorized, savedToken, saveToken } from './api.mjs';
import { html, render, useEffect, useState } from './html.mjs';
import { href, useRoute } from './route.mjs';
import { TasksPage } from './tasks-page.mjs';
import { ErrorBox, Loading } from './widgets.mjs';

// the list is the first page most visits see; the others (and marked, DOMPurify, uPlot) load when first opened
const loaders = {
  task: () => import('./task-page.mjs').then((m) => m.TaskPage),
  conversation: () => import('./conversation-page.mjs').then((m) => m.ConversationPage),
  costs: () => import('./costs-page.mjs').then((m) => m.CostsPage),
};
const loaded = {};

function Lazy({ page, ...props }) {
  const [state, setState] = useState(() => ({ component: loaded[page], error: null }));
  useEffect(() => {
    if (state.component) return;
    loaders[page]().then(
      (component) => {
        loaded[page] = component;
        setState({ component, error: null });
      },
      (error) => setState({ component: undefined, error }),
    );
  }, [page]);
  if (state.error) return html`<${ErrorBox} error=${state.error} />`;
  if (!state.component) return html`<${Loading} what="the page" />`;
  return html`<${state.component} ...${props} />`;
}

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

function forgetAndReload() {
  forgetToken();
  location.reload();
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
    ${savedToken() ? html`<button class="link" onClick=${forgetAndReload}>Forget token</button>` : null}
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
    page = html`<${Lazy} page="task" key="task" taskId=${decodeURIComponent(path.slice(6))} params=${params} />`;
  } else if (path.startsWith('/conversation/')) {
    page = html`<${Lazy} page="conversation" key="conversation" conversationId=${decodeURIComponent(path.slice(14))} />`;
  } else if (path === '/costs') {
    page = html`<${Lazy} page="costs" key="costs" params=${params} />`;
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
