// Cost, tokens, tasks and failure rate per day and per provider, agent or model over a chosen range: uPlot charts
// with the same numbers in a table beside them.

import uPlot from '/assets/vendor/uplot.mjs';
import { getJson, query } from './api.mjs';
import * as fmt from './format.mjs';
import { html, useEffect, useRef, useState } from './html.mjs';
import { navigate } from './route.mjs';
import { Empty, ErrorBox, Loading } from './widgets.mjs';

const GROUPS = [
  ['provider', 'Provider'],
  ['agent', 'Agent'],
  ['model', 'Model'],
];

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function rangeOf(params) {
  const to = params.get('to') || isoDay(new Date(Date.now() + 86_400_000));
  const from = params.get('from') || isoDay(new Date(Date.parse(to) - 30 * 86_400_000));
  return { from, to, by: params.get('by') || 'provider' };
}

export function CostsPage({ params }) {
  const range = rangeOf(params);
  const [state, setState] = useState({ loading: true });
  const key = `${range.from}|${range.to}|${range.by}`;
  useEffect(() => {
    let stopped = false;
    const filters = { created_after: range.from, created_before: range.to };
    Promise.all([
      getJson(`/api/tasks/aggregate${query({ ...filters, by: 'day' })}`),
      getJson(`/api/tasks/aggregate${query({ ...filters, by: range.by })}`),
    ]).then(
      ([days, groups]) => !stopped && setState({ loading: false, days: days.groups, groups: groups.groups }),
      (error) => !stopped && setState({ loading: false, error }),
    );
    return () => {
      stopped = true;
    };
  }, [key]);

  const set = (changes) => navigate('/costs', { ...range, ...changes });
  return html`<section class="costs-page">
    <h1>Costs</h1>
    <form class="filter-form open" onSubmit=${(e) => e.preventDefault()}>
      <label class="field"><span>Created from</span>
        <input type="date" value=${range.from} onChange=${(e) => set({ from: e.currentTarget.value })} /></label>
      <label class="field"><span>Created before</span>
        <input type="date" value=${range.to} onChange=${(e) => set({ to: e.currentTarget.value })} /></label>
      <label class="field"><span>Group by</span>
        <select value=${range.by} onChange=${(e) => set({ by: e.currentTarget.value })}>
          ${GROUPS.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
        </select></label>
    </form>
    <${ErrorBox} error=${state.error} />
    ${
      state.loading
        ? html`<${Loading} what="costs" />`
        : state.days?.length
          ? html`<${Charts} days=${everyDay(state.days, range)} />
            <h2>Per day</h2>
            <${AggregateTable} rows=${state.days} label="Day (UTC)" />
            <h2>Per ${GROUPS.find(([v]) => v === range.by)?.[1].toLowerCase() ?? range.by}</h2>
            <${AggregateTable} rows=${state.groups} label=${GROUPS.find(([v]) => v === range.by)?.[1] ?? range.by} />`
          : state.days
            ? html`<${Empty}>No tasks were created in this range. Choose other dates, or run <code>npm run demo</code>.<//>`
            : null
    }
  </section>`;
}

// the charts show every day of the range, a day without tasks as zero
function everyDay(days, range) {
  const byKey = new Map(days.map((d) => [d.key, d]));
  const result = [];
  const end = Math.min(Date.parse(range.to), Date.parse(range.from) + 366 * 86_400_000);
  for (let t = Date.parse(range.from); t < end; t += 86_400_000) {
    const key = isoDay(new Date(t));
    result.push(
      byKey.get(key) ?? {
        key,
        tasks: 0,
        completed: 0,
        failed: 0,
        cost_usd: 0,
        input_tokens: 0,
        output_tokens: 0,
      },
    );
  }
  return result.length ? result : days;
}

function AggregateTable({ rows, label }) {
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${`Totals per ${label}`}>
    <table class="aggregates">
      <thead><tr>
        <th scope="col">${label}</th><th scope="col" class="num">Tasks</th><th scope="col" class="num">Failed</th>
        <th scope="col" class="num">Failure rate</th><th scope="col" class="num">Cost</th>
        <th scope="col" class="num">Input tokens</th><th scope="col" class="num">Output tokens</th>
      </tr></thead>
      <tbody>
        ${rows.map(
          (row) => html`<tr>
            <th scope="row">${row.key ?? 'none'}</th>
            <td class="num">${fmt.count(row.tasks)}</td>
            <td class="num">${fmt.count(row.failed)}</td>
            <td class="num">${fmt.percent(row.failed, row.completed + row.failed)}</td>
            <td class="num">${fmt.cost(row.cost_usd)}</td>
            <td class="num">${fmt.count(row.input_tokens)}</td>
            <td class="num">${fmt.count(row.output_tokens)}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function Charts({ days }) {
  return html`<div class="charts">
    <${Chart} title="Cost per day (USD)" days=${days} series=${[['cost', (d) => d.cost_usd, '#3558c9']]} />
    <${Chart}
      title="Tasks and failures per day"
      days=${days}
      series=${[['tasks', (d) => d.tasks, '#2f8f5b'], ['failed', (d) => d.failed, '#c93535']]}
    />
    <${Chart}
      title="Tokens per day"
      days=${days}
      series=${[['input', (d) => d.input_tokens, '#8a5cc9'], ['output', (d) => d.output_tokens, '#c98a35']]}
    />
  </div>`;
}

function Chart({ title, days, series }) {
  const box = useRef(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const fg = getComputedStyle(document.body).color;
    const grid = { stroke: 'rgba(128,128,128,0.25)' };
    const x = days.map((d) => Date.parse(`${d.key}T00:00:00Z`) / 1000);
    const plot = new uPlot(
      {
        width: Math.max(260, element.clientWidth),
        height: 180,
        series: [
          {},
          ...series.map(([label, , stroke]) => ({
            label,
            stroke,
            width: 2,
            points: { show: true, size: 5 },
          })),
        ],
        axes: [
          { stroke: fg, grid },
          { stroke: fg, grid, size: 60 },
        ],
        scales: { x: { time: true } },
      },
      [x, ...series.map(([, pick]) => days.map(pick))],
      element,
    );
    return () => plot.destroy();
  }, [days]);
  return html`<figure class="chart">
    <figcaption>${title}</figcaption>
    <div ref=${box} role="img" aria-label=${`${title}: the numbers are in the table below`}></div>
  </figure>`;
}
