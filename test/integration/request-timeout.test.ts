// A request must arrive whole within the request timeout (60 s in the server; shortened here): a slow sender is
// answered 408 and let go, on a webhook receiver as on the OTLP ingest.
import { once } from 'node:events';
import { type IncomingMessage, request } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/http/server.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

describe('the request timeout', () => {
  it.each(['/webhooks/github', '/v1/logs'])(
    'answers a body that never finishes on %s with 408',
    async (path) => {
      const config = loadConfig({ env: { TASK_LOGS_DIR: await tempLogsDir(), PORT: '0' } });
      const server = await startServer(config, { log: () => undefined, requestTimeoutMs: 500 });
      onTestFinished(() => server.close());
      const url = new URL(server.url);
      const req = request({
        host: url.hostname,
        port: url.port,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': '1000' },
      });
      req.on('error', () => undefined);
      req.write('{"a":'); // and nothing more
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      let text = '';
      for await (const chunk of res) text += String(chunk);
      expect(res.statusCode).toBe(408);
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'REQUEST_INVALID' } });
    },
  );
});
