// A task folder this process has just created gets its JSONL files created exclusively (no fstat needed to know them
// regular files). When another writer got there first (it made the file between our mkdir and our open), its lines
// stay and ours follow; a link put there is refused, never written through.
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FileSystem, nodeFileSystem } from '../../exporters/file-system.ts';
import { TASK_FILES } from '../../src/contract/task-files.ts';
import { recordSampleTask } from '../helpers/sample-task.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

// the real file system, with `afterMkdir` run between the folder's creation and the writer's first open in it
function racingFs(afterMkdir: (dir: string) => void, freshAppends: string[]): FileSystem {
  return {
    ...nodeFileSystem,
    async mkdir(path) {
      const created = await nodeFileSystem.mkdir(path);
      afterMkdir(path);
      return created;
    },
    async append(path, chunks, options) {
      if (options.fresh === true) freshAppends.push(path);
      return nodeFileSystem.append(path, chunks, options);
    },
  };
}

describe('files in a task folder this process just created', () => {
  it('are created exclusively; a file another writer made first keeps its lines, ours follow', async () => {
    const root = await tempLogsDir();
    const fresh: string[] = [];
    const fs = racingFs((dir) => {
      writeFileSync(join(dir, TASK_FILES.agentOutput), '{"from":"other writer"}\n');
    }, fresh);
    const telemetry = testTelemetry(root, {}, { fs });
    await recordSampleTask(telemetry.tasks, { taskId: 'task-fresh' });
    await telemetry.forceFlush();
    expect(telemetry.writer!.stats().errors).toBe(0);
    expect(fresh.length).toBeGreaterThan(0);
    const lines = readFileSync(join(root, 'task-fresh', TASK_FILES.agentOutput), 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).toEqual({ from: 'other writer' });
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.slice(1).every((line) => typeof line.timestamp === 'string')).toBe(true);
    // the file nobody raced for was created by us, exclusively, whole
    const flow = readFileSync(join(root, 'task-fresh', TASK_FILES.webhookFlow), 'utf8');
    expect(flow.endsWith('\n')).toBe(true);
    for (const line of flow.trimEnd().split('\n')) expect(JSON.parse(line)).toHaveProperty('stage');
  });

  it('refuse a link put in place of a file, and write nothing through it', async () => {
    const root = await tempLogsDir();
    const outside = join(await tempLogsDir('outside-'), 'victim.txt');
    writeFileSync(outside, 'untouched\n');
    const fs = racingFs((dir) => symlinkSync(outside, join(dir, TASK_FILES.agentOutput)), []);
    const telemetry = testTelemetry(root, {}, { fs });
    await recordSampleTask(telemetry.tasks, { taskId: 'task-linked' });
    await telemetry.forceFlush();
    expect(readFileSync(outside, 'utf8')).toBe('untouched\n');
    const stats = telemetry.writer!.stats();
    expect(stats.errors).toBeGreaterThan(0);
    expect(stats.written + stats.dropped + stats.ignored).toBe(stats.emitted);
    expect(telemetry.reports.join('\n')).toMatch(/symbolic link/);
  });
});
