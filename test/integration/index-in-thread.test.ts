// The writer thread keeps the task index current itself: the rows of what a flush wrote go into the index through the
// thread's own connection, not through the event loop's, and the event loop indexes only what the thread could not.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskFileWriter, type WrittenFiles } from '../../exporters/task-file-writer.ts';
import type { SpanLike } from '../../exporters/telemetry-item.ts';
import { loadConfig } from '../../src/config.ts';
import { WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { startTelemetry, type Telemetry } from '../../src/instrumentation/telemetry.ts';
import { type IndexedFiles, TaskIndex } from '../../src/store/task-index.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { line, pushAll, status } from '../helpers/writer-items.ts';

const INPUT = { message: '@agent review', source_metadata: { provider: 'github' } };

/** a webhook's task through its six stages: queued, so its metadata.json and index row are written */
function webhookTask(telemetry: Telemetry, taskId: string) {
  const task = telemetry.tasks.start({ taskId, source: 'webhook', provider: 'github', input: INPUT });
  for (const stage of WEBHOOK_STAGES) task.recordStage(stage);
  return task;
}

/**
 * Leaves a loaded writer thread kept for the next writer of this process: a writer that takes it sends its first
 * flush to it (a thread a writer starts itself takes flushes only once loaded; the earlier ones are written, and
 * indexed, on the event loop).
 */
async function keptThread(root: string): Promise<void> {
  await new TaskFileWriter({ root, flushMs: 5, thread: {}, report: () => {} }).shutdown();
}

/** the index as the server holds it, with the task ids its own (event-loop) connection upserted */
function indexOnTheEventLoop(path: string): { index: TaskIndex; upserted: string[] } {
  const index = new TaskIndex(path);
  const upserted: string[] = [];
  const upsertMany = index.upsertMany.bind(index);
  index.upsertMany = (entries: Iterable<[string, IndexedFiles]>) => {
    const list = [...entries];
    for (const [taskId] of list) upserted.push(taskId);
    upsertMany(list);
  };
  return { index, upserted };
}

const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

describe('the task index kept current by the writer thread', () => {
  it('puts the rows of a flush the thread wrote into the index itself; the event loop upserts none of them', async () => {
    const dir = await tempLogsDir();
    await keptThread(dir);
    const config = loadConfig({ env: { TASK_LOGS_DIR: dir } });
    const { index, upserted } = indexOnTheEventLoop(config.indexPath);
    open.push(index);
    const told: WrittenFiles[] = [];
    const telemetry = startTelemetry(config, {
      register: false,
      index,
      onWritten: (written) => told.push(...written),
    });
    const task = webhookTask(telemetry, 'task-one');
    await telemetry.forceFlush();
    // a finished flush means indexed, as before: the row is there, with the metadata written
    expect(index.get('task-one')).toMatchObject({ task_id: 'task-one', status: 'queued', source: 'webhook' });
    expect(upserted).toEqual([]);
    expect(told.map((w) => [w.taskId, w.indexed])).toEqual([['task-one', true]]);
    // the run and its result too
    const run = task.startAgent({ name: 'brain', model: 'claude' });
    run.text('working');
    run.finish({ result: 'done', costUsd: 0.25 });
    await telemetry.forceFlush();
    expect(index.get('task-one')).toMatchObject({ status: 'completed', success: true, cost_usd: 0.25 });
    expect(upserted).toEqual([]);
    await telemetry.shutdown();
  });

  it("lets the event loop's own index writes in between the thread's transactions, never after all of them", async () => {
    // A flush of thousands of tasks is indexed by the thread in back-to-back transactions of 128 rows. A write of the
    // event loop's own connection (the refresh, retention, a row the thread left) meanwhile waits in SQLite's busy
    // handler, which sleeps 1, 2, 5, 10 ms... between its tries: unless the thread lets it in, it finds the lock taken
    // at every try and holds the event loop until the last of them (330 ms for 20,000 rows, measured).
    const dir = await tempLogsDir();
    await keptThread(dir);
    const config = loadConfig({ env: { TASK_LOGS_DIR: dir } });
    const index = new TaskIndex(config.indexPath);
    open.push(index);
    const telemetry = startTelemetry(config, { register: false, index });
    const perFlush = 1_500;
    // the index's rows when the event loop's write went in, while the thread was between the first and the last
    // transaction of a flush's rows (a flush whose rows were all in before the event loop looked proves nothing: the
    // next one is tried)
    let inAfter: { rows: number; of: number } | undefined;
    for (let round = 0; round < 4 && inAfter === undefined; round++) {
      const spans: SpanLike[] = [];
      for (let i = 0; i < perFlush; i++)
        spans.push(status(`task-${round}-${String(i).padStart(5, '0')}`, 'queued'));
      const pushed = pushAll(telemetry.writer!, spans);
      const all = index.count() + perFlush;
      // the thread has committed the first transaction of this flush's rows (the first task's row is in it)
      while (index.get(`task-${round}-00000`) === undefined)
        await new Promise<void>((resolve) => setImmediate(resolve));
      const before = index.count();
      if (before < all) {
        index.upsert(`from-the-event-loop-${round}`, { metadata: { status: 'queued', source: 'webhook' } });
        inAfter = { rows: index.count() - 1, of: all };
      }
      await pushed;
      await telemetry.forceFlush();
      expect(index.count()).toBe(all + (inAfter === undefined ? 0 : 1));
    }
    // in before the thread's last transaction: it waited for one of them, not for them all
    expect(inAfter).toBeDefined();
    expect(inAfter!.rows).toBeLessThan(inAfter!.of);
    await telemetry.shutdown();
  });

  it('never follows a link planted at the index path while the server has it open: the event loop indexes instead', async () => {
    // The server opened its index at start; the thread opens it at its first flush with a row to index, later. A link
    // put in the index's place meanwhile (the file moved away) is not the server's file, whoever has the -shm open.
    const dir = await tempLogsDir();
    const outside = await tempLogsDir('outside-');
    await keptThread(dir);
    const config = loadConfig({ env: { TASK_LOGS_DIR: dir } });
    const { index, upserted } = indexOnTheEventLoop(config.indexPath);
    open.push(index);
    renameSync(config.indexPath, join(dir, 'moved-away.sqlite'));
    symlinkSync(join(outside, 'made-through-a-link.sqlite'), config.indexPath);
    const reports: string[] = [];
    const telemetry = startTelemetry(config, { register: false, index, report: (m) => reports.push(m) });
    webhookTask(telemetry, 'task-link');
    await telemetry.forceFlush();
    await telemetry.shutdown();
    expect(existsSync(join(outside, 'made-through-a-link.sqlite'))).toBe(false);
    expect(lstatSync(config.indexPath).isSymbolicLink()).toBe(true); // left where it was, for a look
    // the row went in through the server's own connection (to the file it opened)
    expect(upserted).toEqual(['task-link']);
    expect(index.get('task-link')).toMatchObject({ status: 'queued' });
    expect(reports.filter((r) => r.includes('symbolic link'))).toHaveLength(1);
  });

  it("makes no new index beside the log of one deleted while the server has it open: the server's stays whole", async () => {
    // "Deleting the index loses nothing": an operator removes .index.sqlite while the server runs. Its -wal and -shm
    // stay, held by the server's connection to the deleted file. A new database made at the path would share them,
    // and the server's own connection then read the new one's pages as its own (every query: no such table).
    const dir = await tempLogsDir();
    await keptThread(dir);
    const config = loadConfig({ env: { TASK_LOGS_DIR: dir } });
    const { index, upserted } = indexOnTheEventLoop(config.indexPath);
    open.push(index);
    index.upsert('task-before', { metadata: { status: 'completed', source: 'webhook' } });
    rmSync(config.indexPath);
    const reports: string[] = [];
    const telemetry = startTelemetry(config, { register: false, index, report: (m) => reports.push(m) });
    webhookTask(telemetry, 'task-after');
    await telemetry.forceFlush();
    await telemetry.shutdown();
    expect(existsSync(config.indexPath)).toBe(false);
    // the server's index answers, with the row it had and the new one, upserted through its own connection
    expect(index.get('task-before')).toMatchObject({ status: 'completed' });
    expect(index.get('task-after')).toMatchObject({ status: 'queued' });
    expect(upserted).toEqual(['task-after']);
    expect(reports.filter((r) => r.includes('could not open the task index'))).toHaveLength(1);
    // a command started meanwhile says so, and makes nothing either
    expect(() => new TaskIndex(config.indexPath)).toThrow(/deleted/);
    expect(existsSync(config.indexPath)).toBe(false);
  });

  it('leaves the rows to the event loop when the thread cannot open the index, and says why once', async () => {
    const root = await tempLogsDir();
    await keptThread(root);
    // a path under a plain file: no index can be made there
    mkdirSync(join(root, 'elsewhere'));
    writeFileSync(join(root, 'elsewhere', 'file'), 'not a folder\n');
    const reports: string[] = [];
    const told: WrittenFiles[] = [];
    const writer = new TaskFileWriter({
      root,
      flushMs: 5,
      thread: {},
      index: {
        path: join(root, 'elsewhere', 'file', 'index.sqlite'),
        module: new URL('../../src/store/writer-index.ts', import.meta.url).href,
      },
      report: (message) => reports.push(message),
      onWritten: (written) => {
        told.push(...written);
      },
    });
    await pushAll(writer, [status('task-a', 'queued'), line('task-a', 'one')]);
    await pushAll(writer, [status('task-a', 'running'), line('task-a', 'two')]);
    await writer.forceFlush();
    expect(told.map((w) => w.taskId)).toEqual(['task-a', 'task-a']);
    for (const w of told) expect(w.indexed).toBe(false);
    expect(reports.filter((r) => r.includes('could not open the task index'))).toHaveLength(1);
    await writer.shutdown();
  });
});

describe('a writer shut down with its thread kept for the next writer', () => {
  it('holds nothing open in its folder once shutdown resolves: the folder can be removed at once, whole', async () => {
    // the thread's index connection was closed after shutdown resolved (a release message nobody waited for): a
    // caller removing the folder right away raced SQLite's close and left half of the folder (the lifecycles
    // benchmark left two of its four folders a run)
    const openIn = (dir: string) =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${dir}/`);
        } catch {
          return false; // closed meanwhile
        }
      });
    for (let round = 0; round < 3; round++) {
      const dir = await tempLogsDir();
      await keptThread(dir);
      const telemetry = startTelemetry(loadConfig({ env: { TASK_LOGS_DIR: dir } }), { register: false });
      for (let i = 0; i < 20; i++) webhookTask(telemetry, `task-${round}-${i}`);
      await telemetry.forceFlush();
      await telemetry.shutdown();
      expect(openIn(dir)).toEqual([]);
      rmSync(dir, { recursive: true, force: true });
      expect(existsSync(dir)).toBe(false);
    }
  });
});
