// With Redis the interrupted-task check ends a queued or running task only after TASK_LOGS_INTERRUPTED_AFTER_MINUTES
// without a write to its folder (a dead owner's job is the queue's to run again), and never one whose job Redis still
// holds. It read every queued task's metadata.json (and stat'ed its files) every TASK_LOGS_OWNER_CHECK_SECONDS: with
// 20,000 tasks just queued, 10 s of CPU a check on the server's event loop, for tasks none of which could be ended
// yet. The index knows when each folder was last written: the check now reads only the tasks it has unwritten for
// the limit, or whose folder mtime it does not know, and still confirms on disk and with Redis before ending one.
import { spawnSync } from 'node:child_process';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, sep } from 'node:path';
import { Redis } from 'ioredis';
import { expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { TASK_FILES } from '../../src/contract/task-files.ts';
import { startServer } from '../../src/http/server.ts';
import { activeTaskIds, endTasksOfGoneOwners } from '../../src/ops/interrupted-tasks.ts';
import { RedisQueue } from '../../src/queue/redis-queue.ts';
import { refreshIndex } from '../../src/store/index-refresh.ts';
import { TaskIndex } from '../../src/store/task-index.ts';
import { recordReads } from '../helpers/recorded-reads.ts';
import { startRedis } from '../helpers/redis.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const LIMIT_MS = 90 * 60_000;
const FRESH = 100;

async function scriptCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let calls = 0;
  for (const m of info.matchAll(/^cmdstat_(?:evalsha|eval|evalsha_ro|eval_ro):calls=(\d+)/gm))
    calls += Number(m[1]);
  return calls;
}

it('in Redis mode, reads none of a fresh backlog; an old task of a dead owner is still ended, one Redis holds is not', async () => {
  const redisUrl = await startRedis();
  if (redisUrl === undefined) return;
  const root = await tempLogsDir();
  const index = new TaskIndex(join(root, '.index.sqlite'));
  onTestFinished(() => index.close());
  const telemetry = testTelemetry(root, {}, { index });
  const queue = new RedisQueue({ url: redisUrl, name: `fresh-backlog-${process.pid}`, report: () => {} });
  onTestFinished(() => queue.close());
  const redis = new Redis(redisUrl);
  onTestFinished(async () => {
    await redis.quit();
  });

  const start = (taskId: string) => {
    const task = telemetry.tasks.start({
      taskId,
      source: 'webhook',
      provider: 'github',
      input: { message: 'review this', source_metadata: { provider: 'github' } },
    });
    task.recordStage('received', { event_type: 'issue_comment' });
    task.recordStage('task_created', { assigned_agent: 'brain' });
    return task;
  };
  const fresh = Array.from({ length: FRESH }, (_, i) => `task-fresh${String(i).padStart(3, '0')}`);
  for (const id of fresh) start(id);
  // three queued by a process that is gone, with no write for two hours: one whose job Redis still holds, one whose
  // job it does not, and one of those whose folder mtime the index does not know
  const held = start('task-oldheld');
  await queue.push({ message: held.toQueueMessage(), prompt: 'review this', agent: { name: 'brain' } });
  start('task-olddead');
  start('task-oldnull');
  await telemetry.forceFlush();
  const gone = spawnSync(process.execPath, ['-e', '0']).pid;
  const old = new Date(Date.now() - 2 * 3_600_000);
  for (const id of ['task-oldheld', 'task-olddead', 'task-oldnull']) {
    const dir = join(root, id);
    const path = join(dir, TASK_FILES.metadata);
    const metadata = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(
      path,
      JSON.stringify({ ...metadata, owner: { ...metadata.owner, host: hostname(), pid: gone } }),
    );
    for (const name of [TASK_FILES.metadata, TASK_FILES.input, TASK_FILES.webhookFlow])
      await utimes(join(dir, name), old, old);
    await utimes(dir, old, old);
  }
  // the index learns the old mtimes as the server's refresh does
  await refreshIndex(index, root);
  // a row a writer upserted without knowing the folder mtime: never left out on that account
  const oldnull = JSON.parse(await readFile(join(root, 'task-oldnull', TASK_FILES.metadata), 'utf8'));
  index.upsert('task-oldnull', { metadata: oldnull });
  expect(index.folderMtime('task-oldnull')).toBeNull();
  // an index behind the disk: it has task-fresh000 unwritten for two hours, its folder says otherwise
  index.upsert('task-fresh000', { folderMtimeMs: old.getTime() });

  const asked = await scriptCalls(redis);
  const recording = recordReads();
  const ended = await endTasksOfGoneOwners(telemetry.writer!, {
    root,
    candidates: (scope) => activeTaskIds(index, undefined, scope),
    staleMs: LIMIT_MS,
    queueRunsAgain: true,
    stillQueued: (taskId) => queue.holdsJob(taskId),
  });
  recording.stop();
  await telemetry.forceFlush();

  expect(ended.map((task) => task.task_id).sort()).toEqual(['task-olddead', 'task-oldnull']);
  const read = new Set(
    recording.paths
      .filter((path) => path.startsWith(root + sep))
      .map((path) => path.slice(root.length + 1).split(sep)[0]),
  );
  // the fresh tasks are not read; the one the index has as old is, and is left alone: its folder is fresh
  expect(fresh.filter((id) => read.has(id))).toEqual(['task-fresh000']);
  for (const id of ['task-oldheld', 'task-olddead', 'task-oldnull']) expect(read.has(id)).toBe(true);
  // Redis is asked about the three old ones only (one getJobState script each)
  expect((await scriptCalls(redis)) - asked).toBe(3);
  const status = async (id: string) =>
    JSON.parse(await readFile(join(root, id, TASK_FILES.metadata), 'utf8')).status as string;
  expect(await status('task-olddead')).toBe('failed');
  expect(await status('task-oldnull')).toBe('failed');
  expect(await status('task-oldheld')).toBe('queued');
  expect(await status('task-fresh000')).toBe('queued');
}, 60_000);

