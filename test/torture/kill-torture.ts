// kill -9 torture: a child writes tasks through the in-process exporters; it is killed at a random point (after a
// random number of reported flushes, while it keeps writing), and the folder is checked the way a restart finds it.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import { endTasksOfGoneOwners } from '../../src/ops/interrupted-tasks.ts';
import { verifyTasks } from '../../src/ops/verify.ts';
import { parseJsonl } from '../../src/store/jsonl-read.ts';
import { checkIntegrity } from '../helpers/integrity.ts';

const CHILD = join(import.meta.dirname, 'writer-child.ts');

export interface KillTortureSummary {
  kills: number;
  tasks: number;
  flushedLinesChecked: number;
  tornTailsFound: number;
  interruptedEnded: number;
  /** every broken promise, one line each; empty when all held */
  failures: string[];
}

export async function killTorture(options: {
  kills: number;
  seed?: number;
  onKill?: (done: number, summary: KillTortureSummary) => void;
}): Promise<KillTortureSummary> {
  const summary: KillTortureSummary = {
    kills: 0,
    tasks: 0,
    flushedLinesChecked: 0,
    tornTailsFound: 0,
    interruptedEnded: 0,
    failures: [],
  };
  let seed = options.seed ?? Date.now() % 100_000;
  for (let kill = 0; kill < options.kills; kill++) {
    const root = await mkdtemp(join(tmpdir(), 'task-logs-torture-'));
    try {
      await oneKill(root, ++seed, summary);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
    summary.kills++;
    options.onKill?.(summary.kills, summary);
  }
  return summary;
}

async function oneKill(root: string, seed: number, summary: KillTortureSummary): Promise<void> {
  const fail = (what: string) => summary.failures.push(`seed ${seed}: ${what}`);
  const child = spawn(process.execPath, [CHILD, String(seed)], {
    env: { ...process.env, TASK_LOGS_DIR: root, TASK_LOGS_FLUSH_MS: '5' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const flushed = new Map<string, number>();
  // kill after 1-12 reported flushes: the child is writing more by then, so the cut lands anywhere
  const killAfter = 1 + (seed % 12);
  const lines = createInterface({ input: child.stdout });
  let reports = 0;
  await new Promise<void>((resolve) => {
    lines.on('line', (line) => {
      const [, taskId, count] = line.split(' ');
      flushed.set(taskId!, Number(count));
      if (++reports >= killAfter) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    void exited.then(() => resolve());
  });
  child.kill('SIGKILL');
  await exited;

  const integrity = checkIntegrity(root);
  summary.tasks += integrity.tasks;
  summary.tornTailsFound += integrity.tornTails.length;
  for (const problem of integrity.problems) fail(problem);
  for (const [taskId, count] of flushed) {
    let present = 0;
    try {
      present = parseJsonl(readFileSync(join(root, taskId, '03-agent-output.jsonl'), 'utf8')).lines.length;
    } catch {
      present = 0;
    }
    summary.flushedLinesChecked += count;
    if (present < count) fail(`${taskId}: the writer reported ${count} lines flushed, ${present} are there`);
  }
  // the restart: tasks of the dead process end as interrupted, then repair cuts torn last lines
  const writer = new TaskFileWriter({ root, report: () => {} });
  const ended = await endTasksOfGoneOwners(writer, { root, staleMs: 3_600_000 });
  await writer.shutdown();
  summary.interruptedEnded += ended.length;
  for (const task of readdirSync(root).filter((name) => name.startsWith('task-'))) {
    let text: string;
    try {
      text = readFileSync(join(root, task, 'metadata.json'), 'utf8');
    } catch (error) {
      // a task killed before its metadata was written has no status to be stuck in
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const status = JSON.parse(text).status;
    if (status === 'queued' || status === 'running') fail(`${task} is still ${status} after the restart`);
  }
  await verifyTasks({ root, repair: true });
  const after = checkIntegrity(root);
  for (const problem of after.problems) fail(`after repair: ${problem}`);
  for (const torn of after.tornTails) fail(`after repair: ${torn} still has a torn last line`);
}
