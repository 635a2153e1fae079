import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OUTPUT_TYPES, WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { recordSampleTask, SAMPLE_INPUT } from '../helpers/sample-task.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const ISO_Z = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const HEX32 = /^[0-9a-f]{32}$/;

describe('a complete task on disk', () => {
  it('has the five files, field by field as the seed defines them', async () => {
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir);
    const { task } = await recordSampleTask(telemetry.tasks, { taskId: 'task-abc123' });
    await telemetry.forceFlush();
    const files = readTaskFolder(join(dir, 'task-abc123'));

    // metadata.json
    const m = files.metadata!;
    expect(Object.keys(m).slice(0, 9)).toEqual([
      'task_id',
      'source',
      'provider',
      'created_at',
      'started_at',
      'status',
      'assigned_agent',
      'agent_type',
      'model',
    ]);
    expect(m).toMatchObject({
      task_id: 'task-abc123',
      source: 'webhook',
      provider: 'github',
      status: 'completed',
      assigned_agent: 'brain',
      agent_type: 'planning',
      model: 'claude-opus-4-5-20251101',
      trace_id: task.traceId,
    });
    expect(m.created_at).toMatch(ISO_Z);
    expect(m.started_at).toMatch(ISO_Z);
    expect(m.created_at! <= m.started_at!).toBe(true);
    expect(m.created_at).toBe(task.createdAt);

    // 01-input.json
    expect(files.input).toEqual(SAMPLE_INPUT);

    // 02-webhook-flow.jsonl: the six stages, in order, seed fields first
    expect(files.webhookFlow.map((line) => line.stage)).toEqual([...WEBHOOK_STAGES]);
    for (const line of files.webhookFlow) {
      expect(Object.keys(line).slice(0, 2)).toEqual(['timestamp', 'stage']);
      expect(line.timestamp).toMatch(ISO_Z);
      expect(line.trace_id).toBe(task.traceId);
      expect(typeof line.duration_ms).toBe('number');
    }
    const stage = (name: string) => files.webhookFlow.find((line) => line.stage === name);
    expect(stage('received')).toMatchObject({ event_type: 'issue_comment.created' });
    expect(stage('validation')).toMatchObject({ status: 'passed' });
    expect(stage('command_matching')).toMatchObject({ command: 'review', matched: true });
    expect(stage('task_created')).toMatchObject({ task_id: 'task-abc123' });
    const times = files.webhookFlow.map((line) => line.timestamp);
    expect([...times].sort()).toEqual(times);

    // 03-agent-output.jsonl
    const out = files.agentOutput;
    expect(out.map((line) => line.type)).toEqual([
      'system',
      'thinking',
      'text',
      'tool_call',
      'tool_result',
      'final',
    ]);
    for (const line of out) {
      expect(Object.keys(line).slice(0, 3)).toEqual(['timestamp', 'type', 'content']);
      expect(line.timestamp).toMatch(ISO_Z);
      expect(typeof line.content).toBe('string');
      expect(OUTPUT_TYPES).toContain(line.type);
      expect(line.trace_id).toBe(task.traceId);
    }
    expect(out.map((line) => line.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(out[0]).toMatchObject({ content: '[SYSTEM] Task started' });
    expect(out[3]).toMatchObject({
      type: 'tool_call',
      tool_name: 'Read',
      input: { file_path: 'src/queue.ts' },
      content: 'Using Read tool: {"file_path":"src/queue.ts"}',
    });
    expect(out[4]).toMatchObject({
      type: 'tool_result',
      tool_name: 'Read',
      tool_call_id: out[3]!.tool_call_id,
      is_error: false,
      content: 'export const attempts = 3;',
    });

    // 04-final-result.json
    expect(files.finalResult).toEqual({
      success: true,
      result: 'Task completed successfully. Analysis: the retry count is fixed at 3.',
      error: null,
      metrics: {
        cost_usd: 0.0234,
        input_tokens: 1500,
        output_tokens: 800,
        duration_seconds: 45.2,
        cache_read_input_tokens: 1000,
        cache_creation_input_tokens: 200,
      },
      completed_at: expect.stringMatching(ISO_Z),
      trace_id: expect.stringMatching(HEX32),
    });
    expect(files.finalResult!.completed_at >= m.started_at!).toBe(true);
    expect(m.completed_at).toBe(files.finalResult!.completed_at);
  });

  it('records a failed run as success false with its error, and metadata failed', async () => {
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir);
    await recordSampleTask(telemetry.tasks, { taskId: 'task-failed', fail: true });
    await telemetry.forceFlush();
    const files = readTaskFolder(join(dir, 'task-failed'));
    expect(files.metadata!.status).toBe('failed');
    expect(files.finalResult).toMatchObject({
      success: false,
      result: null,
      error: 'Agent crashed: out of budget',
      metrics: { cost_usd: 0.01, input_tokens: 0, output_tokens: 0 },
    });
    expect(files.agentOutput.at(-1)).toMatchObject({
      type: 'error',
      content: 'Agent crashed: out of budget',
    });
    expect(readFileSync(join(dir, 'task-failed', '04-final-result.json'), 'utf8')).toContain(
      '"success":false',
    );
  });
});

