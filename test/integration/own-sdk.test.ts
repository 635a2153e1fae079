// A service with its own OpenTelemetry set-up (its own NodeSDK, resource, sampler and exporters) adds the task
// processors from the package's exporters entry point: it gets the five files and keeps everything it exported.

import { join } from 'node:path';
import { context, logs, propagation, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOnSampler,
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  createTaskFileProcessors,
  LimitingSpanExporter,
  RedactingLogRecordExporter,
  RedactingSpanExporter,
} from '../../exporters/index.ts';
import {
  loadConfig,
  redactorFor,
  TaskRecorder,
  taskFileWriterOptions,
  usageFromAnthropic,
} from '../../src/index.ts';
import { expectTaskPassesChecker } from '../helpers/check-task.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { withEnv } from '../helpers/with-env.ts';
import { writerThreadEnv } from '../helpers/writer-thread-env.ts';

// a GitHub token's shape, which the default rules redact
const TOKEN = `ghp_${'a1B2c3D4e5'.repeat(3)}a1B2c3`;

/** Undoes what sdk.start() registered, so the next test in this file can register its own. */
function unregisterGlobals(): void {
  trace.disable();
  logs.disable();
  context.disable();
  propagation.disable();
}

describe('a service that brings its own NodeSDK', () => {
  it('gets the five files from the task processors and still exports all of its own telemetry', async () => {
    const root = await tempLogsDir();
    const config = loadConfig({ env: { TASK_LOGS_DIR: root, TASK_LOGS_FLUSH_MS: '5' } });
    const taskFiles = createTaskFileProcessors(taskFileWriterOptions(config));
    const spans = new InMemorySpanExporter();
    const records = new InMemoryLogRecordExporter();
    // the service's exporter to its vendor, wrapped so the settings' redaction applies to it as well
    const redactor = redactorFor(config)!;
    const vendorSpans = new InMemorySpanExporter();
    const vendorRecords = new InMemoryLogRecordExporter();
    // the service's processors export once the detected resource is ready (NodeSDK detects host and process
    // attributes asynchronously): the test flushes them before it reads their exporters
    const serviceProcessors = [
      new SimpleSpanProcessor({ exporter: spans }),
      new SimpleSpanProcessor({ exporter: new RedactingSpanExporter(vendorSpans, redactor) }),
      new SimpleLogRecordProcessor({ exporter: records }),
      new SimpleLogRecordProcessor({ exporter: new RedactingLogRecordExporter(vendorRecords, redactor) }),
    ] as const;
    const sdk = new NodeSDK({
      resource: resourceFromAttributes({ 'service.name': 'orders', 'deployment.environment.name': 'test' }),
      sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
      spanProcessors: [serviceProcessors[0], serviceProcessors[1], taskFiles.spanProcessor],
      logRecordProcessors: [serviceProcessors[2], serviceProcessors[3], taskFiles.logProcessor],
      metricReaders: [],
    });
    sdk.start();
    onTestFinished(unregisterGlobals);

    // the service's own telemetry, which is no task
    trace.getTracer('orders').startActiveSpan('GET /orders', (span) => span.end());
    logs.getLogger('orders').emit({ body: 'order list served' });

    // a task, through the instrumentation API on the globally registered SDK
    const tasks = new TaskRecorder();
    const task = tasks.start({
      taskId: 'task-own-sdk',
      source: 'webhook',
      provider: 'github',
      input: {
        message: '@agent review',
        source_metadata: {
          provider: 'github',
          event_type: 'issue_comment.created',
          webhook_id: 'wh-1',
          repo: 'owner/repo',
          issue_number: 1,
        },
      },
    });
    task.recordStage('received', { event_type: 'issue_comment.created' });
    task.recordStage('validation', { status: 'passed' });
    task.recordStage('command_matching', { command: 'review', matched: true });
    task.recordStage('immediate_response', { action: 'reaction' });
    task.recordStage('task_created', { assigned_agent: 'brain', agent_type: 'planning' });
    task.recordStage('queue_push', { queue: 'tasks' });
    const run = tasks
      .resume(task.toQueueMessage())
      .startAgent({ name: 'brain', type: 'planning', model: 'm-1' });
    run.system('[SYSTEM] Task started');
    run.text('Analysis complete');
    run.text(`the token is ${TOKEN}`);
    run.finish({
      result: 'ok',
      costUsd: 0.5,
      usage: usageFromAnthropic({ input_tokens: 3, output_tokens: 2 }),
    });

    await taskFiles.writer.forceFlush();
    await Promise.all(serviceProcessors.map((processor) => processor.forceFlush()));
    const exportedSpans = spans.getFinishedSpans();
    const exportedRecords = records.getFinishedLogRecords();
    const vendorBodies = vendorRecords.getFinishedLogRecords().map((record) => record.body);
    const vendorSpanCount = vendorSpans.getFinishedSpans().length;
    await sdk.shutdown();

    const folder = join(root, 'task-own-sdk');
    expectTaskPassesChecker(folder, 'completed');
    const files = readTaskFolder(folder);
    expect(files.metadata).toMatchObject({ status: 'completed', assigned_agent: 'brain', model: 'm-1' });
    // the settings' redaction applies to the files (the service's own exporters are its own business)
    expect(files.agentOutput.map((line) => line.content)).toEqual([
      '[SYSTEM] Task started',
      'Analysis complete',
      'the token is [REDACTED:github-pat]',
    ]);
    expect(files.finalResult?.metrics).toMatchObject({ cost_usd: 0.5, input_tokens: 3, output_tokens: 2 });

    // everything went to the service's own exporters too, with its own resource
    const names = exportedSpans.map((span) => span.name);
    expect(names).toContain('GET /orders');
    expect(names).toEqual(expect.arrayContaining(['task', 'received', 'queue_push', 'invoke_agent brain']));
    expect(exportedSpans.every((span) => span.resource.attributes['service.name'] === 'orders')).toBe(true);
    expect(exportedRecords.map((record) => record.body)).toEqual([
      'order list served',
      '[SYSTEM] Task started',
      'Analysis complete',
      `the token is ${TOKEN}`,
    ]);
    // ... and the wrapped exporter got the same telemetry with the secret redacted
    expect(vendorSpanCount).toBe(exportedSpans.length);
    expect(vendorBodies).toEqual([
      'order list served',
      '[SYSTEM] Task started',
      'Analysis complete',
      'the token is [REDACTED:github-pat]',
    ]);
    expect(taskFiles.writer.stats()).toMatchObject({ dropped: 0, errors: 0, queued: 0 });
  });

  it('with the attribute limits kept off its providers and set on its exporter, the files stay whole', async () => {
    withEnv({ OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '10' }); // NodeSDK reads it into its TracerProvider
    const root = await tempLogsDir();
    const config = loadConfig({
      env: {
        TASK_LOGS_DIR: root,
        TASK_LOGS_FLUSH_MS: '5',
        OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '10',
        ...writerThreadEnv(),
      },
    });
    const taskFiles = createTaskFileProcessors(taskFileWriterOptions(config));
    const vendorSpans = new InMemorySpanExporter();
    const sdk = new NodeSDK({
      autoDetectResources: false,
      // as the README says: every field set, so none comes from the environment
      spanLimits: {
        attributeValueLengthLimit: Infinity,
        attributeCountLimit: 128,
        eventCountLimit: 128,
        linkCountLimit: 128,
        attributePerEventCountLimit: 128,
        attributePerLinkCountLimit: 128,
      },
      spanProcessors: [
        new SimpleSpanProcessor({ exporter: new LimitingSpanExporter(vendorSpans, config.otlp.spanLimits) }),
        taskFiles.spanProcessor,
      ],
      logRecordProcessors: [taskFiles.logProcessor],
      metricReaders: [],
    });
    sdk.start();
    onTestFinished(unregisterGlobals);
    const result = 'The retry count is fixed at 3, and the delay does not grow.';
    const tasks = new TaskRecorder();
    const run = tasks.start({ taskId: 'task-own-limits' }).startAgent({ name: 'brain', model: 'm-1' });
    run.text('Analysis complete');
    run.finish({ result });
    await taskFiles.writer.forceFlush();
    const agent = vendorSpans.getFinishedSpans().find((span) => span.name === 'invoke_agent brain')!;
    await sdk.shutdown();

    expect(agent.attributes['task.result.text']).toBe(result.slice(0, 10));
    const files = readTaskFolder(join(root, 'task-own-limits'));
    expect(files.finalResult).toMatchObject({ success: true, result });
    expect(files.metadata).toMatchObject({ task_id: 'task-own-limits', status: 'completed', model: 'm-1' });
  });
});
