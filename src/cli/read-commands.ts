// The CLI's reading commands: ls (search), show (one task's summary), tail (its output, -f to follow), stats.

import type { Config } from '../config.ts';
import { TaskLogsError } from '../contract/errors.ts';
import {
  type AgentOutputLine,
  type FinalResult,
  TASK_FILES,
  type TaskFileName,
  type TaskInput,
  type TaskMetadata,
  type WebhookFlowLine,
} from '../contract/task-files.ts';
import { SearchQuery } from '../http/api-schemas.ts';
import { ownerIsGone } from '../ops/owner-gone.ts';
import { type Totals, taskStats } from '../ops/stats.ts';
import { refreshIndex } from '../store/index-refresh.ts';
import type { Line } from '../store/line-reader.ts';
import { TaskStore } from '../store/task-store.ts';
import { openCliIndex } from './cli-index.ts';
import { type Flags, SEARCH_FLAGS } from './flags.ts';
import { bytes, type Out, paint, plain, plainJson, progress, statusColor, table } from './terminal.ts';
import { UsageError } from './usage-error.ts';

export async function ls(config: Config, flags: Flags, out: Out): Promise<number> {
  const raw = Object.fromEntries(
    SEARCH_FLAGS.filter((f) => flags[f] !== undefined).map((f) => [f.replaceAll('-', '_'), flags[f]]),
  );
  const parsed = SearchQuery.safeParse(raw);
  if (!parsed.success) {
    throw new UsageError(
      parsed.error.issues.map((i) => `--${String(i.path[0]).replaceAll('_', '-')}: ${i.message}`).join('; '),
    );
  }
  const index = openCliIndex(config, out.err);
  try {
    if (index.count() === 0 || flags.refresh) await refreshIndex(index, config.logsDir);
    const page = index.search(parsed.data);
    if (flags.json) {
      out.json(page);
      return 0;
    }
    table(
      out,
      ['TASK', 'STATUS', 'PROVIDER', 'AGENT', 'CREATED', 'COST', 'TOKENS'],
      page.tasks.map((t) => [
        t.task_id,
        t.status ?? '-',
        t.provider ?? '-',
        t.assigned_agent ?? '-',
        t.created_at?.replace('T', ' ').slice(0, 19) ?? '-',
        t.cost_usd === null ? '-' : `$${t.cost_usd.toFixed(4)}`,
        t.input_tokens === null ? '-' : String((t.input_tokens ?? 0) + (t.output_tokens ?? 0)),
      ]),
      [undefined, statusColor],
    );
    if (page.next_cursor) out.line(paint(out, 'dim', `more: --cursor ${page.next_cursor}`));
    return 0;
  } finally {
    index.close();
  }
}

async function collect(lines: AsyncIterable<Line>): Promise<unknown[]> {
  const all: unknown[] = [];
  for await (const line of lines) all.push(JSON.parse(line.text));
  return all;
}

