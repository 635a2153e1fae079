// Records one complete task with known values, for tests that check the files field by field.
import { usageFromAnthropic } from '../../src/instrumentation/agent-usage.ts';
import type { TaskRecorder } from '../../src/instrumentation/task-recorder.ts';

export const SAMPLE_INPUT = {
  message: '@agent review the retry logic',
  source_metadata: {
    provider: 'github',
    event_type: 'issue_comment.created',
    webhook_id: 'wh-123',
    repo: 'owner/repo',
    issue_number: 42,
  },
};

export interface SampleOptions {
  taskId?: string;
  fail?: boolean;
  /** extra text lines, to make a task bigger */
  lines?: number;
  costUsd?: number;
  conversationId?: string;
  /** the final result's text, in place of the short default */
  result?: string;
}

export async function recordSampleTask(tasks: TaskRecorder, options: SampleOptions = {}) {
  const task = tasks.start({
    ...(options.taskId === undefined ? {} : { taskId: options.taskId }),
    source: 'webhook',
    provider: 'github',
    ...(options.conversationId === undefined ? {} : { conversationId: options.conversationId }),
    input: SAMPLE_INPUT,
  });
  task.recordStage('received', { event_type: 'issue_comment.created' });
  task.recordStage('validation', { status: 'passed' });
  task.recordStage('command_matching', { command: 'review', matched: true });
  task.recordStage('immediate_response', { action: 'reaction', reaction: 'eyes' });
  task.recordStage('task_created', { assigned_agent: 'brain', agent_type: 'planning' });
  const message = task.runStage('queue_push', { queue: 'tasks' }, () => task.toQueueMessage());
  const worker = tasks.resume(JSON.parse(JSON.stringify(message)));
  const run = worker.startAgent({ name: 'brain', type: 'planning', model: 'claude-opus-4-5-20251101' });
  run.system('[SYSTEM] Task started');
  run.thinking('Looking at the queue first.');
  run.text('Analyzing the code...');
  const call = run.toolCall({ name: 'Read', input: { file_path: 'src/queue.ts' } });
  run.toolResult(call, 'export const attempts = 3;');
  for (let i = 0; i < (options.lines ?? 0); i++) run.text(`line ${i}`);
  if (options.fail) {
    run.error('Agent crashed: out of budget');
    run.fail(new Error('Agent crashed: out of budget'), { costUsd: options.costUsd ?? 0.01 });
  } else {
    run.final('Analysis complete');
    run.finish({
      result: options.result ?? 'Task completed successfully. Analysis: the retry count is fixed at 3.',
      costUsd: options.costUsd ?? 0.0234,
      usage: usageFromAnthropic({
        input_tokens: 300,
        cache_read_input_tokens: 1000,
        cache_creation_input_tokens: 200,
        output_tokens: 800,
      }),
      durationSeconds: 45.2,
    });
  }
  return { task, run };
}
