// The writer thread (TASK_LOGS_WRITER_THREAD) against the writer on the event loop, interleaved in one process, on
// tmpfs (/dev/shm, where our CPU cost shows) and on the disk: (1) complete task lifecycles through the
// instrumentation API, as lifecycles.bench.ts; (2) an OTLP-ingest-like load: many running tasks, each flush appending
// a few lines to each one's existing files. Each line gives the throughput, the CPU time of the whole process and of
// the main thread (the event loop that serves requests) per task or record.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import type { LogRecordLike } from '../../exporters/telemetry-item.ts';
import { loadConfig } from '../../src/config.ts';
import { ATTR } from '../../src/contract/attributes.ts';
import { startTelemetry } from '../../src/instrumentation/telemetry.ts';
import {
  atLeast,
  atMost,
  benchDir,
  fmt,
  median,
  progress,
  progressDone,
  report,
  scaled,
  yieldToLoop,
} from './bench-kit.ts';
import { LINE, PER_TURN, recordLifecycle, TASKS, waitForWriter } from './recorded-lifecycle.ts';

// ingest-like: RUNNING tasks, each flush LINES_PER_TASK more lines for each of them, ROUNDS flushes
const RUNNING = 200;
const LINES_PER_TASK = 10;
const ROUNDS = scaled(100, 10);

type Mode = 'loop' | 'thread';
interface Sample {
  rate: number;
  /** µs of CPU per unit: the whole process, and the main thread */
  cpu: number;
  main: number;
}

function measureCpu<T>(units: number, run: () => Promise<T>): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const main0 = process.threadCpuUsage();
  const started = performance.now();
  return run().then(() => {
    const elapsed = performance.now() - started;
    const cpu = process.cpuUsage(cpu0);
    const main = process.threadCpuUsage(main0);
    return {
      rate: (units / elapsed) * 1000,
      cpu: (cpu.user + cpu.system) / units,
      main: (main.user + main.system) / units,
    };
  });
}

async function lifecycles(dir: string, mode: Mode): Promise<Sample> {
  const env = { TASK_LOGS_DIR: dir, TASK_LOGS_WRITER_THREAD: String(mode === 'thread') };
  const telemetry = startTelemetry(loadConfig({ env }), { register: false });
  // one task first, outside the timing: the thread's start-up (loading its modules) is paid once per process
  recordLifecycle(telemetry, 'warm-up');
  await telemetry.forceFlush();
  const sample = await measureCpu(TASKS, async () => {
    for (let i = 0; i < TASKS; i += PER_TURN) {
      for (let j = i; j < i + PER_TURN; j++) recordLifecycle(telemetry, `task-${j}`);
      await yieldToLoop();
      await waitForWriter(telemetry);
    }
    await telemetry.forceFlush();
  });
  const stats = telemetry.writer!.stats();
  await telemetry.shutdown();
  if (stats.dropped > 0) throw new Error(`lost telemetry: ${JSON.stringify(stats)}`);
  return sample;
}

async function ingest(dir: string, mode: Mode): Promise<Sample> {
  const writer = new TaskFileWriter({
    root: dir,
    ...(mode === 'thread' ? { thread: {} } : {}),
    report: () => {},
  });
  const batch = (round: number): LogRecordLike[] => {
    const items: LogRecordLike[] = [];
    for (let t = 0; t < RUNNING; t++)
      for (let k = 0; k < LINES_PER_TASK; k++)
        items.push({
          hrTime: [1_700_000_000 + round, k],
          attributes: { [ATTR.taskId]: `task-${t}`, [ATTR.outputType]: 'text' },
          body: LINE,
        });
    return items;
  };
  // the folders and files exist before the timed part, as for tasks that have been running a while
  await new Promise((resolve) => writer.pushAll(batch(-1), resolve));
  const sample = await measureCpu(ROUNDS * RUNNING * LINES_PER_TASK, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      await new Promise((resolve) => writer.pushAll(batch(round), resolve));
    }
  });
  const stats = writer.stats();
  await writer.shutdown();
  if (stats.dropped > 0) throw new Error(`lost telemetry: ${JSON.stringify(stats)}`);
  return sample;
}

async function compare(
  parent: string,
  label: string,
  what: string,
  fn: (dir: string, mode: Mode) => Promise<Sample>,
) {
  const samples: Record<Mode, Sample[]> = { loop: [], thread: [] };
  for (let round = -1; round < 3; round++) {
    for (const mode of ['loop', 'thread'] as const) {
      progress(`${what} on ${label}: round ${round + 2} of 4, ${mode}`);
      const { dir, cleanup } = benchDir(`writer-${mode}`, parent);
      try {
        const sample = await fn(dir, mode);
        if (round >= 0) samples[mode].push(sample);
      } finally {
        cleanup();
      }
    }
  }
  progressDone();
  const pick = (mode: Mode) => ({
    rate: median(samples[mode].map((s) => s.rate)),
    cpu: median(samples[mode].map((s) => s.cpu)),
    main: median(samples[mode].map((s) => s.main)),
  });
  return { loop: pick('loop'), thread: pick('thread') };
}

function say(label: string, unit: string, r: Awaited<ReturnType<typeof compare>>) {
  const part = (s: Sample) =>
    `${fmt(s.rate)} ${unit}/s, CPU ${fmt(s.cpu, 1)} µs (main thread ${fmt(s.main, 1)} µs)`;
  report(
    `${label}  thread ${part(r.thread)}  event loop ${part(r.loop)}`,
    atLeast('thread/loop throughput', r.thread.rate / r.loop.rate, 1.0, 'x'),
    atMost('thread/loop process CPU', r.thread.cpu / r.loop.cpu, 1.0, 'x'),
    atMost('thread/loop main-thread CPU', r.thread.main / r.loop.main, 0.5, 'x'),
  );
}

// the writer's timers do not hold the process open (as in a service); the benchmark does
const keepAlive = setInterval(() => undefined, 1000);
const parents: [string, string][] = [['disk', tmpdir()]];
if (existsSync('/dev/shm')) parents.unshift(['tmpfs', '/dev/shm']);
for (const [label, parent] of parents) {
  say(
    `writer thread, task lifecycles on ${label}`,
    'tasks',
    await compare(parent, label, 'lifecycles', lifecycles),
  );
  say(
    `writer thread, ingest-like appends on ${label} (${RUNNING} running tasks x ${LINES_PER_TASK} lines per flush)`,
    'records',
    await compare(parent, label, 'ingest', ingest),
  );
}
clearInterval(keepAlive);
