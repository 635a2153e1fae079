// Maintenance and the folders a killed writer leaves in .new~ (never renamed into place, not tasks): prune removes the
// ones whose writer is gone or that are stale, never a live writer's, never through a link; verify counts them, and
// says when .new~ is a link. Both through the command line, as an operator runs them.
import { existsSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NEW_FOLDERS_DIR } from '../../src/contract/new-folders.ts';
import { TASK_FILES } from '../../src/contract/task-files.ts';
import { recordSampleTask } from '../helpers/sample-task.ts';
import { cli } from '../helpers/tasklogs-cli.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

// pids are at most 2^22 on Linux: no process has this one
const DEAD = '999999999.0a1b2c3d';

function leftover(root: string, name: string): string {
  const dir = join(root, NEW_FOLDERS_DIR, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, TASK_FILES.metadata), '{"status":"queued"}\n');
  return dir;
}

describe('leftovers in .new~', () => {
  it("are counted by verify and removed by prune: a dead writer's and a stale one, never a live one's or through a link", async () => {
    const root = await tempLogsDir();
    const outside = await tempLogsDir('outside-');
    writeFileSync(join(outside, 'keep.txt'), 'not ours\n');
    // one real task, so prune and verify have something to read
    const telemetry = testTelemetry(root);
    await recordSampleTask(telemetry.tasks, { taskId: 'task-real' });
    await telemetry.shutdown();
    const dead = leftover(root, `${DEAD}.0.task-dead`);
    // this process's own folder, 11 minutes old: no write takes that long
    const stale = leftover(root, `${process.pid}.0a1b2c3d.1.task-stale`);
    const old = (Date.now() - 11 * 60_000) / 1000;
    utimesSync(stale, old, old);
    // a live writer's folder in progress (this process)
    const live = leftover(root, `${process.pid}.0a1b2c3d.2.task-busy`);
    // a link named like a dead writer's folder: removed as a link, what it points at untouched
    const link = join(root, NEW_FOLDERS_DIR, `${DEAD}.3.task-link`);
    symlinkSync(outside, link);

    const verified = await cli(root, 'verify', '--json');
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.out)).toMatchObject({ scanned: 1, broken: [], new_folder_leftovers: 3 });
    expect((await cli(root, 'verify')).out).toBe(
      `3 new task folders left in ${NEW_FOLDERS_DIR} by killed writers (not tasks: the next writer or prune removes them)\n` +
        '1 task checked, 0 with problems\n',
    );

    const dry = await cli(root, 'prune', '--dry-run', '--json');
    expect(JSON.parse(dry.out)).toMatchObject({ leftover_new_folders_removed: 3, errors: [] });
    expect(readdirSync(join(root, NEW_FOLDERS_DIR))).toHaveLength(4);

    const pruned = await cli(root, 'prune');
    expect(pruned.code).toBe(0);
    expect(pruned.out).toContain(`removed 3 new task folders left in ${NEW_FOLDERS_DIR} by killed writers`);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(link)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(readdirSync(outside)).toEqual(['keep.txt']);
    expect(existsSync(join(root, 'task-real', TASK_FILES.metadata))).toBe(true);
    expect(JSON.parse((await cli(root, 'verify', '--json')).out)).toMatchObject({ new_folder_leftovers: 0 });
  });

  it('is never followed when .new~ itself is a link: prune removes nothing there, verify says what it is', async () => {
    const root = await tempLogsDir();
    const outside = await tempLogsDir('outside-');
    // what a dead writer's folder would look like, outside the logs folder
    mkdirSync(join(outside, `${DEAD}.0.task-x`));
    symlinkSync(outside, join(root, NEW_FOLDERS_DIR));
    const pruned = await cli(root, 'prune', '--json');
    expect(pruned.code).toBe(0);
    expect(JSON.parse(pruned.out)).toMatchObject({ leftover_new_folders_removed: 0, errors: [] });
    expect(readdirSync(outside)).toEqual([`${DEAD}.0.task-x`]);
    const verified = await cli(root, 'verify', '--json');
    expect(verified.code).toBe(1);
    expect(JSON.parse(verified.out).broken).toEqual([
      { task_id: '', problems: [`the ${NEW_FOLDERS_DIR} folder is a symbolic link: skipped`], repaired: [] },
    ]);
    // a problem of no one task is said on its own, with no empty task id in front of it, and not counted as a task's
    expect((await cli(root, 'verify')).out).toBe(
      `the ${NEW_FOLDERS_DIR} folder is a symbolic link: skipped\n0 tasks checked, 0 with problems, 1 problem of the logs folder\n`,
    );
  });
});