it('in Redis mode, reads none of a backlog older than the limit whose jobs Redis holds, and still ends one it does not', async () => {
  const redisUrl = await startRedis();
  if (redisUrl === undefined) return;
  const root = await tempLogsDir();
  const index = new TaskIndex(join(root, '.index.sqlite'));
  onTestFinished(() => index.close());
  const telemetry = testTelemetry(root, {}, { index });
  const queue = new RedisQueue({ url: redisUrl, name: `old-backlog-${process.pid}`, report: () => {} });
  onTestFinished(() => queue.close());
  const redis = new Redis(redisUrl);
  onTestFinished(async () => {
    await redis.quit();
  });
  // 40 queued tasks whose jobs wait in Redis (the workers are down), and one whose job Redis no longer has
  const waiting = Array.from({ length: 40 }, (_, i) => `task-wait${String(i).padStart(3, '0')}`);
  for (const taskId of [...waiting, 'task-nojob']) {
    const task = telemetry.tasks.start({
      taskId,
      source: 'webhook',
      provider: 'github',
      input: { message: 'review this', source_metadata: { provider: 'github' } },
    });
    task.recordStage('received', { event_type: 'issue_comment' });
    task.recordStage('task_created', { assigned_agent: 'brain' });
    if (taskId !== 'task-nojob')
      await queue.push({ message: task.toQueueMessage(), prompt: 'review this', agent: { name: 'brain' } });
  }
  await telemetry.forceFlush();
  // the web process that queued them is gone (a restart), and the check runs past the limit (the clock moved on)
  const gone = spawnSync(process.execPath, ['-e', '0']).pid;
  for (const taskId of [...waiting, 'task-nojob']) {
    const path = join(root, taskId, TASK_FILES.metadata);
    const metadata = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...metadata, owner: { ...metadata.owner, pid: gone } }));
  }

  const asked = await scriptCalls(redis);
  const recording = recordReads();
  const ended = await endTasksOfGoneOwners(telemetry.writer!, {
    root,
    candidates: (scope) => activeTaskIds(index, undefined, scope),
    now: new Date(Date.now() + 2 * 3_600_000),
    staleMs: LIMIT_MS,
    queueRunsAgain: true,
    stillQueued: (taskId) => queue.holdsJob(taskId),
    heldAmong: (taskIds) => queue.heldAmong(taskIds),
  });
  recording.stop();
  await telemetry.forceFlush();

  expect(ended.map((task) => task.task_id)).toEqual(['task-nojob']);
  const read = new Set(
    recording.paths
      .filter((path) => path.startsWith(root + sep))
      .map((path) => path.slice(root.length + 1).split(sep)[0]),
  );
  expect(waiting.filter((id) => read.has(id))).toEqual([]);
  // the held jobs read at once (their count, then their ids: a page, and the empty one after it), and the one not
  // among them asked about on its own
  expect((await scriptCalls(redis)) - asked).toBe(4);
  const statuses = await Promise.all(
    [...waiting, 'task-nojob'].map(
      async (id) => JSON.parse(await readFile(join(root, id, TASK_FILES.metadata), 'utf8')).status as string,
    ),
  );
  expect(statuses.filter((s) => s === 'queued')).toHaveLength(40);
  expect(statuses.at(-1)).toBe('failed');
  // read at once only while the queue holds at most ten times as many jobs as there are tasks to ask about
  expect(await queue.heldAmong(['task-wait000', 'task-nojob'])).toBeUndefined();
  expect(await queue.heldAmong([...waiting.slice(0, 4), 'task-nojob'])).toEqual(new Set(waiting.slice(0, 4)));
}, 60_000);

