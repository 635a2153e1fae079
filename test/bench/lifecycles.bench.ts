// Complete task lifecycles per second (metadata, input, 6 stages, 100 output lines, final result) through the
// instrumentation API, against the same lifecycle done as bare naive file operations, interleaved in one process.
import { appendFile, mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { usageFromAnthropic } from '../../src/instrumentation/agent-usage.ts';
import { startTelemetry } from '../../src/instrumentation/telemetry.ts';
import { benchDir, fmt, median, report, yieldToLoop } from './bench-kit.ts';

const TASKS = 2000;
const PER_TURN = 20;
const LINE = 'Analyzing the code: the retry loop in src/queue.ts uses a fixed delay.';
const INPUT = {
  message: '@agent review',
  source_metadata: {
    provider: 'github',
    event_type: 'issue_comment.created',
    webhook_id: 'wh',
    repo: 'o/r',
    issue_number: 1,
  },
};

async function ours(dir: string): Promise<number> {
  const telemetry = startTelemetry(loadConfig({ env: { TASK_LOGS_DIR: dir } }), { register: false });
  const started = performance.now();
  for (let i = 0; i < TASKS; i += PER_TURN) {
    for (let j = i; j < i + PER_TURN; j++) {
      const task = telemetry.tasks.start({
        taskId: `task-${j}`,
        source: 'webhook',
        provider: 'github',
        input: INPUT,
      });
      for (const stage of WEBHOOK_STAGES)
        task.recordStage(stage, stage === 'task_created' ? { assigned_agent: 'brain' } : undefined);
      const run = task.startAgent({ name: 'brain', type: 'planning', model: 'claude' });
      for (let k = 0; k < 100; k++) run.text(LINE);
      run.finish({
        result: 'done',
        costUsd: 0.01,
        usage: usageFromAnthropic({ input_tokens: 10, output_tokens: 10 }),
      });
    }
    await yieldToLoop();
    // tasks arrive only as fast as they are written: a sustained rate, not a burst into the bounded queue
    while (telemetry.writer!.stats().queued > 16_384) await new Promise((resolve) => setTimeout(resolve, 1));
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

const rates = { ours: [] as number[], naive: [] as number[], floor: [] as number[] };
for (let round = -1; round < 3; round++) {
  for (const [name, fn] of [
    ['ours', ours],
    ['naive', naive],
    ['floor', floor],
  ] as const) {
    const { dir, cleanup } = benchDir(name);
    try {
      const rate = await fn(dir);
      if (round >= 0) rates[name].push(rate);
    } finally {
      cleanup();
    }
  }
}
const a = median(rates.ours);
const b = median(rates.naive);
const c = median(rates.floor);
report(
  `task lifecycles  ours ${fmt(a)} tasks/s  naive file ops ${fmt(b)} tasks/s  ratio ${fmt(a / b, 2)}  ` +
    `(target >= 1,000 tasks/s)  disk floor (mkdir + 5 file creates, no content) ${fmt(c)} tasks/s, ours/floor ${fmt(a / c, 2)}`,
);