export async function show(config: Config, taskId: string, flags: Flags, out: Out): Promise<number> {
  const store = new TaskStore(config.logsDir);
  await store.folder(taskId); // TASK_ID_INVALID / TASK_NOT_FOUND
  const metadata = await readJson<TaskMetadata>(store, taskId, TASK_FILES.metadata);
  const input = await readJson<TaskInput>(store, taskId, TASK_FILES.input);
  const final = await readJson<FinalResult>(store, taskId, TASK_FILES.finalResult);
  const stages = (await collect(store.lines(taskId, TASK_FILES.webhookFlow))) as WebhookFlowLine[];
  const counts: Record<string, number> = {};
  let lines = 0;
  for await (const line of store.lines(taskId, TASK_FILES.agentOutput)) {
    const type = (JSON.parse(line.text) as AgentOutputLine).type;
    counts[type] = (counts[type] ?? 0) + 1;
    lines++;
  }
  if (flags.json) {
    out.json({
      task_id: taskId,
      metadata: metadata ?? null,
      input: input ?? null,
      webhook_flow: stages,
      output_lines: lines,
      output_types: counts,
      final_result: final ?? null,
    });
    return 0;
  }
  const status = metadata?.status ?? 'unknown';
  // every value read from the task is plain()ed before paint(): its own colour codes must not pass as ours
  out.line(`${paint(out, 'bold', taskId)}  ${paint(out, statusColor(status), plain(status))}`);
  if (metadata) {
    out.line(
      plain(
        `  ${metadata.source ?? '-'} / ${metadata.provider ?? '-'}, agent ${metadata.assigned_agent ?? '-'}${metadata.agent_type ? ` (${metadata.agent_type})` : ''}, model ${metadata.model ?? '-'}`,
      ),
    );
    out.line(
      plain(
        `  created ${metadata.created_at ?? '-'}, started ${metadata.started_at ?? '-'}${metadata.completed_at ? `, ended ${metadata.completed_at}` : ''}`,
      ),
    );
  }
  if (input) {
    const meta = input.source_metadata;
    const where = [meta.event_type, meta.repo, meta.issue_number ?? meta.issue_key].filter(Boolean).join(' ');
    out.line(plain(`  input${where ? ` (${where})` : ''}: ${indentLines(input.message, '    ')}`));
  }
  if (stages.length > 0) {
    out.line(paint(out, 'bold', 'stages'));
    for (const stage of stages) {
      const { timestamp: _t, stage: name, duration_ms, trace_id: _tr, span_id: _sp, ...fields } = stage;
      const detail = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      const failed = fields.status === 'failed';
      out.line(
        `  ${plain(String(name)).padEnd(20)} ${`${Number(duration_ms ?? 0).toFixed(1)} ms`.padStart(10)}  ${failed ? paint(out, 'red', plain(detail)) : plain(detail)}`,
      );
    }
  }
  out.line(
    `${paint(out, 'bold', 'output')}: ${lines} ${lines === 1 ? 'line' : 'lines'}${
      lines
        ? ` (${plain(
            Object.entries(counts)
              .map(([t, n]) => `${t} ${n}`)
              .join(', '),
          )})`
        : ''
    }`,
  );
  if (final) {
    const m = final.metrics;
    const cached = [
      m.cache_read_input_tokens ? `${m.cache_read_input_tokens} cache read` : '',
      m.cache_creation_input_tokens ? `${m.cache_creation_input_tokens} cache write` : '',
    ]
      .filter(Boolean)
      .join(', ');
    out.line(
      `${paint(out, 'bold', 'result')}: ${final.success ? paint(out, 'green', 'success') : paint(out, 'red', 'failed')}, ${plain(`$${m.cost_usd}, ${m.input_tokens} tokens in${cached ? ` (${cached})` : ''} / ${m.output_tokens} out, ${m.duration_seconds} s`)}`,
    );
    if (final.error) out.line(`  error: ${paint(out, 'red', plain(indentLines(final.error, '    ')))}`);
    if (final.result) out.line(plain(`  ${indentLines(final.result, '  ')}`));
  }
  return 0;
}

// A task file edited by hand or cut short by a copy (the store's TASK_FILE_INVALID): one line that names it and what
// checks them all
async function readJson<T>(store: TaskStore, taskId: string, file: TaskFileName): Promise<T | undefined> {
  try {
    return await store.readJson<T>(taskId, file);
  } catch (error) {
    if (!(error instanceof TaskLogsError && error.code === 'TASK_FILE_INVALID')) throw error;
    throw new TaskLogsError(
      'TASK_FILE_INVALID',
      `${taskId}'s ${file} is not valid JSON (tasklogs verify lists every broken file)`,
    );
  }
}

