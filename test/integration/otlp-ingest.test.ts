import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OTLP } from '../../src/ingest/otlp-schema.ts';
import { type CapturedRequest, otlpCapture, replay } from '../helpers/otlp-capture.ts';
import { recordSampleTask } from '../helpers/sample-task.ts';
import { testServer } from '../helpers/server.ts';
import { readTaskFolder, type TaskFolder } from '../helpers/task-files.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { withEnv } from '../helpers/with-env.ts';

/** Records the sample task in-process and captures what the SDK's own OTLP exporters send for it. */
async function sampleTaskAndPayloads(taskId: string, protocol: 'http/protobuf' | 'http/json', gzip: boolean) {
  const capture = await otlpCapture();
  const local = await tempLogsDir();
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: capture.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    OTEL_EXPORTER_OTLP_COMPRESSION: gzip ? 'gzip' : 'none',
  };
  withEnv(env);
  const sender = testTelemetry(local, env);
  await recordSampleTask(sender.tasks, { taskId, lines: 20 });
  await sender.forceFlush();
  return { local: readTaskFolder(join(local, taskId)), requests: capture.requests };
}

function withoutWriteTime(folder: TaskFolder) {
  const { updated_at: _, ...metadata } = folder.metadata!;
  return { ...folder, metadata };
}

// JSONL lines compared as a set: across requests lines land in arrival order
function sortedLines(folder: TaskFolder) {
  const key = (line: unknown) => JSON.stringify(line);
  return {
    ...withoutWriteTime(folder),
    webhookFlow: [...folder.webhookFlow].sort((a, b) => key(a).localeCompare(key(b))),
    agentOutput: [...folder.agentOutput].sort((a, b) => key(a).localeCompare(key(b))),
  };
}

describe('the OTLP ingest (central mode) takes what the OpenTelemetry SDK exporters send', () => {
  const cases = [
    ['http/protobuf', true],
    ['http/protobuf', false],
    ['http/json', true],
    ['http/json', false],
  ] as const;
  it.each(cases)(
    'writes the same five files from %s (gzip %s) as the in-process exporters do',
    async (protocol, gzip) => {
      const { local, requests } = await sampleTaskAndPayloads('task-central', protocol, gzip);
      const types = new Set(requests.map((r) => r.headers['content-type']));
      expect(types).toEqual(
        new Set([protocol === 'http/json' ? 'application/json' : 'application/x-protobuf']),
      );
      expect(new Set(requests.map((r) => r.headers['content-encoding']))).toEqual(
        new Set([gzip ? 'gzip' : undefined]),
      );
      expect(new Set(requests.map((r) => r.path))).toEqual(new Set(['/v1/traces', '/v1/logs']));

      const central = await tempLogsDir();
      const server = await testServer(central);
      for (const request of requests) {
        const answer = await replay(server.url, request);
        expect(answer.status).toBe(200);
        expect(answer.headers.get('content-type')).toBe(request.headers['content-type']);
        // full success: partial_success unset, so an empty message
        if (protocol === 'http/json') expect(await answer.json()).toEqual({});
        else expect((await answer.arrayBuffer()).byteLength).toBe(0);
      }
      await server.telemetry.forceFlush();
      expect(withoutWriteTime(readTaskFolder(join(central, 'task-central')))).toEqual(
        withoutWriteTime(local),
      );
      expect(local.agentOutput).toHaveLength(26);
    },
  );

  it('writes the same folder from shuffled, repeated single-item requests from two services', async () => {
    const { local, requests } = await sampleTaskAndPayloads('task-shuffled', 'http/json', false);
    // every span and log record in a request of its own, alternately from two services (two resources)
    const singles: CapturedRequest[] = [];
    let n = 0;
    for (const request of requests) {
      const body = JSON.parse(request.body.toString());
      const resources = body.resourceSpans ?? body.resourceLogs;
      for (const resource of resources) {
        for (const scope of resource.scopeSpans ?? resource.scopeLogs) {
          for (const item of scope.spans ?? scope.logRecords) {
            const service = { key: 'service.name', value: { stringValue: `service-${n++ % 2}` } };
            const one = {
              resource: { attributes: [service] },
              [scope.spans ? 'scopeSpans' : 'scopeLogs']: [
                { scope: scope.scope, [scope.spans ? 'spans' : 'logRecords']: [item] },
              ],
            };
            const wrapped = body.resourceSpans ? { resourceSpans: [one] } : { resourceLogs: [one] };
            singles.push({ ...request, body: Buffer.from(JSON.stringify(wrapped)) });
          }
        }
      }
    }
    expect(singles.length).toBeGreaterThan(30);
    // a fixed shuffle (reproducible), every request sent twice, the repeats after a flush (a Collector's retry)
    const shuffled = singles
      .map((request, i) => ({ request, order: (i * 7919) % singles.length }))
      .sort((a, b) => a.order - b.order)
      .map((x) => x.request);
    const central = await tempLogsDir();
    const server = await testServer(central);
    for (const request of shuffled) expect((await replay(server.url, request)).status).toBe(200);
    await server.telemetry.forceFlush();
    for (const request of shuffled.reverse()) expect((await replay(server.url, request)).status).toBe(200);
    await server.telemetry.forceFlush();

    const there = readTaskFolder(join(central, 'task-shuffled'));
    expect(there.webhookFlow).toHaveLength(local.webhookFlow.length);
    expect(there.agentOutput).toHaveLength(local.agentOutput.length);
    expect(sortedLines(there)).toEqual(sortedLines(local));
  });

  it('takes one task split across two services (two resources) in one request', async () => {
    const { local, requests } = await sampleTaskAndPayloads('task-split', 'http/protobuf', false);
    const central = await tempLogsDir();
    const server = await testServer(central);
    for (const request of requests) {
      const type = request.path === '/v1/traces' ? OTLP.traceRequest : OTLP.logsRequest;
      const field = request.path === '/v1/traces' ? 'resourceSpans' : 'resourceLogs';
      const inner = request.path === '/v1/traces' ? 'scopeSpans' : 'scopeLogs';
      const items = request.path === '/v1/traces' ? 'spans' : 'logRecords';
      const message = type.toObject(type.decode(request.body)) as Record<string, Record<string, unknown>[]>;
      // the same items, dealt out to two resources in one request
      const split = [0, 1].map((half) => ({
        resource: { attributes: [{ key: 'service.name', value: { stringValue: `service-${half}` } }] },
        [inner]: (message[field]![0]![inner] as Record<string, unknown[]>[]).map((scope) => ({
          ...scope,
          [items]: scope[items]!.filter((_, i) => i % 2 === half),
        })),
      }));
      const body = Buffer.from(type.encode(type.fromObject({ [field]: split })).finish());
      expect((await replay(server.url, request, body)).status).toBe(200);
    }
    await server.telemetry.forceFlush();
    expect(sortedLines(readTaskFolder(join(central, 'task-split')))).toEqual(sortedLines(local));
  });
});
