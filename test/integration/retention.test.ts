import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pruneTasks } from '../../src/ops/retention.ts';
import { refreshIndex } from '../../src/store/index-refresh.ts';
import { TaskIndex } from '../../src/store/task-index.ts';
import { TaskStore } from '../../src/store/task-store.ts';
import { writeTask } from '../helpers/old-tasks.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

describe('retention', () => {
  it('deletes exactly the finished tasks past retention, and nothing else', async () => {
    const base = await tempLogsDir();
    const root = join(base, 'tasks');
    writeTask(root, 'task-old-done', { endedDaysAgo: 40 });
    writeTask(root, 'task-old-failed', { status: 'failed', endedDaysAgo: 31 });
    writeTask(root, 'task-recent', { endedDaysAgo: 29 });
    writeTask(root, 'task-old-running', { status: 'running', endedDaysAgo: 90 });
    writeTask(root, 'task-old-queued', { status: 'queued', endedDaysAgo: 90 });
    // old folders prune cannot know have ended: no metadata.json yet (its writer's first flush, or an OTLP producer's
    // lines before any status), and a status that is not one of ours
    const unrecorded = writeTask(root, 'task-old-unrecorded', { endedDaysAgo: 90 });
    for (const name of ['metadata.json', '04-final-result.json']) rmSync(join(unrecorded, name));
    writeTask(root, 'task-old-strange', { status: 'sleeping', endedDaysAgo: 90 });
    // things that are not task folders, some of them old and "finished" looking
    const outside = writeTask(base, 'task-outside', { endedDaysAgo: 400 });
    symlinkSync(outside, join(root, 'task-linked'));
    writeFileSync(join(root, 'stray.txt'), 'notes');
    writeFileSync(join(root, 'task-file-not-folder'), 'x');
    mkdirSync(join(root, 'not a task'));
    writeTask(join(root, 'not a task'), 'task-nested', { endedDaysAgo: 400 });
    const index = new TaskIndex(join(base, 'index.sqlite'));
    await refreshIndex(index, root);
    expect(index.count()).toBe(7);

    const dry = await pruneTasks({ root, retentionDays: 30, dryRun: true, index });
    expect(dry.deleted.map((d) => d.task_id).sort()).toEqual(['task-old-done', 'task-old-failed']);
    expect(existsSync(join(root, 'task-old-done'))).toBe(true);

    const result = await pruneTasks({ root, retentionDays: 30, index });
    expect(result.deleted.map((d) => d.task_id).sort()).toEqual(['task-old-done', 'task-old-failed']);
    expect(result.deleted.every((d) => d.reason === 'expired')).toBe(true);
    expect(result).toMatchObject({ kept_running: 2, kept_no_metadata: 1, kept_other: 1 });
    // .gone~ holds the deleted tasks' tombstones (a late line must not bring a folder back)
    expect(readdirSync(root).sort()).toEqual(
      [
        '.gone~',
        'not a task',
        'stray.txt',
        'task-file-not-folder',
        'task-linked',
        'task-old-queued',
        'task-old-running',
        'task-old-strange',
        'task-old-unrecorded',
        'task-recent',
      ].sort(),
    );
    expect(existsSync(join(outside, 'metadata.json'))).toBe(true);
    expect(existsSync(join(root, 'not a task', 'task-nested', 'metadata.json'))).toBe(true);
    expect(index.get('task-old-done')).toBeUndefined();
    expect(index.get('task-recent')).toBeDefined();
    index.close();
  });

  it('over the size cap, deletes the oldest finished tasks first and never a running one', async () => {
    const root = await tempLogsDir();
    for (let i = 0; i < 6; i++) writeTask(root, `task-${i}`, { endedDaysAgo: 10 - i, lines: 200 });
    writeTask(root, 'task-running', { status: 'running', endedDaysAgo: 20, lines: 200 });
    const sizeOf = (id: string) =>
      readdirSync(join(root, id)).reduce((sum, f) => sum + readFileSync(join(root, id, f)).length, 0);
    const total =
      [...Array(6).keys()].reduce((sum, i) => sum + sizeOf(`task-${i}`), 0) + sizeOf('task-running');
    const cap = total - sizeOf('task-0') - sizeOf('task-1') + 1;
    const result = await pruneTasks({ root, retentionDays: 30, maxTotalBytes: cap });
    expect(result.deleted.map((d) => [d.task_id, d.reason])).toEqual([
      ['task-0', 'over_size_cap'],
      ['task-1', 'over_size_cap'],
    ]);
    expect(existsSync(join(root, 'task-running'))).toBe(true);
    expect(result.total_bytes_after).toBeLessThanOrEqual(cap);
  });

  it('after a kill -9 in the middle, every task is whole or gone, and the next run clears what was left', async () => {
    const root = await tempLogsDir();
    for (let i = 0; i < 300; i++)
      writeTask(root, `task-${String(i).padStart(3, '0')}`, { endedDaysAgo: 60, lines: 100 });
    const script = `
      import { pruneTasks } from ${JSON.stringify(join(import.meta.dirname, '../../src/ops/retention.ts'))};
      process.stdout.write('go\\n');
      await pruneTasks({ root: ${JSON.stringify(root)}, retentionDays: 30 });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    // killed once it has begun deleting (a task renamed to trash), whatever the machine's speed
    await expect
      .poll(() => readdirSync(root).filter((name) => name.startsWith('task-')).length, {
        timeout: 60_000,
        interval: 1,
      })
      .toBeLessThan(300);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const store = new TaskStore(root);
    const left = readdirSync(root).filter((name) => name.startsWith('task-'));
    expect(left.length).toBeLessThan(300);
    for (const id of left) {
      // whole: every file the task had is there and readable
      expect(readdirSync(join(root, id)).sort()).toEqual([
        '01-input.json',
        '02-webhook-flow.jsonl',
        '03-agent-output.jsonl',
        '04-final-result.json',
        'metadata.json',
      ]);
      expect(await store.readJson(id, '04-final-result.json')).toMatchObject({ success: true });
    }
    // a half-removed folder keeps a name no reader takes for a task
    for (const name of readdirSync(root).filter((n) => !n.startsWith('task-') && n !== '.gone~')) {
      await expect(store.folder(name)).rejects.toMatchObject({ code: 'TASK_ID_INVALID' });
    }
    const next = await pruneTasks({ root, retentionDays: 30 });
    expect(next.deleted).toHaveLength(left.length);
    expect(readdirSync(root)).toEqual(['.gone~']);
  });
});
