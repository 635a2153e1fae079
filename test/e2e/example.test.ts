import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OUTPUT_TYPES, WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const CHECKER = resolve(ROOT, '../shared/tools/check-task.py');

describe('npm run example', () => {
  it('writes one complete task with 100+ output events of every type and prints its folder', async () => {
    const dir = await tempLogsDir();
    const stdout = execFileSync(process.execPath, ['src/example.ts', '--task-id', 'task-abc123'], {
      cwd: ROOT,
      env: { ...process.env, TASK_LOGS_DIR: dir },
      encoding: 'utf8',
    });
    const folder = join(dir, 'task-abc123');
    expect(stdout).toContain(`task task-abc123 written to ${folder}`);
    const files = readTaskFolder(folder);
    expect(files.metadata?.status).toBe('completed');
    expect(files.webhookFlow.map((line) => line.stage)).toEqual([...WEBHOOK_STAGES]);
    expect(files.agentOutput.length).toBeGreaterThanOrEqual(100);
    expect(new Set(files.agentOutput.map((line) => line.type))).toEqual(new Set(OUTPUT_TYPES));
    expect(files.finalResult?.success).toBe(true);

    // the contract checker shipped beside the project, when it is there
    if (existsSync(CHECKER)) {
      const check = spawnSync('python3', [CHECKER, folder, 'completed'], { encoding: 'utf8' });
      expect(check.stdout + check.stderr).not.toMatch(/^(?!types=).+$/m);
      expect(check.status).toBe(0);
    } else {
      console.warn(`SKIPPED: ${CHECKER} not found, so the example was not run through check-task.py`);
    }
  });

  it('refuses a hostile --task-id with a clear message and exit code 2, writing nothing', async () => {
    const dir = await tempLogsDir();
    const result = spawnSync(process.execPath, ['src/example.ts', '--task-id', '../escape'], {
      cwd: ROOT,
      env: { ...process.env, TASK_LOGS_DIR: join(dir, 'tasks') },
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('example: task id "../escape" is not 1-128 characters');
    expect(existsSync(join(dir, 'escape'))).toBe(false);
  });
});
