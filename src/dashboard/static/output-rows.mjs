// One row of the agent output: a text, thinking (collapsed), system, final or error line, or a tool call card with its
// input and result (a shell command as a terminal block, an edit or write as a diff, a read with its path).
// Everything is rendered as text: task content is untrusted.
import * as fmt from './format.mjs';
import { html } from './html.mjs';

const CLAMP_LINES = 24;
const CLAMP_CHARS = 4000;

export function Highlight({ text, needle }) {
  if (!needle) return text;
  const lower = text.toLowerCase();
  const target = needle.toLowerCase();
  const parts = [];
  let from = 0;
  for (let at = lower.indexOf(target); at >= 0 && parts.length < 400; at = lower.indexOf(target, from)) {
    if (at > from) parts.push(text.slice(from, at));
    parts.push(html`<mark>${text.slice(at, at + target.length)}</mark>`);
    from = at + target.length;
  }
  parts.push(text.slice(from));
  return parts;
}

/** long text shows its start and a button to show all of it (nothing is cut from the data, only from the view) */
function Clamped({ text, id, ui, className = 'text', needle }) {
  const lines = text.split('\n', CLAMP_LINES + 1);
  const long = lines.length > CLAMP_LINES || text.length > CLAMP_CHARS;
  const open = ui.expanded.has(id);
  let shown = text;
  if (long && !open) {
    shown = lines.slice(0, CLAMP_LINES).join('\n');
    if (shown.length > CLAMP_CHARS) shown = shown.slice(0, CLAMP_CHARS);
  }
  return html`<pre class=${className}><${Highlight} text=${shown} needle=${needle} /></pre>
    ${
      long
        ? html`<button class="link expand" aria-expanded=${open} onClick=${() => ui.toggle(id)}>
          ${open ? 'Show less' : `Show all (${text.split('\n').length.toLocaleString('en')} lines, ${text.length.toLocaleString('en')} characters)`}
        </button>`
        : null
    }`;
}

function LineRow({ entry, ui, needle }) {
  const { line } = entry;
  const id = `${entry.key}`;
  if (line.type === 'thinking') {
    const open = ui.expanded.has(id);
    return html`<div class="out out-thinking">
      <button class="link" aria-expanded=${open} onClick=${() => ui.toggle(id)}>
        ${open ? '▾' : '▸'} Thinking <span class="muted">(${line.content.length.toLocaleString('en')} characters)</span>
      </button>
      ${open ? html`<${Clamped} text=${line.content} id=${`${id}:all`} ui=${ui} needle=${needle} />` : null}
    </div>`;
  }
  const label = { system: 'system', text: null, final: 'final', error: 'error', tool_result: 'result' }[
    line.type
  ];
  return html`<div class=${`out out-${line.type}${line.is_error ? ' out-error' : ''}`}>
    ${label ? html`<span class="out-label">${label}</span>` : null}
    <${Clamped} text=${line.content} id=${id} ui=${ui} needle=${needle} />
  </div>`;
}

function str(value) {
  return typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value, null, 2);
}

// a line diff: the unchanged start and end as context, the rest removed then added
function diffLines(before, after) {
  const a = before.split('\n');
  const b = after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  return [
    ...a.slice(0, head).map((text) => [' ', text]),
    ...a.slice(head, a.length - tail).map((text) => ['-', text]),
    ...b.slice(head, b.length - tail).map((text) => ['+', text]),
    ...a.slice(a.length - tail).map((text) => [' ', text]),
  ];
}

function Diff({ path, before, after, id, ui }) {
  const rows = diffLines(before, after);
  const open = ui.expanded.has(id);
  const shown = open ? rows : rows.slice(0, 60);
  return html`<div class="diff">
    ${path ? html`<div class="path">${path}</div>` : null}
    <pre>${shown.map(([sign, text]) => html`<span class=${sign === '+' ? 'add' : sign === '-' ? 'del' : 'ctx'}>${sign} ${text}${'\n'}</span>`)}</pre>
    ${
      rows.length > 60
        ? html`<button class="link expand" aria-expanded=${open} onClick=${() => ui.toggle(id)}>
          ${open ? 'Show less' : `Show all ${rows.length.toLocaleString('en')} diff lines`}
        </button>`
        : null
    }
  </div>`;
}

