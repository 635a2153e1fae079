// The attribute limits an operator sets for the OTLP export (OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
// OTEL_ATTRIBUTE_COUNT_LIMIT and their span, event and link forms, which NodeSDK applies to its providers) must not
// cut what the files keep: they are the task's audit trail. Registered as `npm start` and the worker run it.
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { logs } from '@opentelemetry/api';
import { describe, expect, it, onTestFinished } from 'vitest';
import { TaskRecorder } from '../../src/instrumentation/task-recorder.ts';
import { expectTaskPassesChecker } from '../helpers/check-task.ts';
import { fakeCollector, stringsIn } from '../helpers/fake-collector.ts';
import { recordSampleTask } from '../helpers/sample-task.ts';
import { comparable, readTaskFolder } from '../helpers/task-files.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { withEnv } from '../helpers/with-env.ts';

const INPUT = { path: '/srv/app/src/queue/retry-loop.ts', reason: 'the fixed delay between attempts' };

// every limit NodeSDK reads from the environment for its TracerProvider and LoggerProvider, set tight
const TIGHT_LIMITS = {
  OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '10',
  OTEL_ATTRIBUTE_COUNT_LIMIT: '2',
  OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '10',
  OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '2',
  OTEL_SPAN_EVENT_COUNT_LIMIT: '0',
  OTEL_SPAN_LINK_COUNT_LIMIT: '0',
  OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: '1',
  OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: '1',
  OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT: '10',
  OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT: '2',
};

const LONG_RESULT = `Analysis: the retry count is fixed at 3. ${'The delay between attempts does not grow. '.repeat(60)}`;

// A full task (input, the webhook stages, an agent run with a tool call, a final result) recorded and read back,
// with what differs from one run to the next (times, durations, trace and span ids, the owner) set aside.
async function recordFullTask(register: boolean): Promise<{ folder: string; files: unknown }> {
  const dir = await tempLogsDir();
  const telemetry = testTelemetry(dir, {}, { register });
  await recordSampleTask(telemetry.tasks, { taskId: 'task-full', result: LONG_RESULT });
  await telemetry.forceFlush();
  await telemetry.shutdown(); // unregisters, so the next start registers its own SDK
  const folder = join(dir, 'task-full');
  return { folder, files: comparable(readTaskFolder(folder)) };
}

