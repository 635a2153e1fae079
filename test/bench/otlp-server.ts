// Child process for the OTLP ingest benchmark: the real server; on each line on stdin it flushes the writer and
// prints the writer's stats and the largest RSS seen (sampled every 50 ms).
import { readFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { loadConfig } from '../../src/config.ts';
import { decodeWorkerHeap } from '../../src/http/otlp-routes.ts';
import { startServer } from '../../src/http/server.ts';
import { limitHeapGrowth } from '../../src/ops/heap-growth.ts';
import type { TaskQueue } from '../../src/queue/task-job.ts';
import { threadMs } from './thread-cpu.ts';

limitHeapGrowth(); // as src/main.ts (npm start) does

const sink: TaskQueue = { kind: 'memory', push: async () => undefined, close: async () => undefined };
const running = await startServer(loadConfig({ env: { ...process.env, PORT: '0' } }), {
  queue: sink,
  log: () => undefined,
});
// the largest RSS, with what made it up at that moment (the main thread's heap, buffers; its heap spaces over 1 MB;
// anonymous and file-backed RSS: the rest of the anonymous part is the worker threads' heaps and the allocator's)
let peak = process.memoryUsage();
let maxRss = peak.rss;
let peakSpaces: Record<string, number> = {};
const spaces = () => {
  const out: Record<string, number> = {};
  for (const space of getHeapSpaceStatistics())
    if (space.space_size > 1024 * 1024)
      out[space.space_name.replace('_space', '')] = Math.round(space.space_size / (1024 * 1024));
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    out.rssAnon = Math.round(Number(/RssAnon:\s+(\d+)/.exec(status)?.[1]) / 1024);
    out.rssFile = Math.round(Number(/RssFile:\s+(\d+)/.exec(status)?.[1]) / 1024);
  } catch {
    // no /proc
  }
  return out;
};
setInterval(() => {
  const now = process.memoryUsage();
  if (now.rss > maxRss) {
    maxRss = now.rss;
    peak = now;
    peakSpaces = spaces();
  }
}, 50).unref();
const idle = process.memoryUsage();
// the event loop's garbage collection pauses since the last stats line: the longest, and how many passed 20 ms
// (and the same by kind: scavenges, mark-compacts, ...)
const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
let gc = { maxMs: 0, over20ms: 0, byKind: {} as Record<string, { maxMs: number; over20ms: number }> };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.maxMs = Math.max(gc.maxMs, entry.duration);
    if (entry.duration > 20) gc.over20ms++;
    const kind = GC_KINDS[(entry as unknown as { detail: { kind: number } }).detail.kind] ?? 'other';
    const of = gc.byKind[kind] ?? { maxMs: 0, over20ms: 0 };
    gc.byKind[kind] = of;
    of.maxMs = Math.max(of.maxMs, Math.round(entry.duration * 10) / 10);
    if (entry.duration > 20) of.over20ms++;
  }
}).observe({ entryTypes: ['gc'] });
// the event loop's stalls: a 5 ms timer's late turns, each with the main thread's own CPU time within it (what the
// loop itself spent, unlike the wall time, which also counts waiting for the core the server shares with its threads
// and with whatever else runs on the machine): the longest, and how many passed 20 ms of CPU
let stalls = { maxWallMs: 0, maxCpuMs: 0, cpuOver20ms: 0 };
{
  let wall = performance.now();
  let cpu = process.threadCpuUsage();
  setInterval(() => {
    const wallNow = performance.now();
    const cpuNow = process.threadCpuUsage();
    const cpuMs = (cpuNow.user - cpu.user + cpuNow.system - cpu.system) / 1000;
    stalls.maxWallMs = Math.max(stalls.maxWallMs, Math.round(wallNow - wall - 5));
    stalls.maxCpuMs = Math.max(stalls.maxCpuMs, Math.round(cpuMs));
    if (cpuMs > 20) stalls.cpuOver20ms++;
    wall = wallNow;
    cpu = cpuNow;
  }, 5).unref();
}
let workerHeap = 0;
setInterval(async () => {
  workerHeap = Math.max(workerHeap, (await decodeWorkerHeap())?.total ?? 0);
}, 200).unref();
process.on('SIGTERM', () => process.exit(0)); // exit normally, so a --cpu-prof profile is written
process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
// CPU time of the whole process (event loop, decode worker, libuv threads) since the last stats line: per item it
// says what one core can take, whatever else runs on the machine
let cpuFrom = process.cpuUsage();
// the same split by thread (thread-cpu.ts)
let threadsFrom = threadMs();
process.stdin.on('data', async () => {
  await running.telemetry.forceFlush();
  const cpu = process.cpuUsage(cpuFrom);
  cpuFrom = process.cpuUsage();
  const stats = running.telemetry.writer?.stats() ?? null;
  const mb = (n: number) => Math.round(n / (1024 * 1024));
  const breakdown = {
    idleRss: mb(idle.rss),
    heapUsed: mb(peak.heapUsed),
    heapTotal: mb(peak.heapTotal),
    external: mb(peak.external),
    arrayBuffers: mb(peak.arrayBuffers),
    decodeWorkerHeapMax: mb(workerHeap),
    ...peakSpaces,
  };
  workerHeap = 0;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const threadsNow = threadMs();
  const threadCpuMs: Record<string, number> = {};
  for (const [name, ms] of Object.entries(threadsNow)) {
    const spent = ms - (threadsFrom[name] ?? 0);
    if (spent > 0) threadCpuMs[name] = spent;
  }
  threadsFrom = threadsNow;
  process.stdout.write(`${JSON.stringify({ stats, maxRss, breakdown, cpuMs, threadCpuMs, gc, stalls })}\n`);
  gc = { maxMs: 0, over20ms: 0, byKind: {} };
  stalls = { maxWallMs: 0, maxCpuMs: 0, cpuOver20ms: 0 };
  peak = process.memoryUsage();
  maxRss = peak.rss;
  peakSpaces = spaces();
});
