// Live follow of a task's agent output as Server-Sent Events, formatted from the store's one follow: the lines already
// written, then each new line as it lands, resumable with Last-Event-ID, and an `end` event once the task is final
// (or deleted). Each batch waits for the socket's `drain`: a client that stops reading holds one batch, not the file.
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import { quote, TaskLogsError } from '../contract/errors.ts';
import { TASK_FILES } from '../contract/task-files.ts';
import { ownerIsGone } from '../ops/owner-gone.ts';
import type { TaskStore } from '../store/task-store.ts';
import { FollowQuery, parseRequest } from './api-schemas.ts';

const HEARTBEAT_MS = 15_000;

export async function followOutput(
  ctx: Context,
  store: TaskStore,
  taskId: string,
  options: { pollMs: number },
): Promise<void> {
  const query = parseRequest(FollowQuery, ctx.query, 'query');
  const lastEventId = ctx.get('Last-Event-ID');
  if (lastEventId !== '' && !/^\d{1,15}$/.test(lastEventId)) {
    throw new TaskLogsError('REQUEST_INVALID', `Last-Event-ID ${quote(lastEventId)} is not a line number`);
  }
  await store.folder(taskId);
  const after = lastEventId !== '' ? Number(lastEventId) : (query.after ?? 0);

  // a small buffer: what a stalled client can cost is this, the socket's buffers and one batch
  const stream = new PassThrough({ highWaterMark: 16 * 1024 });
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  ctx.set({ 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  ctx.type = 'text/event-stream; charset=utf-8';
  ctx.status = 200;
  ctx.body = stream;

  const gone = new AbortController();
  const stop = () => gone.abort();
  ctx.req.on('close', stop);
  stream.on('close', stop);
  const send = async (text: string): Promise<void> => {
    if (stream.write(text)) return;
    await once(stream, 'drain', { signal: gone.signal });
  };

  const run = async (): Promise<void> => {
    await send('retry: 1000\n\n');
    let lastWrite = Date.now();
    for await (const event of store.follow(taskId, TASK_FILES.agentOutput, {
      after,
      pollMs: options.pollMs,
      signal: gone.signal,
      isInterrupted: ownerIsGone,
    })) {
      if (event.type === 'lines') {
        let chunk = '';
        for (const line of event.lines) chunk += `id: ${line.n}\ndata: ${line.text}\n\n`;
        await send(chunk);
        lastWrite = Date.now();
      } else if (event.type === 'end') {
        stream.end(
          `event: end\ndata: ${JSON.stringify({ status: event.status, last_line: event.lastLine })}\n\n`,
        );
        return;
      } else if (Date.now() - lastWrite >= HEARTBEAT_MS) {
        await send(': keep-alive\n\n');
        lastWrite = Date.now();
      }
    }
  };
  run().then(
    () => {
      if (!stream.destroyed && !stream.writableEnded) stream.end();
    },
    (error: unknown) => {
      if (gone.signal.aborted || stream.destroyed) return; // the client went away: not an error
      stream.end(
        `event: error\ndata: ${JSON.stringify({ message: 'the follow stopped: the task could not be read' })}\n\n`,
      );
      ctx.app.emit('error', error, ctx);
    },
  );
}
