// The one error middleware, first in the chain: every failure becomes { error: { code, message } } with a status
// from one table. Unknown errors are a 500 with a generic message, and are still logged through app 'error'.
import type { Context, Next } from 'koa';
import { type ErrorCode, TaskLogsError } from '../contract/errors.ts';
import { isClientGone } from './client-gone.ts';
import { withoutPaths } from './without-paths.ts';

export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  CONFIG_INVALID: 500,
  TASK_ID_INVALID: 400,
  REQUEST_INVALID: 400,
  QUEUE_MESSAGE_INVALID: 400,
  UNAUTHORIZED: 401,
  TASK_NOT_FOUND: 404,
  TASK_EXISTS: 409,
  FILE_NOT_FOUND: 404,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  SIGNATURE_INVALID: 401,
  WEBHOOK_NOT_CONFIGURED: 503,
  QUEUE_UNAVAILABLE: 503,
  WRITER_CLOSED: 503,
  TELEMETRY_DROPPED: 503,
  STORAGE_UNAVAILABLE: 503,
  UNSAFE_PATH: 404,
  TASK_FILE_INVALID: 500,
  INTERNAL: 500,
};

const INTERNAL = new TaskLogsError('INTERNAL', 'internal error');

export async function errorsAsJson(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      throw new TaskLogsError('NOT_FOUND', `no route for ${ctx.method} ${ctx.path.slice(0, 200)}`);
    }
  } catch (thrown) {
    if (isClientGone(thrown)) {
      ctx.status = 400; // nobody is left to read it; not an error of ours
      ctx.body = { error: { code: 'REQUEST_INVALID', message: 'the client closed the connection' } };
      return;
    }
    const err = toTaskLogsError(thrown);
    ctx.status = STATUS_BY_CODE[err.code];
    // the operator must hear of a disk that refuses writes or a damaged file: one line in the log, not a stack
    if (err === INTERNAL || err.code === 'STORAGE_UNAVAILABLE' || err.code === 'TASK_FILE_INVALID')
      ctx.app.emit('error', thrown, ctx);
    if (err.code === 'UNAUTHORIZED') ctx.set('WWW-Authenticate', 'Bearer realm="task-logs"');
    // the rest of an oversized body is not read: close the connection rather than drain it
    if (err.code === 'PAYLOAD_TOO_LARGE' && !ctx.req.complete) ctx.set('Connection', 'close');
    // the request path is the client's own; any other path in a message is ours and stays here
    const message =
      err.code === 'NOT_FOUND' || err.code === 'METHOD_NOT_ALLOWED' ? err.message : withoutPaths(err.message);
    ctx.body = { error: { code: err.code, message } };
  }
}

function toTaskLogsError(thrown: unknown): TaskLogsError {
  if (thrown instanceof TaskLogsError) return thrown;
  // Koa and the router throw http-errors for malformed requests (bad URL encoding, 405): safe to pass on
  const status = (thrown as { status?: unknown; expose?: unknown }).status;
  const expose = (thrown as { expose?: unknown }).expose === true;
  if (typeof status === 'number' && status >= 400 && status < 500 && expose) {
    const message = thrown instanceof Error ? thrown.message : 'bad request';
    if (status === 405) return new TaskLogsError('METHOD_NOT_ALLOWED', message);
    if (status === 404) return new TaskLogsError('NOT_FOUND', message);
    if (status === 413) return new TaskLogsError('PAYLOAD_TOO_LARGE', message);
    return new TaskLogsError('REQUEST_INVALID', message);
  }
  return INTERNAL;
}
