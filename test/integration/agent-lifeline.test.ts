import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runChild } from '../../src/agent/child-lines.ts';
import { alive } from '../helpers/process-alive.ts';

const CHILD_LINES = resolve(import.meta.dirname, '../../src/agent/child-lines.ts');

function killLater(pid: number) {
  onTestFinished(() => {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
}

// the agent prints the pid of a grandchild it started, then waits on it: both must go with the group
const AGENT = ['/bin/sh', '-c', 'sleep 600 & echo $!; wait'];

describe('an agent child process', () => {
  it('dies with its worker when the worker is killed with SIGKILL', async () => {
    const script = `
      import { runChild } from ${JSON.stringify(CHILD_LINES)};
      await runChild({ argv: ${JSON.stringify(AGENT)}, timeoutMs: 600_000,
        onStdout: (line) => process.stdout.write(line + '\\n'), onStderr: () => {} });`;
    const worker = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: worker.stdout });
    const grandchild = Number(await new Promise<string>((done) => lines.once('line', done)));
    killLater(grandchild);
    expect(alive(grandchild)).toBe(true);
    worker.kill('SIGKILL');
    await new Promise((done) => worker.once('exit', done));
    await expect.poll(() => alive(grandchild), { timeout: 60_000 }).toBe(false);
  });

  it('at its timeout, is ended with everything it started', async () => {
    // the timeout must fire after the agent has started its grandchild: on a loaded machine that can take longer than
    // the first allowance, so the allowance doubles until a run printed the grandchild before being timed out
    for (let timeoutMs = 300; ; timeoutMs *= 2) {
      let grandchild = 0;
      const result = await runChild({
        argv: AGENT,
        timeoutMs,
        onStdout: (line) => {
          grandchild = Number(line);
          killLater(grandchild);
        },
        onStderr: () => {},
      });
      expect(result.timedOut).toBe(true);
      expect(result.signal).toBe('SIGTERM');
      if (grandchild === 0 && timeoutMs < 20_000) continue;
      expect(grandchild).toBeGreaterThan(0);
      await expect.poll(() => alive(grandchild), { timeout: 60_000 }).toBe(false);
      return;
    }
  });

  it('keeps the exit code and the prompt on stdin as before', async () => {
    const out: string[] = [];
    const result = await runChild({
      argv: ['/bin/sh', '-c', 'cat; exit 3'],
      stdin: 'the prompt',
      timeoutMs: 10_000,
      onStdout: (line) => out.push(line),
      onStderr: () => {},
    });
    expect(out).toEqual(['the prompt']);
    expect(result).toMatchObject({ code: 3, signal: null, timedOut: false });
  });
});
