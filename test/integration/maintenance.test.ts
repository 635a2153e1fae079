import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { runMaintenance } from '../../src/ops/maintenance.ts';
import { TaskIndex } from '../../src/store/task-index.ts';
import { writeTask } from '../helpers/old-tasks.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

describe("the server's scheduled maintenance", () => {
  it('prunes, warns in the log when the size cap deletes tasks within retention, and compresses', async () => {
    const dir = await tempLogsDir();
    writeTask(dir, 'task-expired', { endedDaysAgo: 45 });
    writeTask(dir, 'task-old', { endedDaysAgo: 20, lines: 400 });
    writeTask(dir, 'task-mid', { endedDaysAgo: 10, lines: 400 });
    writeTask(dir, 'task-new', { endedDaysAgo: 1, lines: 400 });
    const config = loadConfig({ env: { TASK_LOGS_DIR: dir, TASK_LOGS_MAX_TOTAL_BYTES: '200k' } });
    expect(config.maxTotalBytes).toBe(200 * 1024);
    const index = new TaskIndex(':memory:');
    const log: string[] = [];
    await runMaintenance(config, index, (line) => log.push(line));
    index.close();
    expect(log[0]).toBe('retention: deleted 1 task finished over 30 days ago');
    expect(log[1]).toMatch(
      /^WARNING: task logs over TASK_LOGS_MAX_TOTAL_BYTES \(204800 bytes\): deleted the 1 oldest finished tasks/,
    );
    expect(existsSync(join(dir, 'task-old'))).toBe(false);
    expect(existsSync(join(dir, 'task-new'))).toBe(true);
    expect(log[2]).toMatch(/^compression: 1 task, \d+ -> \d+ bytes$/);
    expect(existsSync(join(dir, 'task-mid', '03-agent-output.jsonl.gz'))).toBe(true);
  });
});
