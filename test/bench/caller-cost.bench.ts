// The caller's cost of one output event (AgentRun.text into the real file pipeline), timed call by call, against
// the OpenTelemetry floor: logger.emit into a processor that does nothing, in the same process, chunk by chunk in
// turn with ours so both see the same machine.
//
// The tail, on this 2-core VM: a first touch of a 4 KB page costs about 25 µs of CPU here (a normal machine: well
// under 1 µs), and with V8's default young generation (semi-spaces that grow to 32 MB once queued items survive
// scavenges) about 1 call in 40 of any emit, the SDK's no-op included, touched such pages: p99 20-40 µs for both.
// `npm start` and `npm run worker`, the processes where AgentRun's callers live, run with 8 MB semi-spaces, and so
// does this benchmark (run.ts): the no-op's p99 is then about 2 µs. Under load both still rise with the machine,
// while a call that allocates nothing, timed in the same turns, keeps its p99 near its median. The floor's p99 is
// printed beside ours, and the allocation-free call below them, so a reader can tell a loaded machine from a slower
// caller.
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

// a call that allocates nothing, `n` steps of arithmetic long
const spinSink = new Int32Array(1);
function spin(n: number): void {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x * 31 + i) | 0;
  spinSink[0]! ^= x;
}

// one round: the calls timed chunk by chunk, each chunk of every contender in turn
async function timeCalls(calls: readonly (() => void)[], samples = SAMPLES): Promise<Float64Array[]> {
  const laps = calls.map(() => new Float64Array(samples));
  for (let i = 0; i < samples; i += CHUNK) {
    for (let c = 0; c < calls.length; c++) {
      const call = calls[c]!;
      const own = laps[c]!;
      for (let j = i; j < i + CHUNK; j++) {
        const t0 = process.hrtime.bigint();
        call();
        own[j] = Number(process.hrtime.bigint() - t0);
      }
      await yieldToLoop(); // let the writer flush between bursts, as a streaming agent would
    }
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

  await timeCalls([ours, emitNoop]); // warm-up
  const overhead = timerOverhead();
  // steps of spin that take about as long as ours (medians, timed in the same turns)
  let steps = 64;
  const still = () => spin(steps);
  for (let attempt = 0; attempt < 4; attempt++) {
    const [o, n] = await timeCalls([ours, still], 5000);
    steps = Math.max(1, Math.round((steps * median(o!)) / Math.max(1, median(n!))));
  }
  const oursLaps: Float64Array[] = [];
  const floorLaps: Float64Array[] = [];
  const stillLaps: Float64Array[] = [];
  for (let round = 0; round < 3; round++) {
    const [o, f, n] = await timeCalls([ours, emitNoop, still]);
    oursLaps.push(o!);
    floorLaps.push(f!);
    stillLaps.push(n!);
  }
  await telemetry.shutdown();
  const all = (laps: Float64Array[]) =>
    Float64Array.from(laps.flatMap((l) => Array.from(l, (ns) => Math.max(0, ns - overhead))));
  const a = all(oursLaps);
  const b = all(floorLaps);
  const c = all(stillLaps);
  const us = (ns: number) => fmt(ns / 1000, 2);
  report(
    `caller cost per output event  ours median ${us(median(a))} µs p99 ${us(percentile(a, 99))} µs  ` +
      `otel emit to no-op median ${us(median(b))} µs p99 ${us(percentile(b, 99))} µs  ` +
      `ratio ${fmt(median(a) / median(b), 2)}`,
    atMost('median', median(a) / 1000, 1, ' µs'),
    atMost('p99', percentile(a, 99) / 1000, 10, ' µs'),
  );
  // for information: the same machine's tail for a call that allocates nothing (see the top of this file)
  report(
    `  a call about as long that allocates nothing, timed in the same turns: median ${us(median(c))} µs p99 ${us(percentile(c, 99))} µs`,
  );
  const semi = /^--max-semi-space-size=(\d+)$/.exec(
    process.execArgv.find((arg) => arg.startsWith('--max-semi')) ?? '',
  );
  report(`  young generation: ${semi === null ? "V8's default semi-spaces" : `${semi[1]} MB semi-spaces`}`);
  const stats = telemetry.writer!.stats();
  if (stats.dropped > 0) report(`  note: ${stats.dropped} events dropped during the caller-cost run`);
} finally {
  cleanup();
}
