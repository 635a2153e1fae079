// A new task's folder is made with its first files in the hidden folder .new~ and renamed into place: a reader never
// sees it half made. A folder there whose writer is gone is removed and never taken for a task; a folder another
// writer made first keeps what it has and gets ours merged in; a link at .new~ is never followed.
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type FileSystem, nodeFileSystem } from '../../exporters/file-system.ts';
import { syncFileSystem } from '../../exporters/sync-file-system.ts';
import { emptyChanges, type TaskChanges } from '../../exporters/task-changes.ts';
import { NEW_FOLDERS_DIR, TaskFolderWriter } from '../../exporters/task-folder-writer.ts';
import { TASK_FILES } from '../../src/contract/task-files.ts';
import { listTaskFolders } from '../../src/ops/task-folders.ts';
import { recordSampleTask } from '../helpers/sample-task.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

// a new task's first changes, as a flush gives them to the folder writer
function firstChanges(taskId: string): TaskChanges {
  return {
    ...emptyChanges(taskId),
    webhookLines: [JSON.stringify({ timestamp: '2026-01-01T00:00:00.000Z', stage: 'received' })],
    input: { message: '@agent review', source_metadata: { provider: 'github' } },
    metadata: { status: 'queued', source: 'webhook', created_at: '2026-01-01T00:00:00.000Z' },
  };
}

// `count` folders a killed writer left in .new~ (a pid no process has: pids are at most 2^22 on Linux), each with a file
function plantLeftovers(root: string, count: number): void {
  const parent = join(root, NEW_FOLDERS_DIR);
  mkdirSync(parent, { recursive: true });
  for (let i = 0; i < count; i++) {
    const dir = join(parent, `999999999.0a1b2c3d.${i.toString(36)}.task-left-${i}`);
    mkdirSync(dir);
    writeFileSync(join(dir, TASK_FILES.metadata), `{"task_id":"task-left-${i}","status":"queued"}\n`);
  }
}

describe.each([
  ['on the event loop', nodeFileSystem],
  ['in the writer thread (synchronous calls)', syncFileSystem as unknown as FileSystem],
])('leftovers of killed writers, %s', (_way, base) => {
  const LEFT = 320;

  it("do not hold up the first task folder: they are removed beside it, a live writer's folder kept", async () => {
    const root = await tempLogsDir();
    plantLeftovers(root, LEFT);
    const live = `${process.pid}.0a1b2c3d.0.task-busy`;
    mkdirSync(join(root, NEW_FOLDERS_DIR, live));
    let removed = 0;
    const fs: FileSystem = {
      ...base,
      removeTree(path) {
        removed++;
        return base.removeTree(path);
      },
    };
    const writer = new TaskFolderWriter({ root, fs, durable: false, onUnreadable: () => undefined });
    try {
      expect((await writer.apply(firstChanges('task-first'))).kind).toBe('written');
      // the first folder is in place while most leftovers are still there (before: all of them removed first)
      expect(readTaskFolder(join(root, 'task-first')).metadata).toMatchObject({ status: 'queued' });
      expect(removed).toBeLessThan(LEFT / 2);
      // a task written while the clearing goes on is not held up by it either
      expect((await writer.apply(firstChanges('task-second'))).kind).toBe('written');
      expect(removed).toBeLessThan(LEFT / 2);
      await writer.leftoversCleared();
      expect(removed).toBe(LEFT);
      expect(readdirSync(join(root, NEW_FOLDERS_DIR))).toEqual([live]);
      expect((await listTaskFolders(root)).map((folder) => folder.id).sort()).toEqual([
        'task-first',
        'task-second',
      ]);
    } finally {
      writer.close();
    }
  });

  it('are left for the next writer when the writer closes mid-way, and that one removes the rest', async () => {
    const root = await tempLogsDir();
    plantLeftovers(root, LEFT);
    const first = new TaskFolderWriter({ root, fs: base, durable: false, onUnreadable: () => undefined });
    expect((await first.apply(firstChanges('task-first'))).kind).toBe('written');
    first.close();
    await first.leftoversCleared();
    const left = readdirSync(join(root, NEW_FOLDERS_DIR)).length;
    expect(left).toBeGreaterThan(0);
    const next = new TaskFolderWriter({ root, fs: base, durable: false, onUnreadable: () => undefined });
    try {
      expect((await next.apply(firstChanges('task-next'))).kind).toBe('written');
      await next.leftoversCleared();
      expect(readdirSync(join(root, NEW_FOLDERS_DIR))).toEqual([]);
    } finally {
      next.close();
    }
  });
});

