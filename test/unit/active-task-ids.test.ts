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
