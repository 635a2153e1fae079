// Output events per second through the whole pipeline (AgentRun -> the writer's queue -> flush and mapping -> the
// writer thread -> 03-agent-output.jsonl) against pino writing the same events to a file, interleaved in one
// process. Our emitter waits while the writer's queue is deep, as a sustained producer must: the queue is bounded
// (65,536 items, then counted drops), and an emitter faster than the file writes on the same core fills it; pino
// buffers without bound.
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { startTelemetry } from '../../src/instrumentation/telemetry.ts';
import { atLeast, benchDir, fmt, median, report, scaled, yieldToLoop } from './bench-kit.ts';
import { waitForWriter } from './recorded-lifecycle.ts';

const EVENTS = scaled(200_000, 20_000);
const CHUNK = 1000; // events arrive from a stream: the emitter yields between chunks, for both contenders
const ROUNDS = 5;
const CONTENT = 'Analyzing src/queue.ts: the retry loop uses a fixed delay of one second between attempts.';

async function countLines(path: string): Promise<number> {
  let n = 0;
  for await (const _ of createInterface({ input: createReadStream(path) })) n++;
  return n;
}

async function ours(dir: string, round: number | string, redaction = true): Promise<number> {
  const config = loadConfig({ env: { TASK_LOGS_DIR: dir, TASK_LOGS_REDACTION: String(redaction) } });
  const telemetry = startTelemetry(config, { register: false });
  const run = telemetry.tasks.start({ taskId: `task-bench-${round}` }).startAgent({ name: 'bench' });
  const started = performance.now();
  for (let i = 0; i < EVENTS; i += CHUNK) {
    for (let j = 0; j < CHUNK; j++) run.text(CONTENT);
    await yieldToLoop();
    await waitForWriter(telemetry);
  }
  await telemetry.forceFlush();
  const elapsed = performance.now() - started;
  const stats = telemetry.writer!.stats();
  await telemetry.shutdown();
  const lines = await countLines(join(dir, `task-bench-${round}`, '03-agent-output.jsonl'));
  if (lines !== EVENTS || stats.dropped !== 0)
    throw new Error(`ours wrote ${lines} lines, dropped ${stats.dropped}`);
  return (EVENTS / elapsed) * 1000;
}

async function withPino(dir: string, round: number): Promise<number> {
  const path = join(dir, `pino-${round}.jsonl`);
  const destination = pino.destination({ dest: path, sync: false, minLength: 4096 });
  const logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  let seq = 0;
  const started = performance.now();
  for (let i = 0; i < EVENTS; i += CHUNK) {
    for (let j = 0; j < CHUNK; j++)
      logger.info({ type: 'text', seq: ++seq, 'task.id': 'task-bench' }, CONTENT);
    await yieldToLoop();
  }
  await new Promise<void>((resolve) => destination.flush(() => resolve()));
  const elapsed = performance.now() - started;
  destination.end();
  const lines = await countLines(path);
  if (lines !== EVENTS) throw new Error(`pino wrote ${lines} lines`);
  return (EVENTS / elapsed) * 1000;
}

const { dir, cleanup } = benchDir('pipeline');
try {
  await ours(dir, -1); // warm-up
  await withPino(dir, -1);
  const oursRates: number[] = [];
  const pinoRates: number[] = [];
  const unredactedRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    oursRates.push(await ours(dir, round));
    pinoRates.push(await withPino(dir, round));
    unredactedRates.push(await ours(dir, `off-${round}`, false));
  }
  const a = median(oursRates);
  const b = median(pinoRates);
  report(
    `03-agent-output.jsonl  ours ${fmt(a)} lines/s  pino ${fmt(b)} lines/s (median of ${ROUNDS} rounds)`,
    atLeast('ours/pino', a / b, 2.5, 'x'),
  );
  const off = median(unredactedRates);
  const kept = a / off;
  report(
    `redaction (TASK_LOGS_REDACTION)  on ${fmt(a)} lines/s  off ${fmt(off)} lines/s (median of ${ROUNDS} rounds)`,
    atLeast('on/off', kept, 0.75, 'x'),
  );
} finally {
  cleanup();
}
