import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskIndex } from '../../src/store/task-index.ts';
import { mountTmpfs } from '../helpers/tmpfs.ts';

describe('the task index on a full disk', () => {
  it("reports SQLite's own reason, not a failed rollback, and takes writes again once there is room", async ({
    skip,
  }) => {
    const mounted = await mountTmpfs('512k');
    if (mounted === undefined) return skip('mounting a tmpfs needs root');
    const index = new TaskIndex(join(mounted, '.index.sqlite'));
    try {
      const entry = (i: number): [string, { metadata: { task_id: string; status: 'queued' } }] => [
        `task-${i}`,
        { metadata: { task_id: `task-${i}`, status: 'queued' } },
      ];
      expect(() => writeFileSync(join(mounted, 'filler'), Buffer.alloc(1 << 20))).toThrow(/ENOSPC/);
      const many = Array.from({ length: 50 }, (_, i) => entry(i));
      expect(() => index.upsertMany(many)).toThrow(/disk is full/);
      expect(() => index.replaceMany(many)).toThrow(/disk is full/);
      rmSync(join(mounted, 'filler'));
      index.upsertMany(many);
      expect(index.count()).toBe(50);
    } finally {
      index.close();
    }
  });
});
