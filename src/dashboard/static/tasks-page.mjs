// The task list: the search API's filters and sort in the URL, counts per status, cursor paging ("Show more"), and
// the rows refreshed every 1.5 s while the page is visible, so running tasks move on without a reload.
import { getJson, query } from './api.mjs';
import * as fmt from './format.mjs';
import { html, useEffect, useMemo, useRef, useState } from './html.mjs';
import { href, navigate } from './route.mjs';
import { Empty, ErrorBox, Loading, StatusBadge } from './widgets.mjs';

const STATUSES = ['queued', 'running', 'completed', 'failed', 'rejected'];
export const FILTER_KEYS = [
  'status',
  'provider',
  'agent',
  'model',
  'success',
  'created_after',
  'created_before',
  'min_cost',
  'max_cost',
  'min_tokens',
  'max_tokens',
  'conversation',
  'sort',
  'order',
];
const SORTS = [
  ['created_at', 'Created'],
  ['started_at', 'Started'],
  ['completed_at', 'Completed'],
  ['cost_usd', 'Cost'],
  ['duration_seconds', 'Duration'],
  ['input_tokens', 'Input tokens'],
  ['output_tokens', 'Output tokens'],
];
const REFRESH_MS = 1500;
const PAGE = 100;

function filtersOf(params) {
  return Object.fromEntries(FILTER_KEYS.map((key) => [key, params.get(key) ?? '']));
}

function withoutEmpty(filters) {
  return Object.fromEntries(Object.entries(filters).filter(([, value]) => value !== ''));
}

