// The victim of the kill -9 torture: writes tasks through the in-process exporters until it is killed, and after each
// forceFlush prints which lines the writer has reported written ("flushed <task> <lines>"), which must survive the kill.
import { loadConfig } from '../../src/config.ts';
import { WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { startTelemetry } from '../../src/instrumentation/telemetry.ts';

const telemetry = startTelemetry(loadConfig(), { register: false, index: false });
const seed = Number(process.argv[2] ?? 1);
let random = seed;
const next = () => {
  random = (random * 1_103_515_245 + 12_345) % 2_147_483_648;
  return random / 2_147_483_648;
};
for (let n = 0; ; n++) {
  const taskId = `task-t${seed}-${n}`;
  const task = telemetry.tasks.start({
    taskId,
    source: 'webhook',
    provider: 'github',
    input: { message: `torture ${n}`, source_metadata: { provider: 'github', issue_number: n } },
  });
  for (const stage of WEBHOOK_STAGES)
    task.recordStage(stage, { detail: 'd'.repeat(Math.floor(next() * 400)) });
  const run = task.startAgent({ name: 'brain', model: 'claude' });
  let lines = 0;
  const steps = 1 + Math.floor(next() * 4);
  for (let step = 0; step < steps; step++) {
    const burst = 1 + Math.floor(next() * 60);
    for (let i = 0; i < burst; i++) run.text(`${lines++} ${'x'.repeat(Math.floor(next() * 3000))}`);
    await telemetry.forceFlush();
    process.stdout.write(`flushed ${taskId} ${lines}\n`);
  }
  if (next() < 0.8) run.finish({ result: 'done', costUsd: 0.01 });
  else run.fail(new Error('agent failed on purpose'));
  await telemetry.forceFlush();
  process.stdout.write(`flushed ${taskId} ${lines}\n`);
}
