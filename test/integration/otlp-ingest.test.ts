import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { recordSampleTask } from '../helpers/sample-task.ts';
import { testServer } from '../helpers/server.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { withEnv } from '../helpers/with-env.ts';

describe('the OTLP/JSON ingest (central mode)', () => {
  it('writes the same five files from OTLP as the in-process exporters do', async () => {
    const central = await tempLogsDir();
    const server = await testServer(central);
    const local = await tempLogsDir();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: server.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
    withEnv(env);
    const sender = testTelemetry(local, env);
    await recordSampleTask(sender.tasks, { taskId: 'task-central', lines: 20 });
    await sender.forceFlush();
    await server.telemetry.forceFlush();

    const here = readTaskFolder(join(local, 'task-central'));
    const there = readTaskFolder(join(central, 'task-central'));
    const { updated_at: _a, ...metadataHere } = here.metadata!;
    const { updated_at: _b, ...metadataThere } = there.metadata!;
    expect(metadataThere).toEqual(metadataHere);
    expect(there.input).toEqual(here.input);
    expect(there.webhookFlow).toEqual(here.webhookFlow);
    expect(there.agentOutput).toEqual(here.agentOutput);
    expect(there.finalResult).toEqual(here.finalResult);
    expect(there.agentOutput).toHaveLength(26);
  });

  it('takes gzip bodies, refuses protobuf with 415, malformed requests with 400, and needs the token when one is set', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir, { TASK_LOGS_API_TOKEN: 'a-long-enough-test-token-123' });
    const auth = { authorization: 'Bearer a-long-enough-test-token-123' };
    const request = {
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: '1700000000123000000',
                  body: { stringValue: 'hello from the collector' },
                  attributes: [
                    { key: 'task.id', value: { stringValue: 'task-gz' } },
                    { key: 'task.output.type', value: { stringValue: 'text' } },
                  ],
                  traceId: 'a'.repeat(32),
                  spanId: 'b'.repeat(16),
                },
              ],
            },
          ],
        },
      ],
    };
    const post = (body: Buffer | string, headers: Record<string, string>) =>
      fetch(`${server.url}/v1/logs`, { method: 'POST', headers, body });
    expect((await post(JSON.stringify(request), { 'content-type': 'application/json' })).status).toBe(401);
    const gz = await post(gzipSync(JSON.stringify(request)), {
      ...auth,
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(gz.status).toBe(200);
    expect(await gz.json()).toEqual({});
    await server.telemetry.forceFlush();
    expect(readTaskFolder(join(dir, 'task-gz')).agentOutput).toEqual([
      {
        timestamp: '2023-11-14T22:13:20.123Z',
        type: 'text',
        content: 'hello from the collector',
        trace_id: 'a'.repeat(32),
        span_id: 'b'.repeat(16),
      },
    ]);
    const proto = await post('x', { ...auth, 'content-type': 'application/x-protobuf' });
    expect(proto.status).toBe(415);
    expect(await proto.json()).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    const bad = await post(JSON.stringify({ resourceSpans: 'nope' }), {
      ...auth,
      'content-type': 'application/json',
    });
    expect(bad.status).toBe(200); // resourceSpans is not read by /v1/logs
    const badSpans = await fetch(`${server.url}/v1/traces`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'zz', spanId: 'b'.repeat(16) }] }] }],
      }),
    });
    expect(badSpans.status).toBe(400);
    expect(await badSpans.json()).toMatchObject({
      error: { code: 'REQUEST_INVALID', message: expect.stringContaining('traceId') },
    });
  });
});
