import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { checkEnvironment } from '../../src/ops/preflight.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const check = (dir: string) => checkEnvironment(loadConfig({ env: { TASK_LOGS_DIR: dir } }));

describe('the start-up check of TASK_LOGS_DIR', () => {
  it('says that a file is in the way, not EEXIST or ENOTDIR', async () => {
    const file = join(await tempLogsDir(), 'a-file');
    await writeFile(file, '');
    await expect(check(file)).rejects.toThrow(`TASK_LOGS_DIR=${file} is a file, not a folder`);
    await expect(check(join(file, 'tasks'))).rejects.toThrow(
      `TASK_LOGS_DIR=${join(file, 'tasks')} cannot be created: ${file} is a file, not a folder`,
    );
  });
});