describe('a new task folder', () => {
  it('is not there for a reader until its first files are whole in it', async () => {
    const root = await tempLogsDir();
    const seen: { folders: string[]; named: boolean }[] = [];
    const fs: FileSystem = {
      ...nodeFileSystem,
      // what a reader of the logs folder finds while the writer is in the middle of the new task's files
      async append(path, chunks, options) {
        const folders = (await listTaskFolders(root)).map((folder) => folder.id);
        seen.push({ folders, named: existsSync(join(root, 'task-new')) });
        return nodeFileSystem.append(path, chunks, options);
      },
    };
    const telemetry = testTelemetry(root, {}, { fs });
    await recordSampleTask(telemetry.tasks, { taskId: 'task-new' });
    await telemetry.forceFlush();
    expect(telemetry.writer!.stats()).toMatchObject({ errors: 0, dropped: 0 });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toEqual({ folders: [], named: false });
    const task = readTaskFolder(join(root, 'task-new'));
    expect(task.metadata).toMatchObject({ task_id: 'task-new', status: 'completed' });
    expect(task.input).toBeDefined();
    expect(task.webhookFlow.length).toBeGreaterThan(0);
    expect(task.finalResult).toBeDefined();
    expect(readdirSync(join(root, NEW_FOLDERS_DIR))).toEqual([]);
  });

  it('left half made by a killed writer is removed, and never listed as a task', async () => {
    const root = await tempLogsDir();
    const parent = join(root, NEW_FOLDERS_DIR);
    // pids are at most 2^22 on Linux: no process has this one
    const dead = join(parent, '999999999.0a1b2c3d.0.task-left');
    mkdirSync(dead, { recursive: true });
    writeFileSync(join(dead, TASK_FILES.metadata), '{"task_id":"task-left","status":"queued"}\n');
    // a live writer's folder in progress (this process) stays
    const live = join(parent, `${process.pid}.0a1b2c3d.0.task-busy`);
    mkdirSync(live);
    expect((await listTaskFolders(root)).map((folder) => folder.id)).toEqual([]);
    const writer = new TaskFolderWriter({
      root,
      fs: nodeFileSystem,
      durable: false,
      onUnreadable: () => undefined,
    });
    onTestFinished(() => writer.close());
    expect((await writer.apply(firstChanges('task-after'))).kind).toBe('written');
    await writer.leftoversCleared();
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect((await listTaskFolders(root)).map((folder) => folder.id)).toEqual(['task-after']);
  });

  it('made first by another writer keeps its files, and gets ours merged in', async () => {
    const root = await tempLogsDir();
    const taskDir = join(root, 'task-both');
    const fs: FileSystem = {
      ...nodeFileSystem,
      // another process makes the task's folder (its worker's first write) just before ours is renamed into place
      async rename(from, to) {
        if (to === taskDir && !existsSync(taskDir)) {
          mkdirSync(taskDir);
          writeFileSync(
            join(taskDir, TASK_FILES.metadata),
            '{"task_id":"task-both","status":"running","runner":"from-worker"}\n',
          );
          writeFileSync(join(taskDir, TASK_FILES.agentOutput), '{"from":"worker"}\n');
        }
        return nodeFileSystem.rename(from, to);
      },
    };
    const telemetry = testTelemetry(root, {}, { fs });
    await recordSampleTask(telemetry.tasks, { taskId: 'task-both' });
    await telemetry.forceFlush();
    expect(telemetry.writer!.stats()).toMatchObject({ errors: 0, dropped: 0 });
    const task = readTaskFolder(taskDir);
    expect(task.metadata).toMatchObject({
      task_id: 'task-both',
      runner: 'from-worker',
      source: 'webhook',
      status: 'completed',
    });
    expect(task.input).toBeDefined();
    expect(task.agentOutput[0]).toEqual({ from: 'worker' });
    expect(task.agentOutput.length).toBeGreaterThan(1);
    expect(task.webhookFlow.length).toBeGreaterThan(0);
    expect(readdirSync(join(root, NEW_FOLDERS_DIR))).toEqual([]);
  });

  it('is made the usual way when .new~ is a link, and nothing is written through it', async () => {
    const root = await tempLogsDir();
    const outside = await tempLogsDir('outside-');
    symlinkSync(outside, join(root, NEW_FOLDERS_DIR));
    const telemetry = testTelemetry(root);
    await recordSampleTask(telemetry.tasks, { taskId: 'task-linked' });
    await telemetry.forceFlush();
    expect(readdirSync(outside)).toEqual([]);
    expect(readTaskFolder(join(root, 'task-linked')).metadata).toMatchObject({ status: 'completed' });
    expect(readFileSync(join(root, 'task-linked', TASK_FILES.input), 'utf8')).toMatch(/review/);
  });
});