export function TasksPage({ params }) {
  const filters = filtersOf(params);
  const key = JSON.stringify(filters);
  const [state, setState] = useState({ loading: true, error: null, rows: [], next: null, counts: null });
  const shown = useRef(PAGE);
  useEffect(() => {
    let stopped = false;
    let timer;
    shown.current = PAGE;
    const search = withoutEmpty(filters);
    const { status: _status, sort: _sort, order: _order, ...countFilters } = search;
    const load = async () => {
      try {
        const [page, counts] = await Promise.all([
          getJson(`/api/tasks${query({ ...search, limit: Math.min(1000, shown.current) })}`),
          getJson(`/api/tasks/counts${query(countFilters)}`),
        ]);
        if (stopped) return;
        setState({ loading: false, error: null, rows: page.tasks, next: page.next_cursor, counts });
      } catch (error) {
        if (!stopped) setState((old) => ({ ...old, loading: false, error }));
      }
      if (!stopped) timer = setTimeout(tick, REFRESH_MS);
    };
    const tick = () => {
      if (document.visibilityState === 'hidden') timer = setTimeout(tick, REFRESH_MS);
      else void load();
    };
    setState((old) => ({ ...old, loading: true }));
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [key]);

  const apply = (changes) => navigate('/', withoutEmpty({ ...filters, ...changes }));
  const more = async () => {
    try {
      const page = await getJson(
        `/api/tasks${query({ ...withoutEmpty(filters), limit: PAGE, cursor: state.next })}`,
      );
      shown.current = state.rows.length + page.tasks.length;
      setState((old) => ({ ...old, rows: old.rows.concat(page.tasks), next: page.next_cursor }));
    } catch (error) {
      setState((old) => ({ ...old, error }));
    }
  };
  const filtered = Object.entries(filters).some(([k, v]) => v !== '' && k !== 'sort' && k !== 'order');

  return html`<section class="tasks-page">
    <h1>Tasks</h1>
    <${StatusFilter} filters=${filters} counts=${state.counts} apply=${apply} />
    <${FilterForm} filters=${filters} apply=${apply} />
    <${ErrorBox} error=${state.error} />
    ${
      state.loading && state.rows.length === 0
        ? html`<${Loading} what="tasks" />`
        : state.rows.length === 0 && !state.error
          ? filtered
            ? html`<${Empty}>No task matches these filters. <a href="#/">Clear the filters</a>.<//>`
            : html`<${Empty}>No tasks yet: run <code>npm run demo</code> (or send a webhook) and they appear here.<//>`
          : html`<${TaskTable} rows=${state.rows} />`
    }
    ${
      state.next
        ? html`<p class="more"><button onClick=${more}>Show ${PAGE} more</button></p>`
        : state.rows.length > 0
          ? html`<p class="more muted">${state.rows.length} shown, no more.</p>`
          : null
    }
  </section>`;
}

function StatusFilter({ filters, counts, apply }) {
  const chosen = filters.status ? filters.status.split(',') : [];
  const toggle = (status) => {
    const next = chosen.includes(status) ? chosen.filter((s) => s !== status) : [...chosen, status];
    apply({ status: next.join(',') });
  };
  const number = (n) => (counts ? html` <span class="count">${fmt.count(n)}</span>` : null);
  return html`<div class="status-filter" role="group" aria-label="Status">
    <button aria-pressed=${chosen.length === 0} onClick=${() => apply({ status: '' })}>
      All${number(counts?.total)}
    </button>
    ${STATUSES.map(
      (status) =>
        html`<button class=${`chip chip-${status}`} aria-pressed=${chosen.includes(status)} onClick=${() => toggle(status)}>
          ${status}${number(counts?.counts?.[status] ?? 0)}
        </button>`,
    )}
  </div>`;
}

// a filter box keeps what is being typed in it (the draft) until it is committed with Enter or by leaving the box: the
// list re-renders every refresh and when the suggestions arrive, and each re-render would otherwise put the URL's
// value back over the typing. A new value in the URL (Clear all filters, Back) replaces the draft.
function Field({ name, label, type = 'text', value, apply, list, ...rest }) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  return html`<label class="field">
    <span>${label}</span>
    <input
      name=${name}
      type=${type}
      value=${draft}
      list=${list}
      onInput=${(event) => setDraft(event.currentTarget.value)}
      onChange=${(event) => apply({ [name]: event.currentTarget.value.trim() })}
      ...${rest}
    />
  </label>`;
}

// suggestions for the text filters: the providers, agents and models the index knows, fetched only once the form is
// open (each is a pass over the whole index, which the first rows of the list should not wait for)
function useSuggestions(open) {
  const [options, setOptions] = useState({ provider: [], agent: [], model: [] });
  useEffect(() => {
    if (!open) return;
    let stopped = false;
    for (const by of ['provider', 'agent', 'model']) {
      getJson(`/api/tasks/aggregate${query({ by })}`)
        .then((answer) => {
          if (!stopped)
            setOptions((old) => ({ ...old, [by]: answer.groups.map((g) => g.key).filter(Boolean) }));
        })
        .catch(() => undefined); // suggestions only: the filters work without them
    }
    return () => {
      stopped = true;
    };
  }, [open]);
  return options;
}

function FilterForm({ filters, apply }) {
  const [open, setOpen] = useState(() => Object.entries(filters).some(([k, v]) => v && k !== 'status'));
  const options = useSuggestions(open);
  const lists = useMemo(
    () =>
      ['provider', 'agent', 'model'].map(
        (name) =>
          html`<datalist id=${`${name}-options`}>${options[name].map((value) => html`<option value=${value} />`)}</datalist>`,
      ),
    [options],
  );
  return html`<div class="filters">
    <button class="link" aria-expanded=${open} aria-controls="filter-form" onClick=${() => setOpen(!open)}>
      ${open ? 'Hide filters' : 'More filters and sort'}
    </button>
    <form id="filter-form" class="filter-form" hidden=${!open} onSubmit=${(event) => event.preventDefault()}>
      ${lists}
      <${Field} name="provider" label="Provider" value=${filters.provider} apply=${apply} list="provider-options" placeholder="github,jira" />
      <${Field} name="agent" label="Agent" value=${filters.agent} apply=${apply} list="agent-options" />
      <${Field} name="model" label="Model" value=${filters.model} apply=${apply} list="model-options" />
      <label class="field">
        <span>Result</span>
        <select name="success" value=${filters.success} onChange=${(event) => apply({ success: event.currentTarget.value })}>
          <option value="">any</option>
          <option value="true">succeeded</option>
          <option value="false">failed</option>
        </select>
      </label>
      <${Field} name="created_after" label="Created from" type="date" value=${filters.created_after.slice(0, 10)} apply=${apply} />
      <${Field} name="created_before" label="Created before" type="date" value=${filters.created_before.slice(0, 10)} apply=${apply} />
      <${Field} name="min_cost" label="Cost at least ($)" type="number" min="0" step="any" value=${filters.min_cost} apply=${apply} />
      <${Field} name="max_cost" label="Cost at most ($)" type="number" min="0" step="any" value=${filters.max_cost} apply=${apply} />
      <${Field} name="min_tokens" label="Tokens at least" type="number" min="0" step="1" value=${filters.min_tokens} apply=${apply} />
      <${Field} name="max_tokens" label="Tokens at most" type="number" min="0" step="1" value=${filters.max_tokens} apply=${apply} />
      <label class="field">
        <span>Sort by</span>
        <select name="sort" value=${filters.sort || 'created_at'} onChange=${(event) => apply({ sort: event.currentTarget.value === 'created_at' ? '' : event.currentTarget.value })}>
          ${SORTS.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
        </select>
      </label>
      <label class="field">
        <span>Order</span>
        <select name="order" value=${filters.order || 'desc'} onChange=${(event) => apply({ order: event.currentTarget.value === 'desc' ? '' : event.currentTarget.value })}>
          <option value="desc">highest / newest first</option>
          <option value="asc">lowest / oldest first</option>
        </select>
      </label>
      ${
        filters.conversation
          ? html`<p class="field">Conversation: <code>${filters.conversation}</code></p>`
          : null
      }
      <p class="field"><a href="#/">Clear all filters</a></p>
    </form>
  </div>`;
}

export function TaskTable({ rows, now = Date.now() }) {
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Tasks">
    <table class="tasks">
      <thead>
        <tr>
          <th scope="col">Task</th>
          <th scope="col">Status</th>
          <th scope="col" class="wide">Provider</th>
          <th scope="col" class="wide">Agent</th>
          <th scope="col" class="wider">Model</th>
          <th scope="col" class="wide">Created (UTC)</th>
          <th scope="col" class="num">Duration</th>
          <th scope="col" class="num">Cost</th>
          <th scope="col" class="num">Tokens in / out</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (row) => html`<tr key=${row.task_id} data-task-id=${row.task_id}>
            <td><a class="mono" href=${href(`/task/${encodeURIComponent(row.task_id)}`)}>${row.task_id}</a></td>
            <td><${StatusBadge} status=${row.status} /></td>
            <td class="wide">${row.provider ?? '–'}</td>
            <td class="wide">${row.assigned_agent ?? '–'}</td>
            <td class="wider">${row.model ?? '–'}</td>
            <td class="wide">${fmt.when(row.created_at)}</td>
            <td class="num">${fmt.seconds(fmt.taskSeconds(row, now))}</td>
            <td class="num">${fmt.cost(row.cost_usd)}</td>
            <td class="num">${fmt.tokens(row.input_tokens)} / ${fmt.tokens(row.output_tokens)}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
