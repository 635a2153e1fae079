// JSONL files as HTTP answers: a streamed JSON array by default, raw lines on request, and pages that can resume.
import { Readable } from 'node:stream';
import type { Context } from 'koa';
import type { TaskFileName } from '../contract/task-files.ts';
import type { Line } from '../store/line-reader.ts';
import type { TaskStore } from '../store/task-store.ts';
import { LinesQuery, parseRequest } from './api-schemas.ts';

const BATCH_BYTES = 64 * 1024;

/** Joins streamed lines into a JSON array, in ~64 KB pieces (one small string per line would cost more than it carries). */
export async function* asJsonArray(lines: AsyncIterable<Line>): AsyncGenerator<string> {
  let out = '[';
  let first = true;
  for await (const line of lines) {
    out += first ? line.text : `,${line.text}`;
    first = false;
    if (out.length >= BATCH_BYTES) {
      yield out;
      out = '';
    }
  }
  yield `${out}]`;
}

export async function* asJsonl(lines: AsyncIterable<Line>): AsyncGenerator<string> {
  let out = '';
  for await (const line of lines) {
    out += `${line.text}\n`;
    if (out.length >= BATCH_BYTES) {
      yield out;
      out = '';
    }
  }
  if (out) yield out;
}

export async function sendLines(
  ctx: Context,
  store: TaskStore,
  taskId: string,
  file: TaskFileName,
): Promise<void> {
  const query = parseRequest(LinesQuery, ctx.query, 'query');
  await store.folder(taskId); // 404 before any byte is sent
  const raw =
    query.format === 'jsonl' ||
    (query.format === undefined &&
      ctx.accepts('application/json', 'application/x-ndjson') === 'application/x-ndjson');
  ctx.type = raw ? 'application/x-ndjson; charset=utf-8' : 'application/json; charset=utf-8';
  const after = query.after ?? 0;
  if (query.limit === undefined) {
    const lines = store.lines(taskId, file, { after });
    ctx.body = Readable.from(raw ? asJsonl(lines) : asJsonArray(lines));
    return;
  }
  // a page: at most 1,000 lines, gathered first so the resume point can go in the headers
  const page: Line[] = [];
  for await (const line of store.lines(taskId, file, { after, limit: query.limit })) page.push(line);
  const next = page.at(-1)?.n ?? after;
  ctx.set('X-Next-After', String(next));
  if (page.length === query.limit) {
    const url = new URL(ctx.originalUrl, 'http://x');
    url.searchParams.set('after', String(next));
    ctx.set('Link', `<${url.pathname}${url.search}>; rel="next"`);
  }
  ctx.body = raw
    ? page.map((line) => `${line.text}\n`).join('')
    : `[${page.map((line) => line.text).join(',')}]`;
}
