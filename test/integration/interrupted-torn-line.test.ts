// A writer killed in the middle of a multi-page append leaves a torn last line. The restart ends the task as
// interrupted and appends its "interrupted" line to the same file: that line must start on a line of its own and
// survive `verify --repair` (found by the kill -9 torture: the line was glued to the torn one and cut with it).
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import { TASK_FILES } from '../../src/contract/task-files.ts';
import { endTasksOfGoneOwners } from '../../src/ops/interrupted-tasks.ts';
import { verifyTasks } from '../../src/ops/verify.ts';
import { parseJsonl } from '../../src/store/jsonl-read.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

it("a torn last line left by a killed writer: the restart's interrupted line is kept, the torn one cut", async () => {
  const root = await tempLogsDir();
  const dir = join(root, 'task-torn1');
  await mkdir(dir);
  // a process that has exited: the owner is gone
  const gone = spawnSync(process.execPath, ['-e', '0']).pid;
  const now = new Date().toISOString();
  await writeFile(
    join(dir, TASK_FILES.metadata),
    JSON.stringify({
      task_id: 'task-torn1',
      source: 'webhook',
      provider: 'github',
      created_at: now,
      started_at: now,
      status: 'running',
      assigned_agent: 'brain',
      agent_type: null,
      model: 'claude',
      owner: { host: hostname(), pid: gone, start_ticks: null, started_at: now },
    }),
  );
  const whole = JSON.stringify({ timestamp: now, type: 'text', content: 'line 0' });
  const torn = JSON.stringify({ timestamp: now, type: 'text', content: 'x'.repeat(9000) }).slice(0, 5000);
  await writeFile(join(dir, TASK_FILES.agentOutput), `${whole}\n${torn}`);

  const writer = new TaskFileWriter({ root, report: () => {} });
  const ended = await endTasksOfGoneOwners(writer, { root, staleMs: 3_600_000 });
  await writer.shutdown();
  expect(ended.map((task) => task.task_id)).toEqual(['task-torn1']);
  await verifyTasks({ root, repair: true });

  const output = parseJsonl<{ type: string; content: string }>(
    await readFile(join(dir, TASK_FILES.agentOutput)),
  );
  expect(output.tornTail).toBeUndefined();
  expect(output.badLines).toEqual([]);
  expect(output.lines.map((line) => [line.type, line.content])).toEqual([
    ['text', 'line 0'],
    ['error', ended[0]!.error],
  ]);
  const metadata = JSON.parse(await readFile(join(dir, TASK_FILES.metadata), 'utf8'));
  expect(metadata.status).toBe('failed');
});
