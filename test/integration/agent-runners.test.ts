import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClaudeRunner } from '../../src/agent/claude-runner.ts';
import { CommandRunner } from '../../src/agent/command-runner.ts';
import { splitCommand } from '../../src/agent/split-command.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const FAKE_CLAUDE = resolve(import.meta.dirname, '../fixtures/processes/fake-claude.ts');

async function runWith(runner: { run: ClaudeRunner['run'] }, env: Record<string, string> = {}) {
  const dir = await tempLogsDir();
  const telemetry = testTelemetry(dir);
  const run = telemetry.tasks.start({ taskId: 'task-agent' }).startAgent({ name: 'brain' });
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    await runner.run(run, { taskId: 'task-agent', prompt: '@agent review please' });
  } finally {
    process.env = saved;
  }
  await telemetry.forceFlush();
  return readTaskFolder(join(dir, 'task-agent'));
}

describe('ClaudeRunner', () => {
  it('runs the agent command with the prompt on stdin and records its stream-json output', async () => {
    const files = await runWith(
      new ClaudeRunner({ argv: [process.execPath, FAKE_CLAUDE], timeoutSeconds: 30 }),
    );
    expect(files.finalResult).toMatchObject({ success: true, metrics: { cost_usd: 0.0734 } });
    expect(files.agentOutput.find((l) => l.stream === 'stderr')?.content).toBe(
      '[stderr] fake claude got a prompt of 20 characters',
    );
  });

  it('records stderr the agent writes after its result: the run ends when the process has ended', async () => {
    const files = await runWith(
      new ClaudeRunner({ argv: [process.execPath, FAKE_CLAUDE], timeoutSeconds: 30 }),
      { FAKE_CLAUDE_MODE: 'late-stderr' },
    );
    expect(files.metadata?.status).toBe('completed');
    expect(files.agentOutput.filter((l) => l.stream === 'stderr').map((l) => l.content)).toEqual([
      '[stderr] fake claude got a prompt of 20 characters',
      '[stderr] warning: written after the result',
    ]);
  });

  it('fails the task with the error when the agent crashes', async () => {
    const files = await runWith(
      new ClaudeRunner({ argv: [process.execPath, FAKE_CLAUDE], timeoutSeconds: 30 }),
      {
        FAKE_CLAUDE_MODE: 'crash',
      },
    );
    expect(files.metadata?.status).toBe('failed');
    expect(files.finalResult).toMatchObject({ success: false });
    expect(files.finalResult!.error).toMatch(/^agent exited with code 3 before its result: .*API overloaded/);
    expect(files.agentOutput.at(-1)).toMatchObject({ type: 'error' });
  });

  it('ends a hung agent at the timeout and fails the task', async () => {
    // the fake agent never ends by itself: a result at all means the timeout ended it
    const files = await runWith(
      new ClaudeRunner({ argv: [process.execPath, FAKE_CLAUDE], timeoutSeconds: 1 }),
      {
        FAKE_CLAUDE_MODE: 'hang',
      },
    );
    expect(files.finalResult).toMatchObject({ success: false, error: 'agent timed out after 1 s' });
  });

  it('fails the task clearly when the agent program does not exist', async () => {
    const files = await runWith(new ClaudeRunner({ argv: ['/nonexistent/claude'], timeoutSeconds: 5 }));
    expect(files.finalResult!.error).toMatch(/^agent could not start \/nonexistent\/claude: .*ENOENT/);
  });
});

describe('CommandRunner', () => {
  it('records stdout lines as text and stderr lines as errors; exit 0 succeeds with the last line', async () => {
    const script = 'echo one; echo two >&2; echo done';
    const files = await runWith(new CommandRunner({ argv: ['bash', '-c', script], timeoutSeconds: 10 }));
    expect(files.agentOutput.map((l) => `${l.type}:${l.content}`)).toEqual(
      expect.arrayContaining(['text:one', 'error:two', 'text:done']),
    );
    expect(files.finalResult).toMatchObject({ success: true, result: 'done' });
  });

  it('fails on a non-zero exit', async () => {
    const files = await runWith(
      new CommandRunner({ argv: ['bash', '-c', 'echo partial; exit 2'], timeoutSeconds: 10 }),
    );
    expect(files.finalResult).toMatchObject({
      success: false,
      error: 'command exited with code 2',
      result: 'partial',
    });
  });
});

describe('splitCommand', () => {
  it('splits on spaces and honours quotes and escapes, without a shell', () => {
    expect(splitCommand('claude -p --output-format stream-json --verbose')).toEqual([
      'claude',
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
    ]);
    expect(splitCommand(`run "two words" 'single $HOME' a\\ b`)).toEqual([
      'run',
      'two words',
      'single $HOME',
      'a b',
    ]);
    expect(() => splitCommand('run "open')).toThrow(/unclosed quote/);
    expect(() => splitCommand('   ')).toThrow(/empty/);
  });
});
