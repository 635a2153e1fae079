// Items handed straight to a TaskFileWriter in the writer's own tests (an output line, a pushAll that resolves with its
// outcome) and the output lines a task folder holds afterwards.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PushOutcome, TaskFileWriter } from '../../exporters/task-file-writer.ts';
import type { LogRecordLike, SpanLike } from '../../exporters/telemetry-item.ts';
import { ATTR } from '../../src/contract/attributes.ts';

/** one text line of a task's agent output, as the log exporter hands it over */
export function line(
  taskId: string,
  content: string,
  hrTime: [number, number] = [1_700_000_000, 0],
): LogRecordLike {
  return { hrTime, attributes: { [ATTR.taskId]: taskId, [ATTR.outputType]: 'text' }, body: content };
}

export function pushAll(writer: TaskFileWriter, items: (LogRecordLike | SpanLike)[]): Promise<PushOutcome> {
  return new Promise((resolve) => writer.pushAll(items, (_error, outcome) => resolve(outcome)));
}

/** a span that sets a task's status: its metadata.json is written (under its lock when the file is there already) */
export function status(taskId: string, value: string): SpanLike {
  return {
    name: 'status',
    attributes: { [ATTR.taskId]: taskId, [ATTR.taskStatus]: value },
    startTime: [1_700_000_000, 0],
    endTime: [1_700_000_001, 0],
    status: { code: 0 },
    spanContext: () => ({ traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: 1 }),
  };
}

/** the contents of a task's 03-agent-output.jsonl lines, each parsed strictly (none when the file is missing) */
export function outputLines(root: string, taskId: string): string[] {
  const path = join(root, taskId, '03-agent-output.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l).content);
}