// Whole events: every line of the content, the later ones indented under the first (the terminal wraps long ones).
function formatLine(out: Out, text: string): string {
  let line: AgentOutputLine;
  try {
    line = JSON.parse(text) as AgentOutputLine;
  } catch {
    return paint(out, 'red', `(not a whole JSON line) ${plain(text)}`);
  }
  const time = String(line.timestamp ?? '').slice(11, 19);
  const color =
    line.type === 'error'
      ? 'red'
      : line.type === 'tool_call' || line.type === 'tool_result'
        ? 'cyan'
        : line.type === 'thinking'
          ? 'dim'
          : undefined;
  const prefix = `${String(line.type).padEnd(11)} `;
  const content = typeof line.content === 'string' ? line.content : JSON.stringify(line.content);
  const body = plain(
    prefix + indentLines(content.replace(/\n+$/, ''), ' '.repeat(time.length + 1 + prefix.length)),
  );
  return `${paint(out, 'dim', plain(time))} ${color ? paint(out, color, body) : body}`;
}

function indentLines(text: string, indent: string): string {
  return text.split('\n').join(`\n${indent}`);
}

export async function tail(config: Config, taskId: string, flags: Flags, out: Out): Promise<number> {
  const count = flags.lines === undefined ? 20 : Number(flags.lines);
  if (!Number.isInteger(count) || count < 0) {
    throw new UsageError(`--lines ${JSON.stringify(flags.lines)} is not a whole number`);
  }
  const store = new TaskStore(config.logsDir);
  await store.folder(taskId);
  // --json prints each line as JSON that parses to the line's own value, with nothing in it that drives a terminal
  const print = (text: string) => out.line(flags.json ? plainJson(text) : formatLine(out, text));
  const recent: Line[] = [];
  let last = 0;
  for await (const line of store.lines(taskId, TASK_FILES.agentOutput)) {
    recent.push(line);
    if (recent.length > count) recent.shift();
    last = line.n;
  }
  for (const line of recent) print(line.text);
  if (!flags.follow) return 0;
  // the store's one follow (the same as the API's SSE): new lines by byte offset, ends when the task does
  for await (const event of store.follow(taskId, TASK_FILES.agentOutput, {
    after: last,
    pollMs: 200,
    isInterrupted: ownerIsGone,
  })) {
    if (event.type === 'lines') for (const line of event.lines) print(line.text);
    else if (event.type === 'end') {
      if (!flags.json) out.line(paint(out, statusColor(event.status), `-- task ${plain(event.status)} --`));
      return 0;
    }
  }
  return 0;
}

export async function stats(config: Config, flags: Flags, out: Out): Promise<number> {
  const bar = progress('reading tasks', out.err);
  const result = await taskStats({ root: config.logsDir, onProgress: bar.update });
  bar.done();
  if (flags.json) {
    out.json(result);
    return 0;
  }
  const row = (name: string, t: Totals) => [
    name,
    String(t.tasks),
    String(t.completed),
    String(t.failed),
    String(t.running + t.queued),
    `${(t.failure_rate * 100).toFixed(1)}%`,
    `$${t.cost_usd.toFixed(4)}`,
    `$${t.avg_cost_usd.toFixed(4)}`,
    String(t.input_tokens),
    String(t.output_tokens),
    `${t.avg_duration_seconds.toFixed(1)} s`,
    bytes(t.bytes),
  ];
  const header = [
    '',
    'TASKS',
    'DONE',
    'FAILED',
    'ACTIVE',
    'FAIL %',
    'COST',
    'AVG COST',
    'IN TOKENS',
    'OUT TOKENS',
    'AVG TIME',
    'DISK',
  ];
  table(out, header, [row('all', result.total)]);
  out.line(`disk: ${bytes(result.total.bytes)} in all, ${bytes(result.bytes_per_task)} per task`);
  out.line();
  table(
    out,
    ['PROVIDER', ...header.slice(1)],
    Object.entries(result.by_provider).map(([k, v]) => row(k, v)),
  );
  out.line();
  table(
    out,
    ['DAY', ...header.slice(1)],
    Object.entries(result.by_day)
      .slice(-14)
      .map(([k, v]) => row(k, v)),
  );
  return 0;
}
