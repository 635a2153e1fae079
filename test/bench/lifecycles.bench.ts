// Complete task lifecycles per second (metadata, input, 6 stages, 100 output lines, final result) through the
// instrumentation API, against the same lifecycle done as bare naive file operations, interleaved in one process;
// once on the disk (the temp folder) and once on tmpfs (/dev/shm), where the disk no longer hides our CPU cost.
// Each round runs the three ways back to back, and the ratios the targets hold are taken per round, then their median:
// this machine's speed (and ext4's time per created file) moves between runs a minute apart (the tmpfs floor read
// 2,797/s in one run and 4,423/s in the next), and within a round the three ways see nearly the same machine. The ratio
// of the medians (the figure before) is printed beside.

import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { startTelemetry } from '../../src/instrumentation/telemetry.ts';
import {
  atLeast,
  benchDir,
  fmt,
  median,
  progress,
  progressDone,
  QUICK,
  report,
  yieldToLoop,
} from './bench-kit.ts';
import { INPUT, LINE, PER_TURN, recordLifecycle, TASKS, waitForWriter } from './recorded-lifecycle.ts';

async function ours(dir: string): Promise<number> {
  const telemetry = startTelemetry(loadConfig({ env: { TASK_LOGS_DIR: dir } }), { register: false });
  const started = performance.now();
  for (let i = 0; i < TASKS; i += PER_TURN) {
    for (let j = i; j < i + PER_TURN; j++) recordLifecycle(telemetry, `task-${j}`);
    await yieldToLoop();
    await waitForWriter(telemetry);
  }
  await telemetry.forceFlush();
  const elapsed = performance.now() - started;
  const stats = telemetry.writer!.stats();
  await telemetry.shutdown();
  if (stats.dropped > 0 || (await readdir(dir)).filter((name) => name.startsWith('task-')).length !== TASKS)
    throw new Error(`lost telemetry: ${JSON.stringify(stats)}`);
  return (TASKS / elapsed) * 1000;
}

async function writeJson(path: string, value: unknown): Promise<void> {
  const temp = `${path}.tmp`;
  await writeFile(temp, JSON.stringify(value));
  await rename(temp, path);
}

// the naive way: every change is its own file operation, as the seed's TaskLogger does it
async function naive(dir: string): Promise<number> {
  const started = performance.now();
  const lifecycle = async (j: number) => {
    const folder = join(dir, `task-${j}`);
    await mkdir(folder, { recursive: true });
    await writeJson(join(folder, 'metadata.json'), { task_id: `task-${j}`, status: 'queued' });
    await writeJson(join(folder, '01-input.json'), INPUT);
    const stages = WEBHOOK_STAGES.map((stage) =>
      JSON.stringify({ timestamp: new Date().toISOString(), stage }),
    ).join('\n');
    await appendFile(join(folder, '02-webhook-flow.jsonl'), `${stages}\n`);
    await writeJson(join(folder, 'metadata.json'), { task_id: `task-${j}`, status: 'running' });
    const lines: string[] = [];
    for (let k = 0; k < 100; k++)
      lines.push(JSON.stringify({ timestamp: new Date().toISOString(), type: 'text', content: LINE }));
    await appendFile(join(folder, '03-agent-output.jsonl'), `${lines.join('\n')}\n`);
    await writeJson(join(folder, '04-final-result.json'), { success: true });
    await writeJson(join(folder, 'metadata.json'), { task_id: `task-${j}`, status: 'completed' });
  };
  for (let i = 0; i < TASKS; i += PER_TURN) {
    await Promise.all(Array.from({ length: PER_TURN }, (_, k) => lifecycle(i + k)));
  }
  return (TASKS / (performance.now() - started)) * 1000;
}

// the least any writer of the contract can do: one folder and five files created per task, nothing else
async function floor(dir: string): Promise<number> {
  const started = performance.now();
  const lifecycle = async (j: number) => {
    const folder = join(dir, `task-${j}`);
    await mkdir(folder);
    await Promise.all(
      [
        'metadata.json',
        '01-input.json',
        '02-webhook-flow.jsonl',
        '03-agent-output.jsonl',
        '04-final-result.json',
      ].map((name) => writeFile(join(folder, name), '{}\n', { flag: 'wx' })),
    );
  };
  for (let i = 0; i < TASKS; i += PER_TURN) {
    await Promise.all(Array.from({ length: PER_TURN }, (_, k) => lifecycle(i + k)));
  }
  return (TASKS / (performance.now() - started)) * 1000;
}

