// The server's background scans (the check for interrupted tasks, the index refresh) share the event loop with the
// HTTP requests. With a long backlog they must read a page at a time and let requests in between, and a shutdown
// must be able to stop them between two folders instead of waiting for the whole scan.
import { createHook } from 'node:async_hooks';
import { spawnSync } from 'node:child_process';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import { TASK_FILES, WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { activeTaskIds, endTasksOfGoneOwners } from '../../src/ops/interrupted-tasks.ts';
import {
  type FolderLister,
  type FolderMtimes,
  FolderMtimesThread,
  listHere,
} from '../../src/store/folder-mtimes.ts';
import { refreshIndex } from '../../src/store/index-refresh.ts';
import { type IndexedFiles, TaskIndex } from '../../src/store/task-index.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const id = (prefix: string, n: number) => `task-${prefix}${String(n).padStart(5, '0')}`;

function backlog(index: TaskIndex, queued: number, running: number): void {
  const rows: [string, IndexedFiles][] = [];
  // created in reverse id order, so "oldest first" is not the id order
  const at = (n: number) => new Date(Date.UTC(2026, 0, 1) + (queued + running - n) * 1000).toISOString();
  for (let n = 0; n < queued; n++)
    rows.push([id('q', n), { metadata: { status: 'queued', created_at: at(n) } }]);
  for (let n = 0; n < running; n++)
    rows.push([id('r', n), { metadata: { status: 'running', created_at: at(queued + n) } }]);
  for (let n = 0; n < 40; n++)
    rows.push([id('c', n), { metadata: { status: 'completed', created_at: at(0) } }]);
  index.upsertMany(rows);
  index.upsert('task-nostatus', { metadata: { status: undefined } });
}

/** counts the turns of the event loop (setImmediate callbacks) until stopped */
function turnCounter(): { stop: () => number } {
  let turns = 0;
  let running = true;
  const turn = () => {
    if (!running) return;
    turns++;
    setImmediate(turn);
  };
  setImmediate(turn);
  return {
    stop: () => {
      running = false;
      return turns;
    },
  };
}

it('lists a backlog of queued and running tasks 250 at a time, letting the event loop turn between pages', async () => {
  const index = new TaskIndex(':memory:');
  backlog(index, 2_500, 1_100);
  const turns = turnCounter();
  const ids = await activeTaskIds(index);
  // 10 pages of queued tasks, 5 of running ones: the loop turned after each (one synchronous read of them all, before;
  // then pages of 1,000, each 1 to 4 ms of the event loop on a loaded machine)
  expect(turns.stop()).toBeGreaterThanOrEqual(15);
  expect(ids).toHaveLength(2_500 + 1_100 + 1);
  // each status oldest first, then the folder with no status
  expect(ids.slice(0, 3)).toEqual([id('q', 2_499), id('q', 2_498), id('q', 2_497)]);
  expect(ids[2_500]).toBe(id('r', 1_099));
  expect(ids.at(-1)).toBe('task-nostatus');
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.some((task) => task.startsWith('task-c'))).toBe(false);
  index.close();
});

it('stops listing at once when the shutdown signal is aborted', async () => {
  const index = new TaskIndex(':memory:');
  backlog(index, 2_500, 0);
  const stop = new AbortController();
  const listing = activeTaskIds(index, stop.signal);
  stop.abort();
  expect((await listing).length).toBeLessThanOrEqual(1_000);
  index.close();
});

it('a stopped check for interrupted tasks ends none; the same check not stopped ends the task of a gone owner', async () => {
  const root = await tempLogsDir();
  const gone = spawnSync(process.execPath, ['-e', '0']).pid; // a process that has exited: its tasks are interrupted
  const now = new Date().toISOString();
  await mkdir(join(root, 'task-gone1'));
  await writeFile(
    join(root, 'task-gone1', TASK_FILES.metadata),
    JSON.stringify({
      task_id: 'task-gone1',
      created_at: now,
      status: 'running',
      owner: { host: hostname(), pid: gone, start_ticks: null, started_at: now },
    }),
  );
  const writer = new TaskFileWriter({ root, report: () => {} });
  const stop = new AbortController();
  stop.abort();
  expect(await endTasksOfGoneOwners(writer, { root, staleMs: 3_600_000, signal: stop.signal })).toEqual([]);
  const ended = await endTasksOfGoneOwners(writer, { root, staleMs: 3_600_000 });
  expect(ended.map((task) => task.task_id)).toEqual(['task-gone1']);
  await writer.shutdown();
});

