// Child process for the webhook benchmark: the real server with a queue that takes jobs and does nothing else, so
// the measure is a signed request through every stage to queue_push. TASK_LOGS_ENABLED decides the logging.
// Lines on stdin: an empty line flushes the writer and prints the writer's stats, the CPU time each thread used and
// the event loop's delay (p99 and max, ms) since the last such line; `turn` and `rest` say when webhooks are sent to
// this server and when to the other one (the 100/s phase alternates them), and the delay counts only in its turns.
// The same line carries the minor page faults each thread group took, how often the main thread was preempted, and
// the main isolate's garbage collections (count and pause ms by kind) since the last such line: what moves the CPU
// per webhook besides the code (on this VM a fresh page costs ~25 µs of CPU).
import { readdirSync, readFileSync } from 'node:fs';
import { createHistogram, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/http/server.ts';
import { limitHeapGrowth } from '../../src/ops/heap-growth.ts';
import type { TaskQueue } from '../../src/queue/task-job.ts';
import { threadGroup, threadMs } from './thread-cpu.ts';

limitHeapGrowth(); // as src/main.ts (npm start) does

const sink: TaskQueue = { kind: 'memory', push: async () => undefined, close: async () => undefined };
const running = await startServer(loadConfig({ env: { ...process.env, PORT: '0' } }), {
  queue: sink,
  log: () => undefined,
});
process.on('SIGTERM', () => process.exit(0)); // exit normally, so a --cpu-prof profile is written

// The event loop's delay: how late a 1 ms timer runs (what a request waits before it is read), in ns, recorded while
// it is this server's turn. A timer of our own rather than monitorEventLoopDelay: that one cannot be paused (once
// enabled again, its first sample is the whole pause) nor its histograms added up.
const delay = createHistogram();
let inTurn = false;
let sampler: NodeJS.Timeout | undefined;
function sample(due: number): void {
  sampler = setTimeout(() => {
    const now = performance.now();
    if (inTurn) delay.record(Math.max(1, Math.round((now - due) * 1e6)));
    sample(now + 1);
  }, 1);
}

/** Minor page faults by thread group (main, writer, v8, other), from /proc/self/task (Linux only). */
function threadFaults(): Record<string, number> {
  const faults: Record<string, number> = {};
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      } catch {
        continue; // a thread that ended meanwhile
      }
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const group = threadGroup(name);
      // minflt is the 10th field, the 8th after the name
      faults[group] = (faults[group] ?? 0) + Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
    }
  } catch {
    // no /proc
  }
  return faults;
}

// The main isolate's garbage collections: count and pause ms by kind (minor = scavenge, major = mark-compact, ...)
const GC_KINDS: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weak' };
let gc: Record<string, { count: number; ms: number }> = {};
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } };
    const kind = GC_KINDS[detail?.kind ?? 0] ?? 'other';
    const sum = gc[kind] ?? { count: 0, ms: 0 };
    sum.count++;
    sum.ms += entry.duration;
    gc[kind] = sum;
  }
}).observe({ entryTypes: ['gc'] });

/**
 * How often the main thread was preempted (its involuntary context switches): other runnable threads on the
 * machine's cores. Each costs the request path far more than the switch itself (caches and TLB refilled after).
 */
function mainThreadPreemptions(): number {
  try {
    const status = readFileSync(`/proc/self/task/${process.pid}/status`, 'utf8');
    return Number(/\nnonvoluntary_ctxt_switches:\s*(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0; // no /proc
  }
}

let threadsFrom = threadMs();
let preemptedFrom = mainThreadPreemptions();
let faultsFrom = threadFaults();
process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'turn' || line === 'rest') {
    inTurn = line === 'turn';
    if (sampler === undefined) sample(performance.now() + 1);
    continue;
  }
  const eventLoopDelayMs =
    delay.count === 0 ? { p99: 0, max: 0 } : { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 };
  delay.reset();
  clearTimeout(sampler);
  sampler = undefined;
  inTurn = false;
  await running.telemetry.forceFlush();
  const now = threadMs();
  const threadCpuMs: Record<string, number> = {};
  for (const [name, ms] of Object.entries(now)) threadCpuMs[name] = ms - (threadsFrom[name] ?? 0);
  threadsFrom = now;
  const faultsNow = threadFaults();
  const minorFaults: Record<string, number> = {};
  for (const [group, count] of Object.entries(faultsNow))
    minorFaults[group] = count - (faultsFrom[group] ?? 0);
  faultsFrom = faultsNow;
  const gcSince = gc;
  gc = {};
  const preemptedNow = mainThreadPreemptions();
  const preempted = preemptedNow - preemptedFrom;
  preemptedFrom = preemptedNow;
  process.stdout.write(
    `${JSON.stringify({
      stats: running.telemetry.writer?.stats() ?? null,
      threadCpuMs,
      minorFaults,
      preempted,
      gc: gcSince,
      eventLoopDelayMs,
    })}\n`,
  );
}