describe('the export limits and the files', () => {
  it('an output line keeps every attribute and its whole tool input in 03, with tight export limits set', async () => {
    withEnv({ OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '10', OTEL_ATTRIBUTE_COUNT_LIMIT: '2' });
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir, {}, { register: true });
    const run = telemetry.tasks.start({ taskId: 'task-limits' }).startAgent({ name: 'brain' });
    run.text('Reading the retry loop before changing it.');
    run.toolCall({ name: 'Read', callId: 'call-read-1', input: INPUT });
    run.toolResult('call-read-1', 'export async function retry() { /* ... */ }');
    await telemetry.forceFlush();

    const lines = readFileSync(join(dir, 'task-limits', '03-agent-output.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toMatchObject([
      { type: 'text', seq: 1, content: 'Reading the retry loop before changing it.' },
      { type: 'tool_call', seq: 2, tool_name: 'Read', tool_call_id: 'call-read-1', input: INPUT },
      { type: 'tool_result', seq: 3, tool_name: 'Read', tool_call_id: 'call-read-1', is_error: false },
    ]);
  });

  it('a line from another logger on the global API (a TaskRecorder made without one) is whole in 03 too', async () => {
    withEnv(TIGHT_LIMITS); // NodeSDK's LoggerProvider, which carries these records to the files, reads them
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir, {}, { register: true });
    const run = new TaskRecorder().start({ taskId: 'task-global' }).startAgent({ name: 'brain' });
    run.toolCall({ name: 'Read', callId: 'call-read-1', input: INPUT });
    run.finish({ result: LONG_RESULT });
    await telemetry.forceFlush();

    const files = readTaskFolder(join(dir, 'task-global'));
    expect(files.agentOutput).toMatchObject([
      { type: 'tool_call', seq: 1, tool_name: 'Read', tool_call_id: 'call-read-1', input: INPUT },
    ]);
    expect(files.finalResult?.result).toBe(LONG_RESULT);
  });

  it('a whole task writes the same five files with tight export limits set as without them', async () => {
    // the reference on private providers, which never read the variables (and it saves a second NodeSDK start)
    const { files: without } = await recordFullTask(false);
    withEnv(TIGHT_LIMITS);
    const { folder, files: withLimits } = await recordFullTask(true);
    expect(withLimits).toEqual(without);
    expectTaskPassesChecker(folder, 'completed');
    expect(without).toMatchObject({
      metadata: { task_id: 'task-full', status: 'completed', assigned_agent: 'brain' },
      input: { message: '@agent review the retry logic' },
      finalResult: { success: true, result: LONG_RESULT },
    });
    expect((without as { webhookFlow: unknown[] }).webhookFlow).toHaveLength(6);
    expect((without as { agentOutput: unknown[] }).agentOutput).toHaveLength(6);
  });

  it('a count limit above the SDK default of 128 holds for the files and the export alike', async () => {
    const collector = await fakeCollector();
    const otlp = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
    const limits = { OTEL_ATTRIBUTE_COUNT_LIMIT: '300' };
    withEnv({ ...otlp, ...limits });
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir, { ...otlp, ...limits }, { register: true });
    const fields = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`field_${i}`, i]));
    telemetry.tasks.start({ taskId: 'task-wide' }).recordStage('received', fields);
    logs.getLogger('raw').emit({ body: 'a wide record', attributes: { 'task.id': 'task-wide', ...fields } });
    await telemetry.forceFlush();

    expect(readTaskFolder(join(dir, 'task-wide')).webhookFlow[0]).toMatchObject(fields);
    const [stage] = collected(
      collector.received,
      '/v1/traces',
      'resourceSpans',
      'scopeSpans',
      'spans',
    ).filter((span) => span.name === 'received');
    expect(stage!.attributes.length).toBeGreaterThan(200);
    const [record] = collected(collector.received, '/v1/logs', 'resourceLogs', 'scopeLogs', 'logRecords');
    expect(record!.attributes).toHaveLength(201);
  });

  // what leaves over OTLP is cut as the SDK would cut it: registered (NodeSDK, whose LoggerProvider also cuts log
  // records itself) and on private providers
  it.each([true, false])(
    'the OTLP export is cut to the limits and the files are whole (register: %s)',
    async (register) => {
      const collector = await fakeCollector();
      const otlp = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
      const limits = { OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '12', OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '3' };
      withEnv({ ...otlp, ...limits }); // the SDK and the OTLP exporters read the variables themselves
      const dir = await tempLogsDir();
      const telemetry = testTelemetry(dir, { ...otlp, ...limits }, { register });
      await recordSampleTask(telemetry.tasks, { taskId: 'task-cut-0123456789', result: LONG_RESULT });
      await telemetry.forceFlush();

      const spans = collected(collector.received, '/v1/traces', 'resourceSpans', 'scopeSpans', 'spans');
      const agent = spans.find((span) => span.name === 'invoke_agent brain')!;
      expect(agent.attributes).toHaveLength(3);
      // the agent span's attributes: its start's and its end's, the result text among them
      expect(agent.droppedAttributesCount).toBeGreaterThan(10);
      for (const span of spans) {
        expect(span.attributes.length).toBeLessThanOrEqual(3);
        for (const { key, value } of span.attributes)
          if (value.stringValue !== undefined && key !== 'task.id')
            expect(value.stringValue.length).toBeLessThanOrEqual(12);
        // task.id is never cut: cut, it would name another task (a task-logs server fed through the Collector would
        // write into that task's folder); the count limit may still leave it out
        expect([undefined, 'task-cut-0123456789']).toContain(attributeOf(span, 'task.id'));
      }
      expect(attributeOf(agent, 'task.id')).toBe('task-cut-0123456789');
      const records = collected(collector.received, '/v1/logs', 'resourceLogs', 'scopeLogs', 'logRecords');
      const toolCall = records.find((record) => attributeOf(record, 'task.output.type') === 'tool_call')!;
      expect(attributeOf(toolCall, 'task.tool.input')).toBe('{"file_path"');
      expect(attributeOf(toolCall, 'task.id')).toBe('task-cut-0123456789');
      expect(toolCall.attributes.length).toBeGreaterThan(3); // the span count limit is not the log records'

      const files = readTaskFolder(join(dir, 'task-cut-0123456789'));
      expect(files.finalResult?.result).toBe(LONG_RESULT);
      expect(files.agentOutput.find((line) => line.type === 'tool_call')).toMatchObject({
        input: { file_path: 'src/queue.ts' },
      });
      expect(files.metadata).toMatchObject({ task_id: 'task-cut-0123456789', status: 'completed' });
    },
  );
});

// a GitHub token's shape, which the default rules redact whole; its first part alone matches no rule
const TOKEN = `ghp_${'a1B2c3D4e5'.repeat(3)}a1B2c3`;