it('an index refresh stopped part way forgets nothing; a whole one forgets the folders that are gone', async () => {
  const root = await tempLogsDir();
  const index = new TaskIndex(':memory:');
  for (const task of ['task-keep1', 'task-gone1']) {
    await mkdir(join(root, task));
    await writeFile(
      join(root, task, TASK_FILES.metadata),
      JSON.stringify({ task_id: task, status: 'completed' }),
    );
  }
  expect((await refreshIndex(index, root)).updated).toBe(2);
  await rm(join(root, 'task-gone1'), { recursive: true });
  // a changed folder is read again: its status is updated (the unchanged one is not reread)
  await writeFile(join(root, 'task-keep1', TASK_FILES.metadata), JSON.stringify({ status: 'failed' }));
  await writeFile(join(root, 'task-keep1', 'touch'), ''); // a new entry: the folder's mtime changes
  const stop = new AbortController();
  stop.abort();
  const stopped = await refreshIndex(index, root, undefined, { signal: stop.signal });
  expect(stopped.removed).toBe(0);
  expect(index.get('task-gone1')).toBeDefined();
  const whole = await refreshIndex(index, root);
  expect(whole).toMatchObject({ scanned: 1, updated: 1, removed: 1 });
  expect(index.get('task-gone1')).toBeUndefined();
  expect(index.get('task-keep1')?.status).toBe('failed');
  // nothing changed since: no folder is read again
  expect((await refreshIndex(index, root)).updated).toBe(0);
  index.close();
});

it('a full rebuild (tasklogs reindex) rereads every folder and forgets the rows of folders that are gone', async () => {
  const root = await tempLogsDir();
  const index = new TaskIndex(':memory:');
  for (const task of ['task-kept1', 'task-gone1']) {
    await mkdir(join(root, task));
    await writeFile(
      join(root, task, TASK_FILES.metadata),
      JSON.stringify({ task_id: task, status: 'queued' }),
    );
  }
  expect((await refreshIndex(index, root)).updated).toBe(2);
  // a row that says otherwise than its unchanged folder: only a full rebuild reads the folder again
  const [, mtime] = index.folderMtimesAfter('', 10).find(([task]) => task === 'task-kept1')!;
  index.upsert('task-kept1', { metadata: { status: 'running' }, folderMtimeMs: mtime! });
  expect((await refreshIndex(index, root)).updated).toBe(0);
  expect(index.get('task-kept1')?.status).toBe('running');
  await rm(join(root, 'task-gone1'), { recursive: true });
  const stop = new AbortController();
  stop.abort();
  expect((await refreshIndex(index, root, undefined, { full: true, signal: stop.signal })).removed).toBe(0);
  expect(await refreshIndex(index, root, undefined, { full: true })).toMatchObject({
    scanned: 1,
    updated: 1,
    removed: 1,
  });
  expect(index.get('task-gone1')).toBeUndefined();
  expect(index.get('task-kept1')?.status).toBe('queued');
  index.close();
});

it('the refresh does not read again a folder whose row a writer has just written; it reads it once it changes', async () => {
  const root = await tempLogsDir();
  const index = new TaskIndex(':memory:');
  await mkdir(join(root, 'task-fresh1'));
  await writeFile(join(root, 'task-fresh1', TASK_FILES.metadata), JSON.stringify({ status: 'failed' }));
  // what a writer records as it writes: the row, without the folder's mtime (the file says otherwise, so a reread
  // would show)
  index.upsert('task-fresh1', { metadata: { status: 'running' } });
  await refreshIndex(index, root);
  expect(index.get('task-fresh1')?.status).toBe('running');
  // the folder changes (a file renamed in by another process): now it is read
  await writeFile(join(root, 'task-fresh1', 'touch'), '');
  expect((await refreshIndex(index, root)).updated).toBe(1);
  expect(index.get('task-fresh1')?.status).toBe('failed');
  index.close();
});

it('a refresh over unchanged folders makes no file system call per folder on the event loop (they are listed in a thread)', async () => {
  const root = await tempLogsDir();
  const index = new TaskIndex(':memory:');
  const ids = Array.from({ length: 100 }, (_, n) => id('u', n));
  await Promise.all(ids.map((task) => mkdir(join(root, task))));
  expect((await refreshIndex(index, root)).updated).toBe(100);
  // the fs/promises and callback requests this thread starts (a folder's lstat was one each, 20,000 per refresh)
  let requests = 0;
  const folders = new FolderMtimesThread();
  onTestFinished(() => folders.close());
  const hook = createHook({
    init: (_id, type) => {
      if (type === 'FSREQPROMISE' || type === 'FSREQCALLBACK') requests++;
    },
  }).enable();
  try {
    const refreshed = await refreshIndex(index, root, undefined, { lister: folders });
    expect(refreshed).toMatchObject({ scanned: 100, updated: 0, removed: 0 });
  } finally {
    hook.disable();
  }
  expect(requests).toBeLessThan(10);
  // what the thread lists still brings in a folder another process changed and forgets one it deleted
  await writeFile(join(root, ids[1]!, TASK_FILES.metadata), JSON.stringify({ status: 'failed' }));
  await rm(join(root, ids[2]!), { recursive: true });
  const refreshed = await refreshIndex(index, root, undefined, { lister: folders });
  expect(refreshed).toMatchObject({ scanned: 99, updated: 1, removed: 1 });
  expect(index.get(ids[1]!)?.status).toBe('failed');
  expect(index.get(ids[2]!)).toBeUndefined();
  index.close();
});

