// Runs the shared contract checker (../shared/tools/check-task.py) on a task folder, when it is there.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect } from 'vitest';

const CHECKER = resolve(import.meta.dirname, '../../../shared/tools/check-task.py');

export function expectTaskPassesChecker(folder: string, status: string): void {
  if (!existsSync(CHECKER)) {
    console.warn(`SKIPPED: ${CHECKER} not found, so ${folder} was not run through check-task.py`);
    return;
  }
  const check = spawnSync('python3', [CHECKER, folder, status], { encoding: 'utf8' });
  // the checker prints one line per problem on stdout and a summary ("types=...") on stderr
  expect(check.stdout).toBe('');
  expect(check.status).toBe(0);
}
