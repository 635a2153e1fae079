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
