// The index keeps each task's owner host (the interrupted-task check leaves fresh tasks of other hosts unread). An
// index made before the column existed gets it added when opened, its rows kept (not dropped and rebuilt from the
// files), their owner host unknown until they are written again.
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { expect, it } from 'vitest';
import { TaskIndex } from '../../src/store/task-index.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const owner = (host: string) => ({
  host,
  pid: 10,
  start_ticks: null,
  started_at: '2026-11-01T10:00:00.000Z',
});

it('adds owner_host to an index made without it, keeping its rows', async () => {
  const path = join(await tempLogsDir(), 'index.sqlite');
  const made = new TaskIndex(path);
  made.upsert('task-before', { metadata: { status: 'running', owner: owner('there') }, folderMtimeMs: 1 });
  made.close();
  // as an index of the version before: no owner_host column
  const raw = new DatabaseSync(path);
  raw.exec('ALTER TABLE tasks DROP COLUMN owner_host');
  raw.close();

  const index = new TaskIndex(path);
  expect(index.count()).toBe(1);
  // its owner is not known: kept by a check that keeps this host's and unknown owners' tasks
  expect(index.idsWithStatus('running', undefined, 10, { before: 0, keepHost: 'here' }).ids).toEqual([
    'task-before',
  ]);
  index.upsert('task-before', { metadata: { status: 'running', owner: owner('there') }, folderMtimeMs: 2 });
  index.upsert('task-after', { metadata: { status: 'running', owner: owner('there') }, folderMtimeMs: 2 });
  expect(index.idsWithStatus('running', undefined, 10, { before: 0, keepHost: 'here' }).ids).toEqual([]);
  expect(index.idsWithStatus('running', undefined, 10, { before: 2, keepHost: 'here' }).ids).toEqual([
    'task-after',
    'task-before',
  ]);
  index.close();
  // opened again: nothing to add
  const again = new TaskIndex(path);
  expect(again.count()).toBe(2);
  again.close();
});