function ToolInput({ call, ui, id, needle }) {
  const input = call.input;
  const name = call.tool_name ?? '';
  if (input === undefined || input === null || typeof input !== 'object') {
    return html`<${Clamped} text=${str(input ?? call.content)} id=${id} ui=${ui} needle=${needle} />`;
  }
  if (name === 'Bash' && typeof input.command === 'string') {
    return html`${input.description ? html`<div class="muted">${str(input.description)}</div>` : null}
      <${Clamped} className="terminal" text=${`$ ${input.command}`} id=${id} ui=${ui} needle=${needle} />`;
  }
  if (name === 'Edit' && typeof input.old_string === 'string' && typeof input.new_string === 'string') {
    return html`<${Diff} path=${str(input.file_path)} before=${input.old_string} after=${input.new_string} id=${id} ui=${ui} />`;
  }
  if (name === 'MultiEdit' && Array.isArray(input.edits)) {
    return input.edits.map(
      (edit, i) =>
        html`<${Diff} path=${i === 0 ? str(input.file_path) : ''} before=${str(edit?.old_string)} after=${str(edit?.new_string)} id=${`${id}:${i}`} ui=${ui} />`,
    );
  }
  if (name === 'Write' && typeof input.content === 'string') {
    return html`<${Diff} path=${str(input.file_path)} before="" after=${input.content} id=${id} ui=${ui} />`;
  }
  if (name === 'Read' && typeof input.file_path === 'string') {
    const range =
      input.offset !== undefined || input.limit !== undefined
        ? ` (from line ${str(input.offset ?? 1)}${input.limit !== undefined ? `, ${str(input.limit)} lines` : ''})`
        : '';
    return html`<div class="path">${input.file_path}${range}</div>`;
  }
  return html`<${Clamped} text=${JSON.stringify(input, null, 2)} id=${id} ui=${ui} needle=${needle} />`;
}

function summary(call) {
  const input = call.input ?? {};
  if (typeof input !== 'object') return '';
  const text =
    input.command ?? input.file_path ?? input.pattern ?? input.description ?? input.query ?? input.url ?? '';
  return typeof text === 'string' ? text.split('\n')[0].slice(0, 160) : '';
}

function ToolCard({ entry, ui, needle, ended }) {
  const { call, result } = entry;
  const failed = result?.is_error === true;
  // a call with no result in a task that has ended (failed, interrupted) never will have one: it does not run
  const state = result === undefined ? (ended ? 'cut' : 'running') : failed ? 'error' : 'done';
  const look = state === 'cut' ? 'error' : state;
  const took =
    result !== undefined ? (Date.parse(result.timestamp) - Date.parse(call.timestamp)) / 1000 : undefined;
  return html`<article class=${`card card-${look}`} aria-label=${`${call.tool_name ?? 'tool'} call`}>
    <header class="card-head">
      <span class="tool-name">${call.tool_name ?? 'tool'}</span>
      <span class="summary">${summary(call)}</span>
      <span class=${`state state-${look}`}>${STATE_LABELS[state]}</span>
      ${took !== undefined && Number.isFinite(took) ? html`<span class="muted">${fmt.seconds(took)}</span>` : null}
    </header>
    <div class="card-section">
      <div class="card-label">Input</div>
      <${ToolInput} call=${call} ui=${ui} id=${`${entry.key}:in`} needle=${needle} />
    </div>
    ${
      result !== undefined
        ? html`<div class=${`card-section${failed ? ' out-error' : ''}`}>
          <div class="card-label">${failed ? 'Error' : 'Result'}</div>
          <${Clamped}
            className=${call.tool_name === 'Bash' ? 'terminal' : 'text'}
            text=${result.content}
            id=${`${entry.key}:out`}
            ui=${ui}
            needle=${needle}
          />
        </div>`
        : null
    }
    ${entry.children.length ? html`<div class="muted sub-note">Sub-agent output below (${entry.children.length} entries)</div>` : null}
  </article>`;
}

const STATE_LABELS = { running: 'running', cut: 'no result', error: 'error', done: 'ok' };

/** `ended`: the task has ended, so a tool call without a result will get none. */
export function OutputRow({ entry, ui, needle, ended = false }) {
  const body =
    entry.kind === 'tool'
      ? html`<${ToolCard} entry=${entry} ui=${ui} needle=${needle} ended=${ended} />`
      : html`<${LineRow} entry=${entry} ui=${ui} needle=${needle} />`;
  return entry.depth > 0
    ? html`<div class=${`nested depth-${Math.min(entry.depth, 4)}`}>${body}</div>`
    : body;
}

export function estimateHeight(entry) {
  if (entry.kind === 'tool') return 150;
  if (entry.line.type === 'thinking') return 32;
  const lines = Math.min(CLAMP_LINES, 1 + (entry.line.content.match(/\n/g)?.length ?? 0));
  return 14 + lines * 20;
}
