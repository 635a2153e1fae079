// The caller's cost of one output event (AgentRun.text into the real file pipeline), timed call by call, against
// the OpenTelemetry floor: logger.emit into a processor that does nothing, in the same process.
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { loadConfig } from '../../src/config.ts';
import { startTelemetry } from '../../src/instrumentation/telemetry.ts';
import { atMost, benchDir, fmt, median, percentile, report, scaled, yieldToLoop } from './bench-kit.ts';

const SAMPLES = scaled(100_000, 10_000);
const CHUNK = 500;
const CONTENT = 'Reading src/queue.ts to see how it handles retries.';

function timerOverhead(): number {
  const laps = new Float64Array(10_000);
  for (let i = 0; i < laps.length; i++) {
    const t0 = process.hrtime.bigint();
    laps[i] = Number(process.hrtime.bigint() - t0);
  }
  return median(laps);
}

async function timeCalls(call: () => void): Promise<Float64Array> {
  const laps = new Float64Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i += CHUNK) {
    for (let j = i; j < i + CHUNK; j++) {
      const t0 = process.hrtime.bigint();
      call();
      laps[j] = Number(process.hrtime.bigint() - t0);
    }
    await yieldToLoop(); // let the writer flush between bursts, as a streaming agent would
  }
  return laps;
}

const { dir, cleanup } = benchDir('caller');
try {
  const telemetry = startTelemetry(loadConfig({ env: { TASK_LOGS_DIR: dir } }), { register: false });
  const run = telemetry.tasks.start({ taskId: 'task-caller' }).startAgent({ name: 'bench' });
  const noop = new LoggerProvider({
    processors: [
      { onEmit: () => undefined, forceFlush: async () => undefined, shutdown: async () => undefined },
    ],
  }).getLogger('noop');
  const emitNoop = () =>
    noop.emit({
      body: CONTENT,
      attributes: { 'task.id': 'task-caller', 'task.output.type': 'text', 'task.output.seq': 1 },
    });
  const ours = () => run.text(CONTENT);

  await timeCalls(ours); // warm-up
  await timeCalls(emitNoop);
  const overhead = timerOverhead();
  const oursLaps: Float64Array[] = [];
  const floorLaps: Float64Array[] = [];
  for (let round = 0; round < 3; round++) {
    oursLaps.push(await timeCalls(ours));
    floorLaps.push(await timeCalls(emitNoop));
  }
  await telemetry.shutdown();
  const all = (laps: Float64Array[]) =>
    Float64Array.from(laps.flatMap((l) => Array.from(l, (ns) => Math.max(0, ns - overhead))));
  const a = all(oursLaps);
  const b = all(floorLaps);
  const us = (ns: number) => fmt(ns / 1000, 2);
  report(
    `caller cost per output event  ours median ${us(median(a))} µs p99 ${us(percentile(a, 99))} µs  ` +
      `otel emit to no-op median ${us(median(b))} µs p99 ${us(percentile(b, 99))} µs  ` +
      `ratio ${fmt(median(a) / median(b), 2)}`,
    atMost('median', median(a) / 1000, 1, ' µs'),
    atMost('p99', percentile(a, 99) / 1000, 10, ' µs'),
  );
  const stats = telemetry.writer!.stats();
  if (stats.dropped > 0) report(`  note: ${stats.dropped} events dropped during the caller-cost run`);
} finally {
  cleanup();
}
