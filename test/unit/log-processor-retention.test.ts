// The writer's queue holds a log record until its flush (up to the flush window), long enough for V8 to copy it
// through the young generation and promote it. What it keeps of an SDK record is the four fields the mapping reads,
// so the SDK's record object itself (sixteen fields and an observed-time array) is garbage at once.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LoggerProvider, type LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import { TaskFilesLogProcessor } from '../../exporters/task-log-processor.ts';
import { ATTR } from '../../src/contract/attributes.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let writer: TaskFileWriter | undefined;
afterEach(async () => {
  await writer?.shutdown();
  writer = undefined;
});

describe('TaskFilesLogProcessor', () => {
  it('queues what the mapping reads, not the SDK record, and writes the same line', async () => {
    const dir = await tempLogsDir();
    // a flush window far longer than the test: the record stays queued until forceFlush
    writer = new TaskFileWriter({ root: dir, flushMs: 600_000 });
    const records: WeakRef<object>[] = [];
    const watcher: LogRecordProcessor = {
      onEmit: (record) => void records.push(new WeakRef(record)),
      forceFlush: async () => undefined,
      shutdown: async () => undefined,
    };
    const provider = new LoggerProvider({ processors: [new TaskFilesLogProcessor({ writer }), watcher] });
    const logger = provider.getLogger('test');
    (() => {
      for (let i = 0; i < 3; i++)
        logger.emit({
          body: `line ${i}`,
          attributes: { [ATTR.taskId]: 'task-queued', [ATTR.outputType]: 'text' },
        });
    })();
    expect(writer.stats().queued).toBe(3);
    // the records may survive a collection or two while V8 still has them in registers or handles: a few rounds
    for (let round = 0; round < 5 && records.some((r) => r.deref() !== undefined); round++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    expect(records.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    await writer.forceFlush();
    expect(writer.stats()).toMatchObject({ written: 3, dropped: 0 });
    const lines = readFileSync(join(dir, 'task-queued', '03-agent-output.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(lines.map((line) => JSON.parse(line))).toMatchObject([
      { type: 'text', content: 'line 0' },
      { type: 'text', content: 'line 1' },
      { type: 'text', content: 'line 2' },
    ]);
  });
});
