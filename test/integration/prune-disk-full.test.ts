// The disk of the logs is full: `tasklogs prune` is what frees it, so it must not need room for the task index first.
// It refused ("cannot open the task index ... (database or disk is full)") and deleted nothing.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTask } from '../helpers/old-tasks.ts';
import { cli } from '../helpers/tasklogs-cli.ts';
import { mountTmpfs } from '../helpers/tmpfs.ts';

describe('tasklogs prune on a full disk', () => {
  it('deletes the expired tasks without the index, and says the index was left as it was', async ({
    skip,
  }) => {
    const mounted = await mountTmpfs('1m');
    if (mounted === undefined) return skip('mounting a tmpfs needs root');
    const root = join(mounted, 'tasks');
    writeTask(root, 'task-old', { endedDaysAgo: 40, lines: 50 });
    writeTask(root, 'task-new', { endedDaysAgo: 1 });
    // the last blocks taken: no index could be made
    expect(() => writeFileSync(join(mounted, 'filler'), Buffer.alloc(2 << 20))).toThrow(/ENOSPC/);

    // the commands that need the index say what is wrong (it guessed a read-only folder)
    const listed = await cli(root, 'ls');
    expect(listed.err).toContain('(database or disk is full): is its disk full? Set TASK_LOGS_INDEX_PATH');
    expect(listed.code).toBe(1);

    const pruned = await cli(root, 'prune');
    expect(pruned.err).toMatch(
      /^tasklogs: the task index \S+ cannot be opened \(database or disk is full\): pruning without it \(the server's next refresh or tasklogs reindex forgets the deleted tasks\)\n$/,
    );
    expect(pruned.out).toMatch(/^deleted 1 of 2 tasks /m);
    expect(pruned.code).toBe(0);
    expect(existsSync(join(root, 'task-old'))).toBe(false);
    expect(existsSync(join(root, 'task-new'))).toBe(true);
  });
});
