// The task's own spans with OTLP trace export off come from TaskFilesTracer (no SDK span each), with it on from the
// SDK: the five files must not tell the two apart, and the spans must stay real spans for other instrumentation.
import { join } from 'node:path';
import { type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { TaskFileSpan } from '../../exporters/task-files-tracer.ts';
import type { TaskRecorder } from '../../src/instrumentation/task-recorder.ts';
import { expectTaskPassesChecker } from '../helpers/check-task.ts';
import { fakeCollector } from '../helpers/fake-collector.ts';
import { SAMPLE_INPUT } from '../helpers/sample-task.ts';
import { comparable, readTaskFolder } from '../helpers/task-files.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { withEnv } from '../helpers/with-env.ts';

// A webhook task with a failed stage, handed over a queue, and an agent run with two tool calls (one failing), extra
// stage fields set while a stage runs, and a result.
function recordWebhookTask(tasks: TaskRecorder) {
  const task = tasks.start({ taskId: 'task-spans', source: 'webhook', provider: 'github' });
  task.recordInput(SAMPLE_INPUT);
  task.recordStage('received', { event_type: 'issue_comment.created', bytes: 1432 });
  task.runStage('validation', { status: 'passed' }, (stage) => stage.set({ signature: 'sha256' }));
  task.recordStage('command_matching', { command: 'review', matched: true, args: ['--deep'] });
  expect(() =>
    task.runStage('immediate_response', { action: 'reaction' }, () => {
      throw new Error('GitHub answered 502');
    }),
  ).toThrow('GitHub answered 502');
  task.recordStage('task_created', { assigned_agent: 'brain', agent_type: 'planning' });
  const message = task.runStage('queue_push', { queue: 'tasks' }, () => task.toQueueMessage());
  const worker = tasks.resume(JSON.parse(JSON.stringify(message)));
  const run = worker.startAgent({
    name: 'brain',
    type: 'planning',
    model: 'claude-opus-4-5-20251101',
    attempt: 1,
  });
  run.setModel('claude-opus-4-5-20251101');
  run.text('Reading the retry loop.');
  const read = run.toolCall({ name: 'Read', input: { file_path: 'src/queue.ts' } });
  run.toolResult(read, 'export const attempts = 3;');
  const bash = run.toolCall({ name: 'Bash', input: { command: 'npm test' } });
  run.toolResult(bash, 'exit 1\n2 failing', { isError: true });
  run.final('Analysis complete');
  run.finish({ result: 'The retry count is fixed at 3.', costUsd: 0.0234, durationSeconds: 12.5 });
  return { task, worker, run };
}

async function record(otlpTraces: boolean) {
  const dir = await tempLogsDir();
  let env: Record<string, string> = {};
  if (otlpTraces) {
    const collector = await fakeCollector();
    env = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/v1/traces` };
    withEnv({ ...env, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
  }
  const telemetry = testTelemetry(dir, env);
  expect(telemetry.config.otlp.traces).toBe(otlpTraces);
  const recorded = recordWebhookTask(telemetry.tasks);
  await telemetry.forceFlush();
  const folder = join(dir, 'task-spans');
  return { folder, files: readTaskFolder(folder), ...recorded };
}

describe("the task's spans with and without OTLP trace export", () => {
  it('write the same five files, whichever tracer made them', async () => {
    const off = await record(false);
    const on = await record(true);
    // off: the light tracer's spans; on: the SDK's
    expect(off.run.span).toBeInstanceOf(TaskFileSpan);
    expect(on.run.span).not.toBeInstanceOf(TaskFileSpan);
    expect(comparable(off.files)).toEqual(comparable(on.files));
    for (const { folder, files, task } of [off, on]) {
      expectTaskPassesChecker(folder, 'completed');
      // one trace, kept across the queue, and ids that differ per stage
      expect(files.metadata?.trace_id).toBe(task.traceId);
      expect(new Set(files.webhookFlow.map((l) => l.trace_id))).toEqual(new Set([task.traceId]));
      expect(new Set(files.webhookFlow.map((l) => l.span_id)).size).toBe(files.webhookFlow.length);
      expect(new Set(files.agentOutput.map((l) => l.trace_id))).toEqual(new Set([task.traceId]));
      const failed = files.webhookFlow.find((l) => l.stage === 'immediate_response');
      expect(failed).toMatchObject({ status: 'failed', error: 'GitHub answered 502' });
      for (const line of files.webhookFlow) expect(line.duration_ms).toBeGreaterThanOrEqual(0);
    }
  });

  it('are real spans for other instrumentation: its spans hang under ours, and a resumed task keeps the trace', async () => {
    const telemetry = testTelemetry(await tempLogsDir(), {}, { register: true });
    const task = telemetry.tasks.start({ taskId: 'task-parent', source: 'webhook' });
    const stage = task.stage('validation');
    // another tracer, on the registered SDK, inside the stage
    const other = trace
      .getTracer('http-client')
      .startSpan('GET /repos/owner/repo', {}, trace.setSpan(task.context, stage.span)) as Span & ReadableSpan;
    expect(other).not.toBeInstanceOf(TaskFileSpan);
    expect(other.spanContext().traceId).toBe(task.traceId);
    expect(other.parentSpanContext?.spanId).toBe(stage.span.spanContext().spanId);
    other.end();
    stage.fail(new Error('bad signature'));
    expect(stage.span.isRecording()).toBe(false);
    expect((stage.span as TaskFileSpan).status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'bad signature',
    });

    const message = task.toQueueMessage();
    task.end();
    const resumed = telemetry.tasks.resume(JSON.parse(JSON.stringify(message)));
    expect(resumed.traceId).toBe(task.traceId);
    const run = resumed.startAgent({ name: 'brain' });
    expect(run.span.spanContext().traceId).toBe(task.traceId);
    run.finish({ result: 'done' });
    await telemetry.forceFlush();
    const files = readTaskFolder(join(telemetry.config.logsDir, 'task-parent'));
    expect(files.metadata).toMatchObject({ trace_id: task.traceId, status: 'completed' });
    expect(files.webhookFlow).toMatchObject([
      { stage: 'validation', status: 'failed', error: 'bad signature' },
    ]);
  });

  it("runStage makes the stage the active span, so other instrumentation's spans in it join the task's trace", async () => {
    const telemetry = testTelemetry(await tempLogsDir(), {}, { register: true });
    const task = telemetry.tasks.start({ taskId: 'task-active', source: 'webhook' });
    const children: (Span & ReadableSpan)[] = [];
    // as an auto-instrumented HTTP client does: a span from the active context, before and after an await
    const call = () =>
      trace.getTracer('http-client').startActiveSpan('POST /reactions', (span) => {
        children.push(span as Span & ReadableSpan);
        span.end();
      });
    let stageSpan: Span | undefined;
    await task.runStage('immediate_response', undefined, async (stage) => {
      stageSpan = stage.span;
      expect(trace.getActiveSpan()).toBe(stage.span);
      call();
      await new Promise((resolve) => setImmediate(resolve));
      call();
    });
    expect(children).toHaveLength(2);
    for (const child of children) {
      expect(child.spanContext().traceId).toBe(task.traceId);
      expect(child.parentSpanContext?.spanId).toBe(stageSpan!.spanContext().spanId);
    }
    // outside the stage the caller's context is back
    expect(trace.getActiveSpan()).toBeUndefined();
    await telemetry.shutdown();
  });

  it('a stage whose fields say status failed is an error span, and its line is the same', async () => {
    const telemetry = testTelemetry(await tempLogsDir());
    const task = telemetry.tasks.start({ taskId: 'task-ack-failed', source: 'webhook' });
    const ack = task.stage('immediate_response', { action: 'reaction' });
    ack.end({ status: 'failed', detail: 'GitHub answered 500' });
    const reply = task.stage('immediate_response', { action: 'reply' });
    reply.end({ status: 'failed', error: 'fetch failed: ECONNREFUSED' });
    const passed = task.stage('validation');
    passed.end({ status: 'passed' });
    // the status follows the fields' last word (fix9): failed, then passed, is not an error span
    const retried = task.stage('immediate_response', { action: 'label' });
    retried.set({ status: 'failed', error: 'first try: 502' });
    retried.end({ status: 'passed' });
    const recorded = task.stage('command_matching', { status: 'failed', detail: 'no command' });
    recorded.end();
    // a failed acknowledgement's reason is its detail: the span's status message, not a new error field in 02
    expect((ack.span as TaskFileSpan).status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'GitHub answered 500',
    });
    expect((retried.span as TaskFileSpan).status).toEqual({ code: SpanStatusCode.UNSET });
    expect((recorded.span as TaskFileSpan).status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'no command',
    });
    expect((reply.span as TaskFileSpan).status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'fetch failed: ECONNREFUSED',
    });
    expect((passed.span as TaskFileSpan).status).toEqual({ code: SpanStatusCode.UNSET });
    await telemetry.forceFlush();
    const lines = readTaskFolder(join(telemetry.config.logsDir, 'task-ack-failed')).webhookFlow;
    expect(lines.map(({ timestamp, duration_ms, trace_id, span_id, ...rest }) => rest)).toEqual([
      { stage: 'immediate_response', action: 'reaction', status: 'failed', detail: 'GitHub answered 500' },
      { stage: 'immediate_response', action: 'reply', status: 'failed', error: 'fetch failed: ECONNREFUSED' },
      { stage: 'validation', status: 'passed' },
      { stage: 'immediate_response', action: 'label', status: 'passed', error: 'first try: 502' },
      { stage: 'command_matching', status: 'failed', detail: 'no command' },
    ]);
    await telemetry.shutdown();
  });

  it('an output line keeps details keys named __proto__ and constructor as fields (fix9)', async () => {
    const telemetry = testTelemetry(await tempLogsDir());
    const run = telemetry.tasks.start({ taskId: 'task-odd-keys' }).startAgent({ name: 'brain' });
    run.text('hello', JSON.parse('{"__proto__":{"x":1},"constructor":"c","subtype":"s"}'));
    run.finish({ result: 'done' });
    await telemetry.forceFlush();
    const [line] = readTaskFolder(join(telemetry.config.logsDir, 'task-odd-keys')).agentOutput;
    expect(JSON.stringify(Object.getOwnPropertyDescriptor(line, '__proto__')?.value)).toBe('{"x":1}');
    expect(line).toMatchObject({ content: 'hello', constructor: 'c', subtype: 's' });
    await telemetry.shutdown();
  });

  it('end after shutdown() begins as the SDK spans did: written while it closes, counted shut_down after', async () => {
    const telemetry = testTelemetry(await tempLogsDir());
    const task = telemetry.tasks.start({ taskId: 'task-closing', source: 'webhook' });
    task.recordStage('received');
    const run = task.startAgent({ name: 'brain' });
    expect(run.span).toBeInstanceOf(TaskFileSpan);
    const later = telemetry.tasks.start({ taskId: 'task-after' });
    const stopping = telemetry.shutdown();
    run.finish({ result: 'done' }); // the same turn: the writer is still closing
    await stopping;
    later.recordStage('received');
    const files = readTaskFolder(join(telemetry.config.logsDir, 'task-closing'));
    expect(files.metadata?.status).toBe('completed');
    expect(files.finalResult).toMatchObject({ success: true, result: 'done' });
    expect(telemetry.writer?.stats().dropReasons.shut_down).toBe(1);
  });
});
