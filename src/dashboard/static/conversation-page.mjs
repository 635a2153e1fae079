// One conversation (a GitHub issue or PR, a Jira issue, a Slack thread): its tasks in order, with summed cost and
// tokens.
import { getJson, query } from './api.mjs';
import * as fmt from './format.mjs';
import { html, useEffect, useState } from './html.mjs';
import { href } from './route.mjs';
import { TaskTable } from './tasks-page.mjs';
import { Empty, ErrorBox, Loading } from './widgets.mjs';

const REFRESH_MS = 2000;

export function ConversationPage({ conversationId }) {
  const [state, setState] = useState({ loading: true });
  useEffect(() => {
    let stopped = false;
    let timer;
    const load = async () => {
      try {
        const filter = { conversation: conversationId };
        const [page, totals] = await Promise.all([
          getJson(`/api/tasks${query({ ...filter, sort: 'created_at', order: 'asc', limit: 1000 })}`),
          getJson(`/api/tasks/aggregate${query({ ...filter, by: 'provider' })}`),
        ]);
        if (stopped) return;
        const sum = (field) => totals.groups.reduce((total, group) => total + group[field], 0);
        setState({
          loading: false,
          rows: page.tasks,
          more: page.next_cursor !== null,
          totals: {
            tasks: sum('tasks'),
            failed: sum('failed'),
            cost_usd: sum('cost_usd'),
            input_tokens: sum('input_tokens'),
            output_tokens: sum('output_tokens'),
            duration_seconds: sum('duration_seconds'),
          },
        });
        timer = setTimeout(load, REFRESH_MS);
      } catch (error) {
        if (!stopped) setState({ loading: false, error });
      }
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [conversationId]);

  const t = state.totals;
  return html`<section class="conversation-page">
    <p class="crumbs"><a href="#/">Tasks</a> / conversation</p>
    <h1>Conversation <code>${conversationId}</code></h1>
    <${ErrorBox} error=${state.error} />
    ${
      state.loading
        ? html`<${Loading} what="the conversation" />`
        : state.rows?.length
          ? html`<dl class="facts">
              <div><dt>Tasks</dt><dd>${fmt.count(t.tasks)} (${fmt.count(t.failed)} failed)</dd></div>
              <div><dt>Cost</dt><dd>${fmt.cost(t.cost_usd)}</dd></div>
              <div><dt>Tokens</dt><dd>${fmt.count(t.input_tokens)} in, ${fmt.count(t.output_tokens)} out</dd></div>
              <div><dt>Agent time</dt><dd>${fmt.seconds(t.duration_seconds)}</dd></div>
            </dl>
            <h2>Tasks, oldest first</h2>
            <${TaskTable} rows=${state.rows} />
            ${
              state.more
                ? html`<p class="muted">The first 1,000 tasks are shown; <a href=${href('/', { conversation: conversationId, order: 'asc' })}>the task list</a> pages through all of them.</p>`
                : null
            }`
          : state.rows
            ? html`<${Empty}>No task belongs to this conversation.<//>`
            : null
    }
  </section>`;
}
