import { readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import { TaskFilesLogExporter } from '../../exporters/task-log-exporter.ts';
import { TaskFilesSpanExporter } from '../../exporters/task-span-exporter.ts';
import { ATTR, OPERATION } from '../../src/contract/attributes.ts';
import { injectTaskContext } from '../../src/instrumentation/queue-message.ts';
import { HOSTILE_IDS } from '../helpers/hostile-ids.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const HOSTILE = HOSTILE_IDS;

/** everything under dir except the logs folder itself and the task index it holds */
function listAll(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter(
    (name) => name !== 'tasks' && !name.includes('.index.sqlite'),
  );
}

describe('hostile task ids', () => {
  it.each(HOSTILE)('are refused when a task starts: %j', async (raw) => {
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(join(dir, 'tasks'));
    expect(() => telemetry.tasks.start({ taskId: raw })).toThrow(
      expect.objectContaining({ code: 'TASK_ID_INVALID' }),
    );
    await telemetry.forceFlush();
    expect(listAll(dir)).toEqual([]);
  });

  it.each(HOSTILE)('are refused in a queue message: %j', async (raw) => {
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(join(dir, 'tasks'));
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      traceFlags: 1,
    });
    const message = {
      ...injectTaskContext(parent, {
        task_id: 'ok',
        source: null,
        provider: null,
        created_at: new Date().toISOString(),
      }),
      task_id: raw,
    };
    expect(() => telemetry.tasks.resume(message)).toThrow(
      expect.objectContaining({ code: 'QUEUE_MESSAGE_INVALID' }),
    );
    expect(listAll(dir)).toEqual([]);
  });

  it('in telemetry from elsewhere (spans and log records) are dropped, counted, and write nothing anywhere', async () => {
    const dir = await tempLogsDir();
    const root = join(dir, 'tasks');
    await mkdir(root);
    const reports: string[] = [];
    const writer = new TaskFileWriter({ root, flushMs: 5, report: (m) => reports.push(m) });
    const spans = new TaskFilesSpanExporter({ writer });
    const logs = new TaskFilesLogExporter({ writer });
    const spanContext = () => ({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 });
    const at: [number, number] = [1_700_000_000, 0];
    const results: number[] = [];
    for (const raw of HOSTILE) {
      spans.export(
        [
          {
            name: 'task_created',
            attributes: { [ATTR.taskId]: raw, [ATTR.stageName]: 'task_created' },
            startTime: at,
            endTime: at,
            status: { code: 0 },
            spanContext,
          },
          {
            name: 'invoke_agent',
            attributes: { [ATTR.taskId]: raw, [ATTR.genAiOperationName]: OPERATION.invokeAgent },
            startTime: at,
            endTime: at,
            status: { code: 0 },
            spanContext,
          },
        ],
        (result) => results.push(result.code),
      );
      logs.export(
        [{ hrTime: at, attributes: { [ATTR.taskId]: raw, [ATTR.outputType]: 'text' }, body: 'x' }],
        (result) => results.push(result.code),
      );
    }
    await writer.forceFlush();
    expect(results).toHaveLength(HOSTILE.length * 2);
    expect(listAll(dir)).toEqual([]);
    const stats = writer.stats();
    expect(stats.dropReasons.invalid_task_id).toBe(HOSTILE.length * 3);
    expect(stats.written + stats.dropped).toBe(stats.emitted);
    expect(reports.join('\n')).toMatch(/invalid task.id/);
    await writer.shutdown();
  });
});
