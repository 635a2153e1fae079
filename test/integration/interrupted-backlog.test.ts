// A restart after a crash with a backlog ends every task the dead process left queued: two items each (the error
// line and the ending span) through the writer, whose queue is bounded (TASK_LOGS_MAX_QUEUE). Pushed all at once, a
// backlog larger than half the queue lost its endings past the bound: those tasks stayed 'queued' although the log
// line said they were ended.
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import { TASK_FILES } from '../../src/contract/task-files.ts';
import { endTasksOfGoneOwners } from '../../src/ops/interrupted-tasks.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

it('ends a backlog larger than the writer queue: every task failed with its error line, nothing dropped', async () => {
  const root = await tempLogsDir();
  const gone = spawnSync(process.execPath, ['-e', '0']).pid;
  const now = new Date().toISOString();
  const ids = Array.from({ length: 70 }, (_, i) => `task-backlog${i.toString().padStart(3, '0')}`);
  await Promise.all(
    ids.map(async (id) => {
      await mkdir(join(root, id));
      await writeFile(
        join(root, id, TASK_FILES.metadata),
        JSON.stringify({
          task_id: id,
          source: 'webhook',
          provider: 'github',
          created_at: now,
          status: 'queued',
          assigned_agent: 'brain',
          agent_type: null,
          model: 'claude',
          owner: { host: hostname(), pid: gone, start_ticks: null, started_at: now },
        }),
      );
    }),
  );
  // 140 items against a queue of 64 (and 64 more for spans)
  const writer = new TaskFileWriter({ root, report: () => {}, maxQueue: 64 });
  const ended = await endTasksOfGoneOwners(writer, { root, staleMs: 3_600_000 });
  await writer.shutdown();
  expect(ended).toHaveLength(70);
  expect(writer.stats().dropped).toBe(0);
  const unended: string[] = [];
  for (const id of ids) {
    const metadata = JSON.parse(await readFile(join(root, id, TASK_FILES.metadata), 'utf8'));
    const output = await readFile(join(root, id, TASK_FILES.agentOutput), 'utf8').catch(() => '');
    if (metadata.status !== 'failed' || !output.includes('interrupted: ')) unended.push(id);
  }
  expect(unended).toEqual([]);
});

it('reads a backlog four candidates at a time, and ends them in the order it was given them', {
  timeout: 10_000,
}, async () => {
  const root = await tempLogsDir();
  const gone = spawnSync(process.execPath, ['-e', '0']).pid;
  const now = new Date().toISOString();
  const ids = Array.from({ length: 40 }, (_, i) => `task-side${i.toString().padStart(3, '0')}`);
  await Promise.all(
    ids.map(async (id) => {
      await mkdir(join(root, id));
      await writeFile(
        join(root, id, TASK_FILES.metadata),
        JSON.stringify({
          task_id: id,
          status: 'queued',
          created_at: now,
          owner: { host: hostname(), pid: gone, start_ticks: null, started_at: now },
        }),
      );
    }),
  );
  // each candidate's queue check waits until four are waiting, then all four go on: a check that reads one candidate
  // at a time never gets past the first (before: it timed out here)
  let waiting: (() => void)[] = [];
  let asked = 0;
  const stillQueued = () =>
    new Promise<boolean>((resolve) => {
      asked++;
      waiting.push(() => resolve(false));
      if (waiting.length < 4) return;
      const go = waiting;
      waiting = [];
      for (const release of go) release();
    });
  const given = [...ids].reverse();
  const writer = new TaskFileWriter({ root, report: () => {} });
  const ended = await endTasksOfGoneOwners(writer, {
    root,
    staleMs: 3_600_000,
    candidates: () => given,
    stillQueued,
  });
  await writer.shutdown();
  expect(asked).toBe(40);
  expect(ended.map((task) => task.task_id)).toEqual(given);
});
