// The server's (and the worker's) one log line for the tasks it ended as interrupted: after a kill -9 during a burst
// it listed every id, 155 ids in a line of 4.8 KB (walk9), and a backlog of thousands would be a line of hundreds of
// KB that log shippers cut or split. The count stays exact; the ids listed are the first few.
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { TASK_FILES } from '../../src/contract/task-files.ts';
import { startServer } from '../../src/http/server.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

it('says how many tasks it ended as interrupted in one short line: the first ids and how many more', async () => {
  const root = await tempLogsDir();
  const gone = spawnSync('true').pid; // a process that has exited (the smallest there is to start)
  const now = new Date().toISOString();
  const ids = Array.from({ length: 7 }, (_, n) => `task-gone${String(n).padStart(3, '0')}`);
  for (const id of ids) {
    await mkdir(join(root, id));
    await writeFile(
      join(root, id, TASK_FILES.metadata),
      JSON.stringify({
        task_id: id,
        created_at: now,
        status: 'running',
        owner: { host: hostname(), pid: gone, start_ticks: null, started_at: now },
      }),
    );
  }
  const lines: string[] = [];
  const config = loadConfig({ env: { TASK_LOGS_DIR: root, PORT: '0', TASK_LOGS_FLUSH_MS: '10' } });
  const server = await startServer(config, { log: (line) => lines.push(line) });
  onTestFinished(() => server.close());
  await expect.poll(() => lines.find((line) => line.startsWith('ended ')), { timeout: 60_000 }).toBeDefined();
  const said = lines.filter((line) => line.startsWith('ended '));
  expect(said).toHaveLength(1);
  const listed = /^ended 7 interrupted tasks: ((?:task-gone\d{3}, ){4}task-gone\d{3}) and 2 more$/.exec(
    said[0]!,
  );
  expect(listed, said[0]).not.toBeNull();
  expect(new Set(listed![1]!.split(', ')).size).toBe(5);
  for (const id of listed![1]!.split(', ')) expect(ids).toContain(id);
});
