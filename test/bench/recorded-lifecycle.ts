// The task lifecycle the writing benchmarks record through the instrumentation API: a GitHub webhook's input, the six
// webhook stages, one agent run with 100 output lines, and its final result. Shared so that the lifecycle and the
// writer-thread benchmarks measure the same work.
import { WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { usageFromAnthropic } from '../../src/instrumentation/agent-usage.ts';
import type { startTelemetry } from '../../src/instrumentation/telemetry.ts';
import { scaled } from './bench-kit.ts';

/** tasks per measured run (fewer in --quick), recorded PER_TURN at a time between yields to the event loop */
export const TASKS = scaled(2000, 200);
export const PER_TURN = 20;
export const LINE = 'Analyzing the code: the retry loop in src/queue.ts uses a fixed delay.';
export const OUTPUT_LINES = 100;
export const INPUT = {
  message: '@agent review',
  source_metadata: {
    provider: 'github',
    event_type: 'issue_comment.created',
    webhook_id: 'wh',
    repo: 'o/r',
    issue_number: 1,
  },
};

export function recordLifecycle(telemetry: ReturnType<typeof startTelemetry>, taskId: string): void {
  const task = telemetry.tasks.start({ taskId, source: 'webhook', provider: 'github', input: INPUT });
  for (const stage of WEBHOOK_STAGES)
    task.recordStage(stage, stage === 'task_created' ? { assigned_agent: 'brain' } : undefined);
  const run = task.startAgent({ name: 'brain', type: 'planning', model: 'claude' });
  for (let k = 0; k < OUTPUT_LINES; k++) run.text(LINE);
  run.finish({
    result: 'done',
    costUsd: 0.01,
    usage: usageFromAnthropic({ input_tokens: 10, output_tokens: 10 }),
  });
}

/** waits while the writer's queue is deep: tasks arrive only as fast as they are written (a sustained rate, not a
 *  burst into the bounded queue). Told by the writer when its next flush takes the queue: polling the queue's depth
 *  every millisecond instead woke this thread 1-2 times per task on the disk, each wake costing ~100-170 µs of CPU on
 *  this VM (the naive and floor ways await their own writes, as this does now) */
export async function waitForWriter(telemetry: ReturnType<typeof startTelemetry>): Promise<void> {
  await telemetry.writer!.whenQueuedAtMost(16_384);
}
