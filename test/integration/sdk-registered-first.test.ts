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
import { WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { startTelemetry } from '../../src/instrumentation/telemetry.ts';
import { expectTaskPassesChecker } from '../helpers/check-task.ts';
import { recordSampleTask } from '../helpers/sample-task.ts';
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
    await recordSampleTask(telemetry.tasks, { taskId: 'task-second-sdk' });
    await telemetry.forceFlush();
    await telemetry.shutdown();

    const folder = join(root, 'task-second-sdk');
    expectTaskPassesChecker(folder, 'completed');
    const files = readTaskFolder(folder);
    expect(files.metadata).toMatchObject({ status: 'completed', assigned_agent: 'brain' });
    expect(files.webhookFlow.map((line) => line.stage)).toEqual([...WEBHOOK_STAGES]);
    expect(reports.filter((line) => line.includes('already registered'))).toHaveLength(1);
    // the service's SDK is still the global one, and its own spans still reach its exporter
    trace.getTracer('orders').startActiveSpan('GET /orders', (span) => span.end());
    expect(services.getFinishedSpans().map((span) => span.name)).toContain('GET /orders');
  });
});
