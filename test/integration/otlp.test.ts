import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { fakeCollector } from '../helpers/fake-collector.ts';
import { recordSampleTask } from '../helpers/sample-task.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { withEnv } from '../helpers/with-env.ts';

type OtlpValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
};
interface OtlpSpan {
  name: string;
  traceId: string;
  attributes: { key: string; value: OtlpValue }[];
}

function attributesOf(span: { attributes: { key: string; value: OtlpValue }[] }) {
  return Object.fromEntries(
    span.attributes.map(({ key, value }) => [
      key,
      value.stringValue ??
        (value.intValue !== undefined ? Number(value.intValue) : (value.doubleValue ?? value.boolValue)),
    ]),
  );
}

describe('OTLP alongside the files', () => {
  it('sends the same spans and log records over OTLP/HTTP JSON, with GenAI attributes', async () => {
    const collector = await fakeCollector();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
    withEnv(env); // the OTLP exporters read the standard variables themselves
    const telemetry = testTelemetry(await tempLogsDir(), env);
    const { task } = await recordSampleTask(telemetry.tasks, { taskId: 'task-otlp' });
    await telemetry.forceFlush();

    const traces = collector.received.filter((r) => r.path === '/v1/traces');
    const logs = collector.received.filter((r) => r.path === '/v1/logs');
    expect(traces.length).toBeGreaterThan(0);
    expect(logs.length).toBeGreaterThan(0);
    expect(traces[0]!.contentType).toContain('application/json');

    const spans: OtlpSpan[] = traces.flatMap((r) =>
      JSON.parse(r.body.toString()).resourceSpans.flatMap((rs: { scopeSpans: { spans: OtlpSpan[] }[] }) =>
        rs.scopeSpans.flatMap((ss) => ss.spans),
      ),
    );
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([task.traceId]));
    expect(spans.map((s) => s.name).sort()).toEqual(
      [
        'command_matching',
        'execute_tool Read',
        'immediate_response',
        'invoke_agent brain',
        'queue_push',
        'received',
        'task',
        'task_created',
        'validation',
      ].sort(),
    );
    const agent = attributesOf(spans.find((s) => s.name === 'invoke_agent brain')!);
    expect(agent).toMatchObject({
      'task.id': 'task-otlp',
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.agent.name': 'brain',
      'gen_ai.request.model': 'claude-opus-4-5-20251101',
      'gen_ai.usage.input_tokens': 1500,
      'gen_ai.usage.output_tokens': 800,
      'gen_ai.usage.cache_read.input_tokens': 1000,
      'gen_ai.usage.cache_creation.input_tokens': 200,
    });
    const tool = attributesOf(spans.find((s) => s.name === 'execute_tool Read')!);
    expect(tool).toMatchObject({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'Read' });
    expect(tool['gen_ai.tool.call.id']).toBeTruthy();

    const records = logs.flatMap((r) =>
      JSON.parse(r.body.toString()).resourceLogs.flatMap(
        (rl: { scopeLogs: { logRecords: { traceId: string; body: OtlpValue; attributes: [] }[] }[] }) =>
          rl.scopeLogs.flatMap((sl) => sl.logRecords),
      ),
    );
    expect(records).toHaveLength(6);
    expect(new Set(records.map((r: { traceId: string }) => r.traceId))).toEqual(new Set([task.traceId]));
    expect(records.map((r: { body: OtlpValue }) => r.body.stringValue)).toContain('[SYSTEM] Task started');
    expect(attributesOf(records[0]!)).toMatchObject({ 'task.id': 'task-otlp', 'task.output.type': 'system' });
  });

  it('uses OTLP/HTTP protobuf by default, the standard protocol', async () => {
    const collector = await fakeCollector();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url };
    withEnv(env);
    const telemetry = testTelemetry(await tempLogsDir(), env);
    const { task } = await recordSampleTask(telemetry.tasks, { taskId: 'task-proto' });
    await telemetry.forceFlush();
    const traces = collector.received.filter((r) => r.path === '/v1/traces');
    expect(traces.length).toBeGreaterThan(0);
    expect(traces[0]!.contentType).toBe('application/x-protobuf');
    const body = Buffer.concat(traces.map((r) => r.body));
    expect(body.includes(Buffer.from(task.traceId, 'hex'))).toBe(true);
    expect(body.includes(Buffer.from('invoke_agent brain'))).toBe(true);
    expect(body.includes(Buffer.from('gen_ai.usage.input_tokens'))).toBe(true);
  });

  it('sends nothing over the network when no OTLP endpoint is set', async () => {
    const telemetry = testTelemetry(await tempLogsDir());
    expect(telemetry.config.otlp).toMatchObject({ traces: false, logs: false });
  });
});

/** A collector on loopback that answers every export 400 (the batch is dropped once the exporter gives up); its URL. */
async function refusingCollector(): Promise<string> {
  const collector = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.statusCode = 400;
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => collector.close(() => resolve())));
  return `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
}

describe('OTLP export failures', () => {
  it('are reported while the process runs, when the collector refuses a batch, with no flush asked for', async () => {
    const url = await refusingCollector();
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '20',
      OTEL_BLRP_SCHEDULE_DELAY: '20',
    };
    withEnv(env);
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir, env);
    const run = telemetry.tasks.start({ taskId: 'task-refused' }).startAgent({ name: 'brain' });
    run.text('a line the collector will refuse');
    run.finish({ result: 'done' });
    // the scheduled export fails; nobody calls forceFlush or shutdown
    await expect
      .poll(() => telemetry.reports.find((line) => line.startsWith('OTLP export failed')))
      .toMatch(/not delivered; last error: OTLPExporterError: Bad Request/);
    await telemetry.writer!.forceFlush();
    expect(readFileSync(join(dir, 'task-refused', '03-agent-output.jsonl'), 'utf8')).toContain('will refuse');
  });
});

describe('a report function that throws', () => {
  it('leaves flush and shutdown resolving when the export fails', async () => {
    const url = await refusingCollector();
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    };
    withEnv(env);
    let calls = 0;
    const telemetry = testTelemetry(await tempLogsDir(), env, {
      report: () => {
        calls++;
        throw new Error('a broken report');
      },
    });
    const run = telemetry.tasks.start({ taskId: 'task-broken-report' }).startAgent({ name: 'brain' });
    run.text('a line');
    run.finish({ result: 'done' });
    await expect(telemetry.forceFlush()).resolves.toBeUndefined();
    await expect(telemetry.shutdown()).resolves.toBeUndefined();
    expect(calls).toBeGreaterThan(0);
  });
});
