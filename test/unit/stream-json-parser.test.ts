import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLED_TRANSCRIPT, ReplayRunner } from '../../src/agent/replay-runner.ts';
import { StreamJsonParser } from '../../src/agent/stream-json-parser.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/claude-stream');
const SHARED = resolve(import.meta.dirname, '../../../shared/fixtures/claude-stream');

async function parse(text: string) {
  const dir = await tempLogsDir();
  const telemetry = testTelemetry(dir);
  const run = telemetry.tasks.start({ taskId: 'task-parse' }).startAgent({ name: 'brain' });
  const parser = new StreamJsonParser(run);
  for (const line of text.split('\n')) parser.line(line);
  if (!run.finished) run.fail(new Error('the agent ended without a result message'));
  await telemetry.forceFlush();
  return { files: readTaskFolder(join(dir, 'task-parse')), outcome: parser.outcome };
}

describe('StreamJsonParser', () => {
  it('maps a complete transcript with a subagent to output lines, tool spans and the result', async () => {
    const { files, outcome } = await parse(readFileSync(BUNDLED_TRANSCRIPT, 'utf8'));
    expect(outcome).toEqual({ finished: true, lines: 22, unparsable: 0 });
    const out = files.agentOutput;
    expect(out[0]).toMatchObject({ type: 'system', model: 'claude-sonnet-4-5-20250929' });
    expect(out[0]!.content).toBe('[SYSTEM] Agent session started: model claude-sonnet-4-5-20250929, 9 tools');
    expect(out.map((l) => l.type)).toEqual([
      'system',
      'thinking',
      'text',
      'tool_call',
      'tool_result',
      'tool_call',
      'tool_result',
      'thinking',
      'tool_call',
      'tool_result',
      'text',
      'tool_call',
      'tool_call',
      'tool_result',
      'tool_call',
      'tool_result',
      'tool_result',
      'tool_call',
      'tool_result',
      'thinking',
      'text',
      'final',
    ]);
    // subagent lines keep their parent tool call
    const subagent = out.filter((l) => l.parent_tool_use_id === 'toolu_replay_04');
    expect(subagent.map((l) => `${l.type}:${l.tool_name}`)).toEqual([
      'tool_call:Glob',
      'tool_result:Glob',
      'tool_call:Read',
      'tool_result:Read',
    ]);
    const bash = out.find((l) => l.type === 'tool_result' && l.tool_name === 'Bash');
    expect(bash).toMatchObject({ is_error: true, tool_call_id: 'toolu_replay_07' });
    const task = out.find((l) => l.type === 'tool_result' && l.tool_call_id === 'toolu_replay_04');
    expect(task?.content).toContain('One test covers retries');
    expect(files.metadata).toMatchObject({ status: 'completed', model: 'claude-sonnet-4-5-20250929' });
    // tokens over every model (the haiku subagent too); cached tokens counted once
    expect(files.finalResult).toMatchObject({
      success: true,
      error: null,
      metrics: {
        cost_usd: 0.0734,
        duration_seconds: 38.45,
        input_tokens: 28 + 61200 + 2400 + 1450 + 8100 + 900,
        output_tokens: 910 + 220,
        cache_read_input_tokens: 61200 + 8100,
        cache_creation_input_tokens: 2400 + 900,
      },
    });
    expect(files.finalResult!.result).toMatch(/^Review of the retry logic/);
  });

  it('records an error result as success false with its errors', async () => {
    const { files } = await parse(readFileSync(join(FIXTURES, 'error-result.jsonl'), 'utf8'));
    expect(files.finalResult).toMatchObject({
      success: false,
      result: null,
      error: 'Reached maximum number of turns (30)',
      metrics: { cost_usd: 0.412, input_tokens: 125900, output_tokens: 3100 },
    });
    expect(files.metadata?.status).toBe('failed');
    expect(files.agentOutput.at(-1)).toMatchObject({
      type: 'error',
      content: 'Reached maximum number of turns (30)',
    });
    expect(files.agentOutput.find((l) => l.type === 'tool_result')).toMatchObject({ is_error: true });
  });

  it('survives a transcript cut off mid-line: what came before is kept and the run fails', async () => {
    const text = readFileSync(BUNDLED_TRANSCRIPT, 'utf8');
    const cut = text.slice(0, text.indexOf('"type":"result"') + 40);
    const { files, outcome } = await parse(cut);
    expect(outcome).toMatchObject({ finished: false, unparsable: 1 });
    expect(files.agentOutput.at(-1)).toMatchObject({ type: 'error' });
    expect(files.agentOutput.at(-1)!.content).toMatch(/^unreadable agent output: \{"type":"result"/);
    expect(files.finalResult).toMatchObject({
      success: false,
      error: 'the agent ended without a result message',
    });
    expect(files.agentOutput.filter((l) => l.type === 'tool_call')).toHaveLength(7);
  });

  it('reads the real Claude Code capture in ../shared when it is there', async () => {
    const file = join(SHARED, 'claude-clean-2.0.25-subagents-websearch.jsonl');
    if (!existsSync(file)) {
      console.warn(`SKIPPED: ${file} not found`);
      return;
    }
    const { files, outcome } = await parse(readFileSync(file, 'utf8'));
    expect(outcome).toMatchObject({ finished: true, unparsable: 0 });
    expect(files.finalResult).toMatchObject({ success: true, metrics: { cost_usd: 0.21085415 } });
    expect(files.agentOutput.some((l) => typeof l.parent_tool_use_id === 'string')).toBe(true);
    const calls = files.agentOutput.filter((l) => l.type === 'tool_call').map((l) => l.tool_call_id);
    const results = files.agentOutput.filter((l) => l.type === 'tool_result').map((l) => l.tool_call_id);
    expect(new Set(results)).toEqual(new Set(calls));
  });
});

describe('ReplayRunner', () => {
  it('says it is a replay in its first line and plays the bundled transcript to a result', async () => {
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir);
    const run = telemetry.tasks.start({ taskId: 'task-replay' }).startAgent({ name: 'brain' });
    await new ReplayRunner({ delayMs: 0 }).run(run, { taskId: 'task-replay', prompt: 'review' });
    await telemetry.forceFlush();
    const files = readTaskFolder(join(dir, 'task-replay'));
    expect(files.agentOutput[0]!.content).toMatch(/^\[REPLAY\] This is a replay/);
    expect(files.finalResult?.success).toBe(true);
    // the recorded run's cost is kept, but the duration is this replay's own (its span), not the recording's 38.45 s
    const metrics = files.finalResult!.metrics;
    expect(metrics.cost_usd).toBe(0.0734);
    const started = Date.parse(files.metadata!.started_at!);
    const completed = Date.parse(files.metadata!.completed_at!);
    expect(metrics.duration_seconds).toBeGreaterThanOrEqual((completed - started) / 1000 - 0.002);
    expect(metrics.duration_seconds).toBeLessThanOrEqual((completed - started) / 1000 + 0.002);
  });

  it('fails the run when the transcript file is missing', async () => {
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir);
    const run = telemetry.tasks.start({ taskId: 'task-replay' }).startAgent({ name: 'brain' });
    await new ReplayRunner({ file: join(dir, 'nope.jsonl'), delayMs: 0 }).run(run, {
      taskId: 'task-replay',
      prompt: '',
    });
    await telemetry.forceFlush();
    expect(readTaskFolder(join(dir, 'task-replay')).finalResult?.error).toMatch(
      /cannot read the replay transcript/,
    );
  });
});