it('a server in Redis mode checks as above: its start-up check reads no fresh task and asks Redis once for the held', async () => {
  const redisUrl = await startRedis();
  if (redisUrl === undefined) return;
  const root = await tempLogsDir();
  const name = `server-backlog-${process.pid}`;
  const index = new TaskIndex(join(root, '.index.sqlite'));
  const telemetry = testTelemetry(root, {}, { index });
  const queue = new RedisQueue({ url: redisUrl, name, report: () => {} });
  onTestFinished(() => queue.close());
  const redis = new Redis(redisUrl);
  onTestFinished(async () => {
    await redis.quit();
  });
  // 100 just queued; 20 queued two hours ago whose jobs wait in Redis, and one whose job Redis does not have, their
  // web process gone (a restart)
  const fresh = Array.from({ length: FRESH }, (_, i) => `task-fresh${String(i).padStart(3, '0')}`);
  const waiting = Array.from({ length: 20 }, (_, i) => `task-wait${String(i).padStart(3, '0')}`);
  for (const taskId of [...fresh, ...waiting, 'task-nojob']) {
    const task = telemetry.tasks.start({
      taskId,
      source: 'webhook',
      provider: 'github',
      input: { message: 'review this', source_metadata: { provider: 'github' } },
    });
    task.recordStage('received', { event_type: 'issue_comment' });
    task.recordStage('task_created', { assigned_agent: 'brain' });
    if (taskId.startsWith('task-wait'))
      await queue.push({ message: task.toQueueMessage(), prompt: 'review this', agent: { name: 'brain' } });
  }
  await telemetry.forceFlush();
  const gone = spawnSync(process.execPath, ['-e', '0']).pid;
  const old = new Date(Date.now() - 2 * 3_600_000);
  for (const id of [...waiting, 'task-nojob']) {
    const dir = join(root, id);
    const path = join(dir, TASK_FILES.metadata);
    const metadata = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...metadata, owner: { ...metadata.owner, pid: gone } }));
    for (const file of [TASK_FILES.metadata, TASK_FILES.input, TASK_FILES.webhookFlow])
      await utimes(join(dir, file), old, old);
    await utimes(dir, old, old);
  }
  await refreshIndex(index, root);
  await telemetry.shutdown();
  index.close();

  const asked = await scriptCalls(redis);
  const recording = recordReads('/src/ops/interrupted-tasks.ts');
  let checked!: (line: string) => void;
  const ended = new Promise<string>((resolve) => {
    checked = resolve;
  });
  const server = await startServer(
    loadConfig({
      env: {
        TASK_LOGS_DIR: root,
        REDIS_URL: redisUrl,
        TASK_QUEUE_NAME: name,
        PORT: '0',
        TASK_LOGS_FLUSH_MS: '10',
      },
    }),
    { log: (line) => (line.startsWith('ended ') ? checked(line) : undefined) },
  );
  onTestFinished(() => server.close());
  expect(await ended).toBe('ended 1 interrupted task: task-nojob');
  recording.stop();
  const read = new Set(
    recording.paths
      .filter((path) => path.startsWith(root + sep))
      .map((path) => path.slice(root.length + 1).split(sep)[0]),
  );
  expect(fresh.filter((id) => read.has(id))).toEqual([]);
  expect(waiting.filter((id) => read.has(id))).toEqual([]);
  expect(read.has('task-nojob')).toBe(true);
  // the held jobs' count, a page of their ids and the empty one after it, and task-nojob asked about on its own
  expect((await scriptCalls(redis)) - asked).toBe(4);
}, 60_000);
