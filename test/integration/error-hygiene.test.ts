import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { describe, expect, it, onTestFinished } from 'vitest';
import { TaskLogsError } from '../../src/contract/errors.ts';
import { errorsAsJson } from '../../src/http/errors-as-json.ts';

async function appThrowing(thrown: unknown) {
  const app = new Koa();
  app.silent = true;
  const logged: unknown[] = [];
  app.on('error', (error: unknown) => logged.push(error));
  app.use(errorsAsJson);
  app.use(() => {
    throw thrown;
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const response = await fetch(url);
  return { status: response.status, text: await response.text(), logged };
}

describe('error answers', () => {
  it.each([
    [new TaskLogsError('REQUEST_INVALID', "cannot create '/srv/private/logs/task-x': EACCES"), 400],
    [new TaskLogsError('WRITER_CLOSED', 'the writer at /var/lib/task-logs stopped'), 503],
    [Object.assign(new Error("EACCES: permission denied, open '/srv/private/x'"), { code: 'EACCES' }), 500],
    [new RangeError('Invalid time value at /srv/private/src/x.ts:1:2'), 500],
    [Object.assign(new Error('boom /srv/private/y'), { status: 400, expose: true }), 400],
  ])('%s: JSON with a code, no stack, no file path', async (thrown, status) => {
    const answer = await appThrowing(thrown);
    expect(answer.status).toBe(status);
    const body = JSON.parse(answer.text) as { error: { code: string; message: string } };
    expect(body.error.code).toMatch(/^[A-Z_]+$/);
    expect(answer.text).not.toContain('/srv/private');
    expect(answer.text).not.toMatch(/\.ts:\d+/);
    expect(answer.logged).toHaveLength(status === 500 ? 1 : 0); // only our own failures are logged
  });

  it.each(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE'])(
    'a client that went away (%s) is not logged as an unexpected error',
    async (code) => {
      const answer = await appThrowing(Object.assign(new Error('socket hang up'), { code }));
      expect(answer.logged).toEqual([]);
    },
  );
});
