import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TASK_FILES } from '../../src/contract/task-files.ts';
import { compressTasks } from '../../src/ops/compression.ts';
import { verifyTasks } from '../../src/ops/verify.ts';
import { TaskStore } from '../../src/store/task-store.ts';
import { checksumTree, plantCanary } from '../helpers/canary.ts';
import { writeTask } from '../helpers/old-tasks.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const SWAPS = 3000;
const ROUNDS = 20;

// A child process that, until a stop file appears, moves the task folder aside, puts a symlink to the canary in its
// place, then puts the folder back; it prints its count every 500 swaps. A folder the writer re-created in the gap is
// moved aside too (it stays inside the root).
const SWAPPER = `
const fs = require('node:fs');
const [root, canary, stop] = process.argv.slice(1);
const task = root + '/task-x', aside = root + '/.task-x.aside';
let done = 0;
process.stdout.write('ready\\n');
for (let i = 0; !fs.existsSync(stop); i++) {
  try { fs.renameSync(task, aside); } catch { continue; }
  try { fs.symlinkSync(canary, task); } catch {}
  try {
    if (fs.lstatSync(task).isSymbolicLink()) fs.unlinkSync(task);
    else fs.renameSync(task, root + '/.recreated-' + i);
  } catch {}
  for (let k = 0; ; k++) {
    try { fs.renameSync(aside, task); break; } catch {
      try { fs.renameSync(task, root + '/.recreated-' + i + '-' + k); } catch {}
    }
  }
  if (++done % 500 === 0) process.stdout.write('swapped ' + done + '\\n');
}
process.stdout.write('swapped ' + done + '\\n');
`;

describe('a task folder swapped for a symlink thousands of times', () => {
  it('never lets a read, a write, a repair or a compression reach the canary outside the root', async () => {
    const base = await tempLogsDir();
    const root = join(base, 'tasks');
    mkdirSync(root);
    const canary = plantCanary(join(base, 'canary'));
    const before = checksumTree(canary);
    writeTask(root, 'task-x', { lines: 50 });
    appendFileSync(join(root, 'task-x', TASK_FILES.agentOutput), '{"torn":'); // something for repair to cut

    const telemetry = testTelemetry(root);
    const store = new TaskStore(root);
    const stop = join(base, 'stop');
    const swapper = spawn(process.execPath, ['-e', SWAPPER, root, canary, stop], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    swapper.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    const exited = new Promise<number | null>((resolve) => swapper.once('exit', resolve));
    await expect.poll(() => output, { timeout: 60_000 }).toContain('ready');
    const swaps = () => Number([...output.matchAll(/swapped (\d+)\n/g)].at(-1)?.[1] ?? 0);

    const seen: string[] = [];
    const ignore = () => undefined; // a folder that is momentarily a link or gone: refused, which is the point
    let rounds = 0;
    while (rounds < ROUNDS || swaps() < SWAPS) {
      rounds++;
      const task = telemetry.tasks.start({ taskId: 'task-x' });
      task.startAgent({ name: 'brain' }).text(`round ${rounds}`);
      await Promise.all([
        telemetry.forceFlush(),
        store.readJsonText('task-x', TASK_FILES.metadata).then((t) => t && seen.push(t), ignore),
        store.readJsonText('task-x', TASK_FILES.input).then((t) => t && seen.push(t), ignore),
        (async () => {
          for await (const line of store.lines('task-x', TASK_FILES.agentOutput)) seen.push(line.text);
        })().catch(ignore),
        verifyTasks({ root, repair: true }).catch(ignore),
        compressTasks({ root, afterDays: 0 }).catch(ignore),
      ]);
    }
    writeFileSync(stop, '');
    expect(await exited).toBe(0);
    console.info(`${swaps()} swaps during ${rounds} rounds of reads, writes, repairs and compressions`);
    expect(checksumTree(canary)).toBe(before);
    expect(seen.filter((text) => text.includes('canary'))).toEqual([]);
    expect(seen.length).toBeGreaterThan(0);
  });
});
