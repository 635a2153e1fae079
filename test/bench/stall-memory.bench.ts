// RSS growth while the disk stalls for 10 s and the agent keeps emitting 10,000 output events per second. The writer's
// queue is bounded, so memory must level off and the excess be dropped and counted. Reference: the same emission with
// a working disk, in the same process.
import { loadConfig } from '../../src/config.ts';
import { startTelemetry } from '../../src/instrumentation/telemetry.ts';
import { stalledFs } from '../helpers/faulty-fs.ts';
import { atMost, benchDir, fmt, QUICK, report } from './bench-kit.ts';

const SECONDS = Number(process.env.STALL_SECONDS ?? (QUICK ? 2 : 10));
const PER_TICK = 100; // every 10 ms: 10k events/s
const CONTENT =
  'Tool result: 120 lines of src/queue.ts, with the retry loop at line 24 and the back-off at 31.';
const MB = 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

async function emitFor(stalled: boolean): Promise<{ growthMb: number; dropped: number; emitted: number }> {
  const { dir, cleanup } = benchDir('stall');
  const stall = stalledFs();
  const telemetry = startTelemetry(loadConfig({ env: { TASK_LOGS_DIR: dir } }), {
    register: false,
    report: () => undefined,
    ...(stalled ? { fs: stall.fs } : {}),
  });
  const run = telemetry.tasks.start({ taskId: 'task-stall' }).startAgent({ name: 'bench' });
  gc();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const ticks = SECONDS * 100;
  for (let t = 0; t < ticks; t++) {
    for (let i = 0; i < PER_TICK; i++) run.text(CONTENT);
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (t % 10 === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  const stats = telemetry.writer!.stats();
  stall.release();
  await telemetry.shutdown();
  cleanup();
  return { growthMb: (peak - baseline) / MB, dropped: stats.dropped, emitted: stats.emitted };
}

const healthy = await emitFor(false);
const stalled = await emitFor(true);
report(
  `stalled disk ${SECONDS} s at 10k events/s  RSS growth ${fmt(stalled.growthMb, 1)} MB (healthy disk ${fmt(healthy.growthMb, 1)} MB)  ` +
    `dropped ${fmt(stalled.dropped)} of ${fmt(stalled.emitted)}`,
  atMost('RSS growth', stalled.growthMb, 64, ' MB', 1),
);
