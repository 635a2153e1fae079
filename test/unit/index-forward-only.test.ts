// Two processes writing one task (split mode) each upsert the row of what they wrote; the upserts can land in either
// order. A writer's row for an older state must not replace a newer one; the refresh and reindex read the files and
// take what they say.
import { describe, expect, it } from 'vitest';
import { type IndexedFiles, TaskIndex } from '../../src/store/task-index.ts';

const S1 = '2026-01-01T00:00:01.000Z';
const S2 = '2026-01-01T00:10:00.000Z';
const queued: IndexedFiles = { metadata: { status: 'queued', source: 'webhook' }, folderMtimeMs: 1 };
const running: IndexedFiles = {
  metadata: { status: 'running', source: 'webhook', started_at: S1, model: 'm-1' },
  folderMtimeMs: 2,
};
const completed: IndexedFiles = {
  metadata: {
    status: 'completed',
    source: 'webhook',
    started_at: S1,
    completed_at: '2026-01-01T00:00:09.000Z',
  },
  finalResult: { success: true, completed_at: '2026-01-01T00:00:09.000Z' },
  folderMtimeMs: 3,
};
// ended by the interrupted-task check, then taken up again by a run that started after it
const interrupted: IndexedFiles = {
  metadata: { status: 'failed', source: 'webhook', started_at: S1, completed_at: '2026-01-01T00:05:00.000Z' },
  finalResult: { success: false, completed_at: '2026-01-01T00:05:00.000Z' },
  folderMtimeMs: 4,
};
const resumed: IndexedFiles = {
  metadata: { status: 'running', source: 'webhook', started_at: S2, model: 'm-2' },
  folderMtimeMs: 5,
};

function landed(...upserts: IndexedFiles[]) {
  const index = new TaskIndex(':memory:');
  for (const files of upserts) index.upsert('task-1', files);
  const row = index.get('task-1');
  const mtime = index.folderMtimesAfter('', 1)[0]![1];
  index.close();
  return { status: row?.status, started_at: row?.started_at, model: row?.model, mtime };
}

describe('the task index row of a task two processes write', () => {
  it("keeps the newer status, and that writer's folder mtime, when an older state's upsert lands after it", () => {
    expect(landed(running, queued)).toEqual({ status: 'running', started_at: S1, model: 'm-1', mtime: 2 });
    expect(landed(completed, running)).toMatchObject({ status: 'completed', mtime: 3 });
    expect(landed(completed, queued)).toMatchObject({ status: 'completed', mtime: 3 });
    expect(landed(interrupted, running)).toMatchObject({ status: 'failed', mtime: 4 });
    // the same state again (more fields known): applied
    expect(
      landed(running, { ...running, metadata: { ...running.metadata, model: 'm-3' }, folderMtimeMs: 6 }),
    ).toEqual({ status: 'running', started_at: S1, model: 'm-3', mtime: 6 });
  });

  it('takes a resumed run (started after the interruption) over the interrupted status, in either order of arrival', () => {
    expect(landed(running, interrupted, resumed)).toEqual({
      status: 'running',
      started_at: S2,
      model: 'm-2',
      mtime: 5,
    });
    // the check's late upsert still records its result (04 is the check's until the run ends), as a result upsert
    // does on its own, with its folder mtime: older than the folder's now, so the refresh reads the folder again
    expect(landed(running, resumed, interrupted)).toEqual({
      status: 'running',
      started_at: S2,
      model: 'm-2',
      mtime: 4,
    });
    // and a task interrupted while still queued (never started)
    const queuedThenFailed = { ...interrupted, metadata: { status: 'failed' as const, source: 'webhook' } };
    expect(landed(queued, resumed, queuedThenFailed)).toMatchObject({ status: 'running', started_at: S2 });
  });

  it('the refresh and reindex take what the files say, whatever the row holds', () => {
    const index = new TaskIndex(':memory:');
    index.upsert('task-1', completed);
    index.refreshMany([['task-1', running]]);
    expect(index.get('task-1')).toMatchObject({ status: 'running', started_at: S1 });
    index.upsert('task-1', completed);
    index.replaceMany([['task-1', queued]]);
    expect(index.get('task-1')).toMatchObject({ status: 'queued', started_at: null });
    index.close();
  });
});
