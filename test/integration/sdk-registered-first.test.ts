// A service that registered an OpenTelemetry SDK of its own and then calls startTelemetry() with the default
// (register: true): the second registration cannot take, so the task's spans went to the service's SDK, which has no
// task processors, and the task had no metadata.json, no 02 and no 04. startTelemetry now sees the SDK already there,
// says so, and records tasks through providers of its own.
import { join } from 'node:path';
import { context, logs, propagation, trace } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startTelemetry } from '../../src/instrumentation/telemetry.ts';
import { expectTaskPassesChecker } from '../helpers/check-task.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

describe('startTelemetry after another SDK was registered', () => {
  it('writes the five files, says why it did not register, and leaves the service its own SDK', async () => {
    const services = new InMemorySpanExporter();
    const sdk = new NodeSDK({
      autoDetectResources: false,
      spanProcessors: [new SimpleSpanProcessor({ exporter: services })],
      metricReaders: [],
    });
    sdk.start();
    onTestFinished(() => {
      trace.disable();
      logs.disable();
      context.disable();
      propagation.disable();
    });

    const root = await tempLogsDir();
    const reports: string[] = [];
    const telemetry = startTelemetry(loadConfig({ env: { TASK_LOGS_DIR: root, TASK_LOGS_FLUSH_MS: '5' } }), {
      index: false,
      report: (message) => reports.push(message),
    });
    const task = telemetry.tasks.start({
      taskId: 'task-second-sdk',
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
    const run = task.startAgent({ name: 'brain', model: 'm-1' });
    run.text('Analysis complete');
    run.finish({ result: 'ok' });
    await telemetry.forceFlush();
    await telemetry.shutdown();

    const folder = join(root, 'task-second-sdk');
    expectTaskPassesChecker(folder, 'completed');
    const files = readTaskFolder(folder);
    expect(files.metadata).toMatchObject({ status: 'completed', assigned_agent: 'brain' });
    expect(files.webhookFlow.map((line) => line.stage)).toEqual([
      'received',
      'validation',
      'command_matching',
      'immediate_response',
      'task_created',
      'queue_push',
    ]);
    expect(reports.filter((line) => line.includes('already registered'))).toHaveLength(1);
    // the service's SDK is still the global one, and its own spans still reach its exporter
    trace.getTracer('orders').startActiveSpan('GET /orders', (span) => span.end());
    expect(services.getFinishedSpans().map((span) => span.name)).toContain('GET /orders');
  });
});
