// Runs the shared contract checker (../shared/tools/check-task.py) on a task folder, when it is there.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect } from 'vitest';

const CHECKER = resolve(import.meta.dirname, '../../../shared/tools/check-task.py');
// the system's interpreter when there is one: a version manager's `python3` shim (pyenv's is a shell script) cost
// 0.6 s of CPU per run on the shared VM, the interpreter itself 0.1 s
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export function expectTaskPassesChecker(folder: string, status: string): void {
  if (!existsSync(CHECKER)) {
    console.warn(`SKIPPED: ${CHECKER} not found, so ${folder} was not run through check-task.py`);
    return;
  }
  const check = spawnSync(PYTHON, [CHECKER, folder, status], { encoding: 'utf8' });
  // the checker prints one line per problem on stdout and a summary ("types=...") on stderr
  expect(check.stdout).toBe('');
  expect(check.status).toBe(0);
}