it('a folder the writer has just written is left alone by the next refresh: its row has the folder mtime already', async () => {
  const root = await tempLogsDir();
  const index = new TaskIndex(':memory:');
  const telemetry = testTelemetry(root, {}, { index });
  const ids = ['task-written1', 'task-written2', 'task-written3'];
  for (const taskId of ids) {
    const task = telemetry.tasks.start({ taskId, source: 'webhook', provider: 'github' });
    for (const stage of WEBHOOK_STAGES) task.recordStage(stage);
  }
  await telemetry.forceFlush();
  // neither read again nor its mtime recorded (the refresh used to record each one: 20,000 row writes after a burst)
  expect(await refreshIndex(index, root)).toMatchObject({ scanned: 3, updated: 0, removed: 0 });
  // changed since by another process (which renames its JSON into place, as every writer does): read again. Once the
  // file system's clock has moved past the writer's last rename (it ticks every few ms): a rename in the same tick
  // would leave the folder's mtime as it was
  const written = (await stat(join(root, 'task-written2'))).mtimeMs;
  await expect
    .poll(async () => {
      await writeFile(join(root, '.clock'), '');
      return (await stat(join(root, '.clock'))).mtimeMs;
    })
    .toBeGreaterThan(written);
  await writeFile(join(root, 'task-written2', 'metadata.tmp'), JSON.stringify({ status: 'failed' }));
  await rename(join(root, 'task-written2', 'metadata.tmp'), join(root, 'task-written2', TASK_FILES.metadata));
  expect(await refreshIndex(index, root)).toMatchObject({ scanned: 3, updated: 1, removed: 0 });
  expect(index.get('task-written2')?.status).toBe('failed');
  await telemetry.shutdown();
  index.close();
});

it('a refresh does not reread the folders a writer made and indexed while it listed them, and reads one it did not index', async () => {
  const root = await tempLogsDir();
  const index = new TaskIndex(':memory:');
  const telemetry = testTelemetry(root, {}, { index });
  const ids = ['task-during1', 'task-during2', 'task-during3'];
  // the rows are read before the listing; at saturation the writer makes and indexes folders in between
  const lister: FolderLister = {
    list: async (dir, signal) => {
      for (const taskId of ids) {
        const task = telemetry.tasks.start({ taskId, source: 'webhook', provider: 'github' });
        for (const stage of WEBHOOK_STAGES) task.recordStage(stage);
      }
      await telemetry.forceFlush();
      // and another process makes one the index does not have
      await mkdir(join(dir, 'task-elsewhere'));
      await writeFile(join(dir, 'task-elsewhere', TASK_FILES.metadata), JSON.stringify({ status: 'failed' }));
      return listHere.list(dir, signal);
    },
  };
  // only the other process's folder is read (before: all four); none is taken for deleted
  expect(await refreshIndex(index, root, undefined, { lister })).toMatchObject({
    scanned: 4,
    updated: 1,
    removed: 0,
  });
  expect(index.get('task-elsewhere')?.status).toBe('failed');
  for (const taskId of ids) expect(index.get(taskId)?.status).toBe('queued');
  await telemetry.shutdown();
  index.close();
});

/** a listing of `ids` (no folders made: the refresh reads none of them when the index has each at the listed mtime) */
function listingOf(ids: string[]): FolderMtimes {
  return { ids: ids.join('\n'), mtimes: new Float64Array(ids.length).fill(1) };
}

it('a refresh whose listed folders were all indexed meanwhile still lets the event loop turn while it looks them up', async () => {
  const root = await tempLogsDir();
  const index = new TaskIndex(':memory:');
  const ids = Array.from({ length: 600 }, (_, n) => id('m', n));
  let turns: { stop: () => number } | undefined;
  // the writer indexes every folder (with its mtime) between the refresh's read of the rows and its listing
  const lister: FolderLister = {
    list: async () => {
      index.upsertMany(ids.map((task) => [task, { metadata: { status: 'queued' }, folderMtimeMs: 1 }]));
      turns = turnCounter();
      return listingOf(ids);
    },
  };
  expect(await refreshIndex(index, root, undefined, { lister })).toMatchObject({ scanned: 600, updated: 0 });
  // a look-up is a few µs, but 70,000 of them in one go held the event loop (a turn every 256 at least)
  expect(turns!.stop()).toBeGreaterThanOrEqual(2);
  index.close();
});

it('a refresh lets the event loop turn while it compares a long listing with the rows (a shutdown stops it there)', async () => {
  const root = await tempLogsDir();
  const index = new TaskIndex(':memory:');
  const ids = Array.from({ length: 2000 }, (_, n) => id('l', n));
  const stop = new AbortController();
  const lister: FolderLister = {
    list: async () => {
      index.upsertMany(ids.map((task) => [task, { metadata: { status: 'queued' }, folderMtimeMs: 1 }]));
      // the next turn of the event loop: within the comparison of the 2,000 folders with the (no) rows when it
      // yields a page at a time (before, not before the look-ups had begun: 256 scanned)
      setImmediate(() => stop.abort());
      return listingOf(ids);
    },
  };
  expect(await refreshIndex(index, root, undefined, { lister, signal: stop.signal })).toMatchObject({
    scanned: 0,
    updated: 0,
  });
  index.close();
});
