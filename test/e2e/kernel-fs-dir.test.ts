// A TASK_LOGS_DIR under /proc, where mkdir answers ENOENT although the parent is there: Node's recursive mkdir
// (`mkdirSync('/proc/x', { recursive: true })`) then tries again for ever. The server refuses such a folder before
// making anything; the commands that open the task index (ls, prune, reindex) and `npm run example` spun at 100% CPU
// and never returned. Each must end with one line and an exit code instead.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, PATH, ROOT } from '../helpers/tasklogs-cli.ts';

const DIR = '/proc/task-logs-test/tasks';

function run(args: string[]) {
  const result = spawnSync(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, PATH, TASK_LOGS_DIR: DIR, NO_COLOR: '1' },
    encoding: 'utf8',
    // a hang is the failure this test is about: 60 s is far more than a start takes on a loaded machine
    timeout: 60_000,
  });
  return { code: result.status, signal: result.signal, err: result.stderr };
}

describe('a logs folder under /proc', { timeout: 240_000 }, () => {
  // prune goes on without the index (there is nothing to delete): exit 0
  it.each([
    ['ls', 1],
    ['prune', 0],
    ['reindex', 1],
  ])('tasklogs %s ends with one line, not a hang', (command, code) => {
    const result = run([BIN, command]);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(code);
    expect(result.err).toMatch(/^tasklogs: .*\/proc\/task-logs-test.*\n$/);
  });

  it('npm run example ends with one line and exit 2, not a hang', () => {
    const result = run([join(ROOT, 'src/example.ts'), '--task-id', 'task-proc']);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(2);
    expect(result.err).toBe(`example: TASK_LOGS_DIR=${DIR} is under /proc, a kernel file system\n`);
  });
});
