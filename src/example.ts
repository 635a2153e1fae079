// `npm run example`: one complete sample task through the instrumentation API, as a GitHub-triggered review would
// produce it: input, the six webhook stages, a queue hand-over, 100+ agent output events of every type, a result.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from './config.ts';
import { endQuietlyWhenPipeCloses } from './contract/closed-pipe.ts';
import { quote, TaskLogsError } from './contract/errors.ts';
import { parseTaskId } from './contract/task-id.ts';
import { usageFromAnthropic } from './instrumentation/agent-usage.ts';
import { startTelemetry } from './instrumentation/telemetry.ts';
import { checkEnvironment } from './ops/preflight.ts';

const FILES = ['src/server.ts', 'src/queue.ts', 'src/worker.ts', 'src/config.ts', 'src/webhooks/github.ts'];
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const EXAMPLE_USAGE = 'usage: npm run example [-- --task-id ID] [--fail]';

const parseExampleArgs = (argv: string[]) =>
  parseArgs({
    args: argv,
    options: { 'task-id': { type: 'string' }, fail: { type: 'boolean', default: false } },
  });

export async function runExample(argv: string[]): Promise<{ taskId: string; folder: string }> {
  let parsed: ReturnType<typeof parseExampleArgs>;
  try {
    parsed = parseExampleArgs(argv);
  } catch (error) {
    throw new TaskLogsError('REQUEST_INVALID', `${(error as Error).message}\n${EXAMPLE_USAGE}`);
  }
  const { values } = parsed;
  const config = loadConfig();
  // the server's own checks of the folder and the index: one line for a folder that cannot work (under /proc, not
  // writable), as `npm start` says it
  await checkEnvironment(config);
  if (values['task-id'] !== undefined) await claimFolder(config.logsDir, parseTaskId(values['task-id']));
  const telemetry = startTelemetry(config);
  const { tasks } = telemetry;
  try {
    const task = tasks.start({
      ...(values['task-id'] === undefined ? {} : { taskId: values['task-id'] }),
      source: 'webhook',
      provider: 'github',
      input: {
        message: '@agent review please check the queue retry logic',
        source_metadata: {
          provider: 'github',
          event_type: 'issue_comment.created',
          webhook_id: 'wh-7f3a9c21',
          repo: 'acme/agent-platform',
          issue_number: 42,
          comment_id: 1988123456,
          sender: 'octocat',
        },
      },
    });

    // the webhook process: every stage as a span
    task.recordStage('received', {
      event_type: 'issue_comment.created',
      delivery_id: 'wh-7f3a9c21',
      bytes: 5321,
    });
    await task.runStage('validation', undefined, async (stage) => {
      await pause(2);
      stage.set({ status: 'passed', signature: 'sha256' });
    });
    task.recordStage('command_matching', { command: 'review', matched: true, phrase: '@agent review' });
    task.recordStage('immediate_response', { action: 'reaction', reaction: 'eyes', status: 'sent' });
    task.recordStage('task_created', { assigned_agent: 'brain', agent_type: 'planning' });
    const message = await task.runStage('queue_push', { queue: 'tasks' }, async () => {
      await pause(1);
      return JSON.stringify(task.toQueueMessage()); // what a queue would carry
    });

    // the worker: picks the task up from the message, same trace, same folder
    const job = tasks.resume(JSON.parse(message));
    const run = job.startAgent({ name: 'brain', type: 'planning', model: 'claude-opus-4-5-20251101' });
    run.system('[SYSTEM] Task started', { session_id: 'example-session' });
    run.setModel('claude-opus-4-5-20251101');
    run.thinking(
      'The comment asks for a review of the queue retry logic. Start with the queue, then the worker.',
    );
    for (const [index, file] of FILES.entries()) {
      run.text(`Reading ${file} to see how it handles retries.`);
      const read = run.toolCall({ name: 'Read', input: { file_path: file } });
      await pause(1);
      run.toolResult(read, `${file}: ${40 + index * 17} lines\nexport async function handle() { /* ... */ }`);
      run.thinking(`In ${file} the retry count comes from the job options; check the back-off.`);
      for (let i = 0; i < 6; i++) {
        const grep = run.toolCall({
          name: 'Grep',
          input: { pattern: `retry|backoff|attempt${i}`, path: file },
        });
        run.toolResult(grep, `${file}:${10 + i * 7}: const attempts = job.attemptsMade + ${i};`);
        run.text(`Line ${10 + i * 7} of ${file}: attempt ${i} uses a fixed delay.`);
      }
    }
    const bash = run.toolCall({ name: 'Bash', input: { command: 'npm test -- queue' } });
    run.toolResult(bash, 'Error: 1 test failed: retries exhausted too early', { isError: true });
    run.error('Test run failed: retries exhausted too early (expected 5 attempts, saw 3)');
    run.thinking('The failing test confirms it: the back-off ignores the configured attempts.');
    run.text('Analysis complete');
    const result = values.fail
      ? null
      : 'Review: the retry loop uses a fixed 1 s delay and stops after 3 attempts although the job allows 5; ' +
        'use exponential back-off from the job options (src/queue.ts:24) and add a test for the fifth attempt.';
    run.final(result ?? 'The review could not be completed.');
    run.finish({
      success: !values.fail,
      result,
      error: values.fail ? 'agent stopped: tool budget exhausted' : null,
      costUsd: 0.0234,
      usage: usageFromAnthropic({
        input_tokens: 300,
        cache_read_input_tokens: 1000,
        cache_creation_input_tokens: 200,
        output_tokens: 800,
      }),
    });
    await telemetry.forceFlush();
    return { taskId: task.id, folder: `${config.logsDir}/${task.id}` };
  } finally {
    await telemetry.shutdown();
  }
}

// A second run with the same --task-id would append a second trace to the first one's files. The folder is made here,
// without `recursive` (one atomic step), so an existing task is refused, even when two runs race.
async function claimFolder(logsDir: string, taskId: string): Promise<void> {
  try {
    await mkdir(join(logsDir, taskId));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    throw new TaskLogsError(
      'TASK_EXISTS',
      `task ${quote(taskId)} already exists in ${logsDir}: pick another --task-id, or delete that folder first`,
    );
  }
}

if (import.meta.main) {
  endQuietlyWhenPipeCloses(); // `npm run example | head -1` is success
  if (process.argv.includes('--help')) {
    process.stdout.write(`${EXAMPLE_USAGE}\n`);
    process.exit(0);
  }
  try {
    const { taskId, folder } = await runExample(process.argv.slice(2));
    process.stdout.write(`task ${taskId} written to ${folder}\n`);
    process.stdout.write(`  cat ${folder}/metadata.json | jq\n  cat ${folder}/03-agent-output.jsonl | jq\n`);
  } catch (error) {
    if (error instanceof TaskLogsError) {
      process.stderr.write(`example: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}