/** CPU per task of the whole process (every thread), split into user and kernel time: on a disk whose inode
 *  allocations are expensive the kernel time is most of the floor, and the same for every writer of the contract. */
interface CpuPerTask {
  user: number;
  kernel: number;
}

const cpuText = (cpu: CpuPerTask) => `${fmt(cpu.user + cpu.kernel)} µs (kernel ${fmt(cpu.kernel)})`;

async function measure(parent: string, label: string) {
  const rates = { ours: [] as number[], naive: [] as number[], floor: [] as number[] };
  const cpu = { ours: [] as CpuPerTask[], naive: [] as CpuPerTask[], floor: [] as CpuPerTask[] };
  for (let round = -1; round < ROUNDS; round++) {
    for (const [name, fn] of [
      ['ours', ours],
      ['naive', naive],
      ['floor', floor],
    ] as const) {
      progress(`lifecycles on ${label}: round ${round + 2} of ${ROUNDS + 1}, ${name}`);
      const { dir, cleanup } = benchDir(name, parent);
      try {
        const before = process.cpuUsage();
        const rate = await fn(dir);
        const used = process.cpuUsage(before);
        if (round >= 0) {
          rates[name].push(rate);
          cpu[name].push({ user: used.user / TASKS, kernel: used.system / TASKS });
        }
      } finally {
        cleanup();
      }
    }
  }
  progressDone();
  const medianCpu = (runs: CpuPerTask[]) => ({
    user: median(runs.map((r) => r.user)),
    kernel: median(runs.map((r) => r.kernel)),
  });
  // per round: ours against the others measured seconds before and after it
  const perRound = (of: number[]) => rates.ours.map((ours, i) => ours / of[i]!);
  return {
    ours: median(rates.ours),
    naive: median(rates.naive),
    floor: median(rates.floor),
    oursToFloor: perRound(rates.floor),
    oursToNaive: perRound(rates.naive),
    cpu: `CPU per task: ours ${cpuText(medianCpu(cpu.ours))}, naive ${cpuText(medianCpu(cpu.naive))}, floor ${cpuText(medianCpu(cpu.floor))}`,
  };
}

/** rounds measured (after one not counted), each running ours, naive and the floor once */
const ROUNDS = QUICK ? 3 : 5; // odd: the median is a round of its own (bench-kit takes the lower middle of an even count)

/** `median (min-max a-b; in order: ...)` of per-round ratios */
const ratios = (values: number[]) =>
  `${fmt(median(values), 2)}x (min-max ${fmt(Math.min(...values), 2)}-${fmt(Math.max(...values), 2)}; by round ${values
    .map((v) => fmt(v, 2))
    .join(' ')})`;

const disk = await measure(tmpdir(), 'disk');
report(
  `task lifecycles on disk (${tmpdir()})  ours ${fmt(disk.ours)} tasks/s  naive file ops ${fmt(disk.naive)} tasks/s  ` +
    `floor (mkdir + 5 empty file creates) ${fmt(disk.floor)} tasks/s  ours/floor per round ${ratios(disk.oursToFloor)} ` +
    `[ratio of the medians ${fmt(disk.ours / disk.floor, 2)}x]\n    ${disk.cpu}`,
  atLeast('ours/floor (median of the rounds)', median(disk.oursToFloor), 0.9, 'x'),
);
if (existsSync('/dev/shm')) {
  const shm = await measure('/dev/shm', 'tmpfs');
  report(
    `task lifecycles on tmpfs (/dev/shm)  ours ${fmt(shm.ours)} tasks/s  naive file ops ${fmt(shm.naive)} tasks/s  ` +
      `floor ${fmt(shm.floor)} tasks/s  ours/naive per round ${ratios(shm.oursToNaive)} ` +
      `[ratio of the medians ${fmt(shm.ours / shm.naive, 2)}x]\n    ${shm.cpu}`,
    atLeast('ours/naive (median of the rounds)', median(shm.oursToNaive), 1.0, 'x'),
    atLeast('ours', shm.ours, 2500, ' tasks/s', 0),
  );
}
