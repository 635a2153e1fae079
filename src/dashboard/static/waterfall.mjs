// The webhook flow and the agent run as one waterfall: each stage, the agent run and each tool call as a bar on one
// time axis, with its duration.
import * as fmt from './format.mjs';
import { html } from './html.mjs';

const MAX_TOOL_BARS = 1000;

export function waterfallBars({ flow, metadata, result, cards, now }) {
  const bars = [];
  for (const stage of flow ?? []) {
    const start = Date.parse(stage.timestamp);
    if (!Number.isFinite(start)) continue;
    const ms = typeof stage.duration_ms === 'number' ? stage.duration_ms : 0;
    const failed = stage.status === 'failed' || stage.error !== undefined;
    bars.push({ label: stage.stage, start, end: start + ms, kind: failed ? 'error' : 'stage', depth: 0 });
  }
  // the task's end: a tool call still open then (the task failed or was interrupted mid-call) ends there, cut short
  const done = Date.parse(result?.completed_at ?? metadata?.completed_at ?? '');
  const ended = Number.isFinite(done);
  const started = Date.parse(metadata?.started_at ?? '');
  if (Number.isFinite(started)) {
    const running = !ended;
    bars.push({
      label: `agent ${metadata.assigned_agent ?? ''}`.trim(),
      start: started,
      end: running ? now : done,
      kind: result?.success === false ? 'error' : running ? 'running' : 'agent',
      depth: 0,
    });
  }
  let more = 0;
  for (const card of cards) {
    if (bars.length >= MAX_TOOL_BARS + 8) {
      more++;
      continue;
    }
    const start = Date.parse(card.call.timestamp);
    if (!Number.isFinite(start)) continue;
    const open = card.result === undefined;
    const end = open ? (ended ? Math.max(start, done) : now) : Date.parse(card.result.timestamp);
    const kind = open ? (ended ? 'error' : 'running') : card.result.is_error ? 'error' : 'tool';
    bars.push({
      label: card.call.tool_name ?? 'tool',
      start,
      end,
      kind,
      depth: 1 + card.depth,
      key: card.key,
    });
  }
  return { bars, more };
}

export function Waterfall({ bars, more }) {
  if (bars.length === 0) return html`<p class="muted">No stages recorded yet.</p>`;
  const t0 = Math.min(...bars.map((b) => b.start));
  const t1 = Math.max(...bars.map((b) => b.end), t0 + 1);
  const span = t1 - t0;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return html`<div class="waterfall" role="table" aria-label="Waterfall: stages and tool calls on a time axis">
    <div class="wf-row wf-axis" role="row">
      <span class="wf-label" role="columnheader">Step</span>
      <span class="wf-track" role="columnheader">
        ${ticks.map((t) => html`<span class="wf-tick" style=${{ left: at(t * 100) }}>${fmt.millis(t * span)}</span>`)}
      </span>
    </div>
    ${bars.map((bar) => {
      const left = ((bar.start - t0) / span) * 100;
      const width = Math.max(0.4, ((bar.end - bar.start) / span) * 100);
      return html`<div class="wf-row" role="row">
        <span class=${`wf-label depth-${Math.min(bar.depth, 4)}`} role="cell">${bar.label}</span>
        <span class="wf-track" role="cell">
          <span class=${`wf-bar wf-${bar.kind}`} style=${{ left: at(Math.min(left, 99.6)), width: at(Math.min(width, 100 - Math.min(left, 99.6))) }}></span>
          <span class="wf-time" style=${{ left: at(Math.min(left + width, 100)) }}>
            ${fmt.millis(bar.end - bar.start)}
          </span>
        </span>
      </div>`;
    })}
    ${more ? html`<p class="muted">and ${more.toLocaleString('en')} more tool calls, all in the output below.</p>` : null}
  </div>`;
}

// The time axis takes the track's width less room for one duration label (TIME_ROOM), so every bar's duration fits
// just after its bar, even for a bar that ends at the last moment: a label never covers a bar.
const TIME_ROOM = '4.5rem';

/** a position or a length on the time axis, from a percentage of it */
function at(percent) {
  return `calc((100% - ${TIME_ROOM}) * ${(percent / 100).toFixed(5)})`;
}
