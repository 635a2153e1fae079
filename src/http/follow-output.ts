// Live follow of a task's agent output as Server-Sent Events: the lines already written, then each new line as it
// lands (polled every 100 ms by default), resumable with Last-Event-ID, and an `end` event once the task is final.
import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import { quote, TaskLogsError } from '../contract/errors.ts';
import { TASK_FILES, type TaskMetadata } from '../contract/task-files.ts';
import { isFinalStatus } from '../contract/task-status.ts';
import { readLines } from '../store/line-reader.ts';
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

  const stream = new PassThrough();
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  ctx.set({ 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  ctx.type = 'text/event-stream; charset=utf-8';
  ctx.status = 200;
  ctx.body = stream;

  let closed = false;
  let offset = 0;
  let lastLine = 0;
  let timer: NodeJS.Timeout | undefined;
  let lastWrite = Date.now();
  const stop = () => {
    closed = true;
    if (timer !== undefined) clearTimeout(timer);
  };
  ctx.req.on('close', stop);
  stream.write('retry: 1000\n\n');

  const poll = async (): Promise<void> => {
    if (closed) return;
    // metadata first: if the task is final now, every line it wrote is already in the file
    const metadata = await store.readJson<TaskMetadata>(taskId, TASK_FILES.metadata).catch(() => undefined);
    const handle = await store.openFile(taskId, TASK_FILES.agentOutput).catch(() => undefined);
    let sent = 0;
    if (
      handle === undefined &&
      (await store.isCompressed(taskId, TASK_FILES.agentOutput).catch(() => false))
    ) {
      // a compressed task is long finished: send what it has, then the end
      let chunk = '';
      for await (const line of store.lines(taskId, TASK_FILES.agentOutput, {
        after: Math.max(after, lastLine),
      })) {
        chunk += `id: ${line.n}\ndata: ${line.text}\n\n`;
        lastLine = line.n;
        if (chunk.length > 64 * 1024) {
          stream.write(chunk);
          chunk = '';
        }
      }
      if (chunk) stream.write(chunk);
    }
    if (handle !== undefined) {
      try {
        const lines = readLines(
          handle,
          {
            start: offset,
            firstLineNumber: lastLine + 1,
            after: Math.max(after, lastLine),
            validJsonOnly: true,
          },
          (state) => {
            offset = state.offset;
            lastLine = state.lastLine;
          },
        );
        let chunk = '';
        for await (const line of lines) {
          chunk += `id: ${line.n}\ndata: ${line.text}\n\n`;
          sent++;
          if (chunk.length > 64 * 1024) {
            stream.write(chunk);
            chunk = '';
          }
        }
        if (chunk) stream.write(chunk);
      } finally {
        await handle.close();
      }
    }
    if (closed) return;
    if (sent > 0) lastWrite = Date.now();
    if (isFinalStatus(metadata?.status)) {
      stream.end(
        `event: end\ndata: ${JSON.stringify({ status: metadata!.status, last_line: lastLine })}\n\n`,
      );
      stop();
      return;
    }
    if (Date.now() - lastWrite >= HEARTBEAT_MS) {
      stream.write(': keep-alive\n\n');
      lastWrite = Date.now();
    }
    timer = setTimeout(() => void poll().catch((error) => fail(error)), options.pollMs);
  };
  const fail = (error: unknown) => {
    if (closed) return;
    stream.end(
      `event: error\ndata: ${JSON.stringify({ message: 'the follow stopped: the task could not be read' })}\n\n`,
    );
    stop();
    ctx.app.emit('error', error, ctx);
  };
  void poll().catch(fail);
}
