import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const RACE = join(import.meta.dirname, '../fixtures/processes/metadata-race.ts');
const run = promisify(execFile);

describe('two processes writing the same tasks', () => {
  it('lose no metadata update and interleave no lines', async () => {
    const dir = await tempLogsDir();
    const count = 20;
    const rounds = 40;
    const go = String(Date.now() + 400);
    const env = { ...process.env, TASK_LOGS_DIR: dir, TASK_LOGS_FLUSH_MS: '1' };
    const [web, worker] = await Promise.all([
      run(process.execPath, [RACE, 'web', String(count), String(rounds), go], { env }),
      run(process.execPath, [RACE, 'worker', String(count), String(rounds), go], { env }),
    ]);
    for (const side of [web, worker]) {
      const stats = JSON.parse(side.stdout);
      expect(stats).toMatchObject({ dropped: 0, errors: 0, queued: 0 });
    }
    for (let i = 0; i < count; i++) {
      const { metadata, webhookFlow } = readTaskFolder(join(dir, `task-race-${i}`));
      // each side's last update survives the other side's concurrent read-modify-write
      expect(metadata, `task-race-${i}`).toMatchObject({
        source: 'webhook',
        provider: 'slack',
        status: 'queued',
        assigned_agent: `web-${rounds - 1}`,
        model: `worker-${rounds - 1}`,
      });
      expect(webhookFlow).toHaveLength(rounds * 2);
    }
  });
});
