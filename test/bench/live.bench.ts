// Live output: the time from an output event to its line being readable in 03-agent-output.jsonl, with the shipped
// flush window, while the task runs. The README's contract: 250 ms at the 99th percentile, 1 s at most.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { startTelemetry } from '../../src/instrumentation/telemetry.ts';
import { parseJsonl } from '../../src/store/jsonl-read.ts';
import { atMost, benchDir, fmt, percentile, QUICK, report } from './bench-kit.ts';

const LINES = QUICK ? 300 : 3_000;
const { dir, cleanup } = benchDir('live');
const telemetry = startTelemetry(loadConfig({ env: { TASK_LOGS_DIR: dir } }), {
  register: false,
  report: () => undefined,
});

try {
  const run = telemetry.tasks
    .start({ taskId: 'task-live', source: 'api', provider: 'cli' })
    .startAgent({ name: 'brain' });
  const path = join(dir, 'task-live', '03-agent-output.jsonl');
  const emittedAt: number[] = [];
  const seenAt: number[] = [];
  let seen = 0;
  // a reader polling the file every 2 ms, as a follower would
  const watch = setInterval(() => {
    if (!existsSync(path)) return;
    const count = parseJsonl(readFileSync(path, 'utf8')).lines.length;
    const now = performance.now();
    for (; seen < count; seen++) seenAt[seen] = now;
  }, 2);
  for (let i = 0; i < LINES; i++) {
    emittedAt.push(performance.now());
    run.text(`line ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  while (seen < LINES) await new Promise((resolve) => setTimeout(resolve, 5));
  clearInterval(watch);
  const latencies = emittedAt.map((at, i) => seenAt[i]! - at);
  report(
    `live output  ${fmt(LINES)} lines, one every 3 ms: emit to readable in 03 p50 ${fmt(percentile(latencies, 50), 1)} ms`,
    atMost('p99 ms', percentile(latencies, 99), 250, '', 1),
    atMost('max ms', Math.max(...latencies), 1000, '', 1),
  );
  run.finish({ result: 'ok' });
} finally {
  await telemetry.shutdown();
  cleanup();
}
