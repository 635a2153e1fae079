// The check for interrupted tasks lists the active tasks a page at a time, letting requests in between pages: a task
// that a request moves from queued to running in between is still listed once (ended twice, it had two endings).
import { expect, it } from 'vitest';
import { activeTaskIds } from '../../src/ops/interrupted-tasks.ts';
import { TaskIndex } from '../../src/store/task-index.ts';

it('a task that starts running while the queued ones are listed is listed once', async () => {
  const index = new TaskIndex(':memory:');
  index.upsert('task-moves', { metadata: { status: 'queued', created_at: '2026-11-01T10:00:00.000Z' } });
  index.upsert('task-waits', { metadata: { status: 'queued', created_at: '2026-11-01T10:00:01.000Z' } });
  const listing = activeTaskIds(index);
  // the queued page has been read; the running one is read after a turn of the event loop
  index.upsert('task-moves', { metadata: { status: 'running', created_at: '2026-11-01T10:00:00.000Z' } });
  expect(await listing).toEqual(['task-moves', 'task-waits']);
  index.close();
});

it('lists every queued and running task once across pages, oldest first, those with no created_at last', async () => {
  const index = new TaskIndex(':memory:');
  const expected: string[] = [];
  // 2,500 queued (ties on created_at, and 300 with none), 1,200 running, 500 completed: many pages
  for (let i = 0; i < 2500; i++) {
    const id = `task-q${String(i).padStart(5, '0')}`;
    const createdAt =
      i < 300 ? undefined : new Date(Date.UTC(2026, 10, 1) + Math.floor(i / 7) * 1000).toISOString();
    index.upsert(id, { metadata: { status: 'queued', ...(createdAt ? { created_at: createdAt } : {}) } });
    expected.push(id);
  }
  for (let i = 0; i < 1200; i++) {
    const id = `task-r${String(i).padStart(5, '0')}`;
    index.upsert(id, {
      metadata: { status: 'running', created_at: new Date(Date.UTC(2026, 10, 2) - i * 1000).toISOString() },
    });
  }
  for (let i = 0; i < 500; i++)
    index.upsert(`task-c${i}`, { metadata: { status: 'completed', created_at: '2026-11-01T09:00:00.000Z' } });
  const ids = await activeTaskIds(index);
  expect(ids.slice(0, 2500)).toEqual([...expected.slice(300), ...expected.slice(0, 300)]);
  // the running ones: the oldest (the last written here) first
  expect(ids.slice(2500)).toEqual(
    Array.from({ length: 1200 }, (_, i) => `task-r${String(1199 - i).padStart(5, '0')}`),
  );
  index.close();
});

it('with writtenBefore, lists only the tasks the index has as written by then or does not know, across pages', async () => {
  const index = new TaskIndex(':memory:');
  const cutoff = Date.UTC(2026, 10, 1, 12);
  const expected: string[] = [];
  // 1,300 queued and 300 running, most written after the cutoff: pages (of 250) with none to list come between
  for (let i = 0; i < 1600; i++) {
    const status = i < 1300 ? 'queued' : 'running';
    const id = `task-${status[0]}${String(i).padStart(5, '0')}`;
    const kind = i % 97 === 5 ? 'old' : i % 89 === 7 ? 'unknown' : i % 83 === 3 ? 'at' : 'fresh';
    const folderMtimeMs =
      kind === 'old' ? cutoff - 60_000 : kind === 'at' ? cutoff : kind === 'fresh' ? cutoff + 1 : undefined;
    index.upsert(id, {
      metadata: { status, created_at: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString() },
      ...(folderMtimeMs === undefined ? {} : { folderMtimeMs }),
    });
    if (kind !== 'fresh') expected.push(id);
  }
  // folders with no status yet: one unwritten since before the cutoff, one written after
  index.refreshMany([
    ['task-n1', { folderMtimeMs: cutoff - 1, metadata: { status: undefined } }],
    ['task-n2', { folderMtimeMs: cutoff + 1, metadata: { status: undefined } }],
  ]);
  expect(expected.length).toBeGreaterThan(40);
  expect(await activeTaskIds(index, undefined, { writtenBefore: cutoff, keepHost: undefined })).toEqual([
    ...expected,
    'task-n1',
  ]);
  // without it, every one
  expect(await activeTaskIds(index)).toHaveLength(1602);
  index.close();
});

it('with keepHost, leaves out only the tasks of other hosts written after the cutoff', async () => {
  const index = new TaskIndex(':memory:');
  const cutoff = Date.UTC(2026, 10, 1, 12);
  const row = (id: string, host: string | undefined, folderMtimeMs: number) =>
    index.upsert(id, {
      metadata: {
        status: 'running',
        created_at: '2026-11-01T10:00:00.000Z',
        ...(host === undefined ? {} : { owner: { host, pid: 1234, start_ticks: null, started_at: 'x' } }),
      },
      folderMtimeMs,
    });
  row('task-here-fresh', 'here', cutoff + 1);
  row('task-there-fresh', 'there', cutoff + 1);
  row('task-there-old', 'there', cutoff - 1);
  row('task-none-fresh', undefined, cutoff + 1);
  expect(await activeTaskIds(index, undefined, { writtenBefore: cutoff, keepHost: 'here' })).toEqual([
    'task-here-fresh',
    'task-none-fresh',
    'task-there-old',
  ]);
  // with no keepHost (Redis: a gone owner's task is the queue's), every fresh one is left out, whoever holds it
  expect(await activeTaskIds(index, undefined, { writtenBefore: cutoff, keepHost: undefined })).toEqual([
    'task-there-old',
  ]);
  index.close();
});
