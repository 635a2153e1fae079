import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTaskFolder } from '../helpers/task-files.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const WORKER = join(import.meta.dirname, '../fixtures/processes/worker.ts');

function runWorker(message: unknown, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, JSON.stringify(message)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`worker exited ${code}: ${err}`)),
    );
  });
}

describe('a task handed to a worker process through a queue message', () => {
  it('stays one trace and one folder, with all five files right', async () => {
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir);
    const task = telemetry.tasks.start({
      taskId: 'task-handoff',
      source: 'webhook',
      provider: 'jira',
      input: {
        message: 'please plan',
        source_metadata: {
          provider: 'jira',
          event_type: 'jira:issue_created',
          webhook_id: 'j-1',
          repo: null,
          issue_number: null,
          issue_key: 'OPS-7',
        },
      },
    });
    task.recordStage('received', { event_type: 'jira:issue_created' });
    task.recordStage('validation', { status: 'passed' });
    task.recordStage('command_matching', { command: 'plan', matched: true });
    task.recordStage('immediate_response', { action: 'comment' });
    task.recordStage('task_created', { assigned_agent: 'brain', agent_type: 'planning' });
    const message = task.runStage('queue_push', { queue: 'tasks' }, () => task.toQueueMessage());
    task.end();
    await telemetry.forceFlush();
    expect(readTaskFolder(join(dir, 'task-handoff')).metadata?.status).toBe('queued');

    await runWorker(JSON.parse(JSON.stringify(message)), { TASK_LOGS_DIR: dir });

    const files = readTaskFolder(join(dir, 'task-handoff'));
    expect(files.metadata).toMatchObject({
      task_id: 'task-handoff',
      source: 'webhook',
      provider: 'jira',
      created_at: task.createdAt,
      status: 'completed',
      assigned_agent: 'brain',
      agent_type: 'planning',
      model: 'claude-sonnet-4-5',
      trace_id: task.traceId,
    });
    expect(files.input?.source_metadata).toMatchObject({ issue_key: 'OPS-7' });
    expect(files.webhookFlow).toHaveLength(6);
    expect(files.agentOutput).toHaveLength(26);
    expect(files.finalResult).toMatchObject({
      success: true,
      result: 'worker finished',
      metrics: { cost_usd: 0.5, input_tokens: 15, output_tokens: 20, cache_read_input_tokens: 5 },
    });
    const traceIds = new Set(
      [...files.webhookFlow, ...files.agentOutput]
        .map((line) => line.trace_id)
        .concat(files.finalResult!.trace_id),
    );
    expect([...traceIds]).toEqual([task.traceId]);
  });
});
