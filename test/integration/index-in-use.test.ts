// The check of an index left open (quick_check, then a move aside if damaged) is for a file whose last user died. A
// file another process has open (a server, while `tasklogs` runs) is that process's: it is neither read whole by every
// command (about 0.35 s at 100,000 tasks) nor moved away under it (its writes would go on into the moved file, unseen).
import { closeSync, linkSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { TaskIndex } from '../../src/store/task-index.ts';
import { tasklogs } from '../helpers/tasklogs-cli.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

it('tasklogs leaves an index that another process has open where it is, even one found damaged', async () => {
  const root = await tempLogsDir();
  const path = join(root, '.index.sqlite');
  const built = new TaskIndex(path);
  built.upsertMany(
    Array.from({ length: 3000 }, (_, n) => [
      `task-${n}`,
      {
        metadata: { status: 'completed', created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString() },
      },
    ]),
  );
  built.close();
  // damaged pages (what bit rot or a bug could do): the process that has it open goes on using it
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(8192, 0x5a), 0, 8192, 16 * 4096);
  closeSync(fd);
  const held = new TaskIndex(path); // closed cleanly before: not checked
  onTestFinished(() => held.close());
  const inode = statSync(path).ino;

  const run = tasklogs(root, 'ls');
  expect(run.err).not.toContain('moved to');
  expect(readdirSync(root).filter((name) => name.includes('.corrupt-'))).toEqual([]);
  expect(statSync(path).ino).toBe(inode);
  held.upsert('task-later', { metadata: { status: 'queued' } });
  expect(held.get('task-later')?.status).toBe('queued');
});

it('a hard link made to an index a server has open (a backup with cp -al or rsnapshot) is not a reason to move it', async () => {
  const root = await tempLogsDir();
  const backup = await tempLogsDir('backup-');
  const path = join(root, '.index.sqlite');
  const held = new TaskIndex(path);
  onTestFinished(() => held.close());
  held.upsert('task-held', { metadata: { status: 'queued' } });
  linkSync(path, join(backup, '.index.sqlite'));
  const inode = statSync(path).ino;

  const run = tasklogs(root, 'ls');
  expect(run.err).not.toContain('moved to');
  expect(statSync(path).ino).toBe(inode);
  expect(readdirSync(root).filter((name) => name.includes('.corrupt-'))).toEqual([]);
});
