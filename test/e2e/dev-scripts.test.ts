import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const run = (script: string, ...args: string[]) =>
  spawnSync(process.execPath, [script, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });

describe('npm run bench and npm run torture', () => {
  it('refuse a benchmark name that matches none with exit 2 and the names, instead of running nothing', () => {
    const result = run('test/bench/run.ts', 'no-such-bench');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('bench: no benchmark named "no-such-bench"');
    expect(result.stderr).toMatch(/usage: npm run bench .*pipeline/);
  });

  it('answer --help with the usage and exit 0, before starting anything', () => {
    const result = run('test/torture/run.ts', '--help');
    expect({ status: result.status, stdout: result.stdout }).toEqual({
      status: 0,
      stdout:
        'usage: npm run torture [-- KILLS] [--only kill|faults|append] [--parallel N] [--minutes M] [--lines N]\n',
    });
  });
});