describe('the export limits and redaction', () => {
  it.each([true, false])(
    'a secret is redacted whole before the export cuts it, never cut first (register: %s)',
    async (register) => {
      const collector = await fakeCollector();
      const env = {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '30', // the cut falls inside the token
      };
      withEnv(env);
      const telemetry = testTelemetry(await tempLogsDir(), env, { register });
      const run = telemetry.tasks.start({ taskId: 'task-secret' }).startAgent({ name: 'brain' });
      run.toolCall({ name: 'Bash', callId: 'call-1', input: { command: `echo ${TOKEN}` } });
      run.finish({ result: `echo ${TOKEN}` });
      await telemetry.forceFlush();

      const sent = collector.received.flatMap((request) => stringsIn(JSON.parse(request.body.toString())));
      expect(sent).toContain('{"command":"echo [REDACTED:git'); // the log record's tool input, redacted then cut
      expect(sent).toContain('echo [REDACTED:github-pat]'); // the span's result text
      expect(sent.filter((value) => value.includes('ghp_'))).toEqual([]);
    },
  );
});

interface OtlpItem {
  name?: string;
  attributes: { key: string; value: { stringValue?: string } }[];
  droppedAttributesCount?: number;
  body?: { stringValue?: string };
}

// the spans or log records of every OTLP/JSON request to `path`
function collected(
  received: { path: string; body: Buffer }[],
  path: string,
  resources: string,
  scopes: string,
  items: string,
): OtlpItem[] {
  type Body = Record<string, Record<string, Record<string, OtlpItem[]>[]>[]>;
  return received
    .filter((request) => request.path === path)
    .flatMap((request) =>
      (JSON.parse(request.body.toString()) as Body)[resources]!.flatMap((resource) =>
        resource[scopes]!.flatMap((scope) => scope[items]!),
      ),
    );
}

function attributeOf(item: OtlpItem, key: string): string | undefined {
  return item.attributes.find((attribute) => attribute.key === key)?.value.stringValue;
}

// The OTLP export's batch processors drop what does not fit in their queue (2,048 by default), silently: a burst of
// output (an agent printing a build log) lost most of its export. The standard OTEL_BLRP_* / OTEL_BSP_* variables
// size them, as NodeSDK reads them; startTelemetry made its processors with the defaults whatever they said.
describe('the OTLP export queue', () => {
  it('OTEL_BLRP_MAX_QUEUE_SIZE holds a burst of output lines whole for the export', async () => {
    const collector = await fakeCollector();
    const otlp = {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BLRP_MAX_QUEUE_SIZE: '4000',
      OTEL_BSP_MAX_QUEUE_SIZE: '4000',
    };
    withEnv(otlp);
    const telemetry = testTelemetry(await tempLogsDir(), otlp);
    await recordSampleTask(telemetry.tasks, { taskId: 'task-burst', lines: 3000 }); // emitted without a pause
    await telemetry.forceFlush();
    const records = collected(collector.received, '/v1/logs', 'resourceLogs', 'scopeLogs', 'logRecords');
    const lines = records.filter((record) => /^line \d+$/.test(String(record.body?.stringValue)));
    expect(new Set(lines.map((record) => record.body?.stringValue)).size).toBe(3000);
    expect(lines).toHaveLength(3000);
  });
});

// A collector that takes the connection and never answers: the exporter waits for its timeout (10 s by default), and
// shutdown gives up at its own limit (10 s by default, first). It gave up silently, so a dead Datadog pipeline went
// unsaid with the default settings; the README promises shutdown reports a collector that is down.
describe('a collector that never answers', () => {
  it('shutdown says it stopped waiting for the export, and the files are whole', async () => {
    const held: Socket[] = [];
    const silent = createServer((socket) => {
      held.push(socket);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => {
      for (const socket of held) socket.destroy();
      silent.close();
    });
    const otlp = {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    };
    withEnv(otlp);
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir, otlp, { shutdownTimeoutMs: 300 });
    await recordSampleTask(telemetry.tasks, { taskId: 'task-silent' });
    // the files do not wait for the export: written by the writer's own flushes (waited for before the shutdown,
    // whose 0.3 s a loaded machine can spend before the writer's last flush is done)
    await expect
      .poll(() => readTaskFolder(join(dir, 'task-silent')).metadata?.status, { interval: 20 })
      .toBe('completed');
    await telemetry.shutdown();
    expect(telemetry.reports.join('\n')).toMatch(
      /telemetry did not shut down within 0\.3 s \(an OTLP export or the disk still waiting: is the collector down\?\)/,
    );
    expect(readTaskFolder(join(dir, 'task-silent')).finalResult).toMatchObject({ success: true });
  });
});
