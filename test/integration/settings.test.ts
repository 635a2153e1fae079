import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileSystem } from '../../exporters/file-system.ts';
import { nodeFileSystem } from '../../exporters/file-system.ts';
import { recordSampleTask } from '../helpers/sample-task.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

describe('TASK_LOGS_ENABLED=false', () => {
  it('makes every call a no-op that writes nothing', async () => {
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(join(dir, 'tasks'), { TASK_LOGS_ENABLED: 'false' });
    expect(telemetry.writer).toBeUndefined();
    const { task } = await recordSampleTask(telemetry.tasks, { taskId: 'task-off', lines: 100 });
    await telemetry.forceFlush();
    expect(task.id).toBe('task-off');
    expect(existsSync(join(dir, 'tasks'))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('TASK_LOGS_DURABLE=true', () => {
  it('syncs each JSON file before its rename, and the folder and lines when the task ends', async () => {
    const dir = await tempLogsDir();
    const synced: string[] = [];
    const fs: FileSystem = {
      ...nodeFileSystem,
      writeNew: (path, data, options) => {
        if (options.sync) synced.push(`file ${path.split('/').at(-1)!.split('.')[1]}`);
        return nodeFileSystem.writeNew(path, data, options);
      },
      append: (path, chunks, options) => {
        if (options.sync) synced.push(`lines ${path.split('/').at(-1)}`);
        return nodeFileSystem.append(path, chunks, options);
      },
      syncDir: (path) => {
        // the writer reaches a task folder through its open handle: /proc/self/fd/N names the folder it is
        synced.push(`folder ${basename(path.startsWith('/proc/self/fd/') ? readlinkSync(path) : path)}`);
        return nodeFileSystem.syncDir(path);
      },
    };
    const telemetry = testTelemetry(dir, { TASK_LOGS_DURABLE: 'true' }, { fs });
    await recordSampleTask(telemetry.tasks, { taskId: 'task-durable' });
    await telemetry.forceFlush();
    expect(readTaskFolder(join(dir, 'task-durable')).metadata?.status).toBe('completed');
    expect(synced).toEqual(
      expect.arrayContaining([
        'file 01-input',
        'file 04-final-result',
        'file metadata',
        'lines 03-agent-output.jsonl',
        'folder task-durable',
      ]),
    );
  });
});