describe("the seed's shell commands, verbatim but for the logs folder", () => {
  it('answer correctly against folders the system wrote', async () => {
    const root = await tempLogsDir();
    const telemetry = testTelemetry(root);
    await recordSampleTask(telemetry.tasks, { taskId: 'task-abc123', costUsd: 0.0234 });
    await recordSampleTask(telemetry.tasks, { taskId: 'task-def456', costUsd: 0.5 });
    await recordSampleTask(telemetry.tasks, { taskId: 'task-bad789', fail: true, costUsd: 0.01 });
    await telemetry.forceFlush();
    // each command exactly as the seed prints it, with /data/logs/tasks replaced by this test's folder
    const sh = (command: string, cwd = root) =>
      execFileSync('bash', ['-c', command.replaceAll('/data/logs/tasks', root)], { cwd, encoding: 'utf8' });
    const task = join(root, 'task-abc123');

    expect(sh('cd /data/logs/tasks/task-abc123 && pwd').trim()).toBe(task);
    expect(JSON.parse(sh('cat metadata.json | jq', task))).toMatchObject({ task_id: 'task-abc123' });
    const outputDocs = sh('cat 03-agent-output.jsonl | jq -c .', task).trim().split('\n');
    expect(outputDocs).toHaveLength(6);
    expect(JSON.parse(sh('cat 04-final-result.json | jq', task))).toMatchObject({ success: true });

    const counts = sh("cat 02-webhook-flow.jsonl | jq -r '.stage' | sort | uniq -c", task);
    expect(
      counts
        .trim()
        .split('\n')
        .map((line) => line.trim().split(/\s+/)),
    ).toEqual([...WEBHOOK_STAGES].sort().map((stage) => ['1', stage]));

    const total = sh(
      `find /data/logs/tasks -name "04-final-result.json" | xargs cat | jq -r '.metrics.cost_usd' | awk '{sum+=$1} END {print sum}'`,
    );
    expect(Number(total)).toBeCloseTo(0.5334, 6);

    const failed = sh(`find /data/logs/tasks -name "04-final-result.json" | xargs grep -l '"success":false'`);
    expect(failed.trim().split('\n')).toEqual([join(root, 'task-bad789', '04-final-result.json')]);

    const tokens = sh(
      `cat 04-final-result.json | jq '.metrics | {input: .input_tokens, output: .output_tokens, total: (.input_tokens + .output_tokens)}'`,
      task,
    );
    expect(JSON.parse(tokens)).toEqual({ input: 1500, output: 800, total: 2300 });
  });
});
