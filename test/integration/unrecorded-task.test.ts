// A writer killed between a new task's first lines and its first metadata write leaves a folder with lines and no
// metadata.json (the writer writes metadata last). No status says it runs, so nothing ended it: it stayed out of
// every status filter and count forever. The server's interrupted-task check now records such a folder once it has
// not been written for the stale limit: failed as interrupted, or, when its result was written, with that result.
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { TASK_FILES } from '../../src/contract/task-files.ts';
import { parseJsonl } from '../../src/store/jsonl-read.ts';
import { getJson, testServer } from '../helpers/server.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const HOURS_AGO = new Date(Date.now() - 2 * 3_600_000);

async function folder(root: string, id: string, files: Record<string, string>, old: boolean) {
  const dir = join(root, id);
  await mkdir(dir);
  for (const [name, text] of Object.entries(files)) {
    await writeFile(join(dir, name), text);
    if (old) await utimes(join(dir, name), HOURS_AGO, HOURS_AGO);
  }
  if (old) await utimes(dir, HOURS_AGO, HOURS_AGO);
  return dir;
}

const line = (fields: Record<string, unknown>) => `${JSON.stringify(fields)}\n`;

it('a folder with lines but no metadata.json is ended once stale, and listed by status', async () => {
  const root = await tempLogsDir();
  const createdAt = '2026-01-02T03:04:05.000Z';
  const startedAt = '2026-01-02T03:04:09.000Z';
  const killed = await folder(
    root,
    'task-nometa1',
    {
      [TASK_FILES.webhookFlow]: line({ timestamp: createdAt, stage: 'received' }),
      [TASK_FILES.agentOutput]:
        line({ timestamp: startedAt, type: 'text', content: 'working' }) +
        JSON.stringify({ timestamp: startedAt, type: 'text', content: 'torn' }).slice(0, 30),
    },
    true,
  );
  const result = line({
    success: true,
    result: 'done',
    error: null,
    metrics: { cost_usd: 0.5, input_tokens: 1, output_tokens: 2, duration_seconds: 3 },
    completed_at: '2026-01-02T03:05:00.000Z',
  });
  const finished = await folder(
    root,
    'task-nometa2',
    {
      [TASK_FILES.agentOutput]: line({ timestamp: startedAt, type: 'final', content: 'done' }),
      [TASK_FILES.finalResult]: result,
    },
    true,
  );
  // still being written (a writer between its lines and its metadata): left alone
  const fresh = await folder(
    root,
    'task-nometa3',
    { [TASK_FILES.agentOutput]: line({ timestamp: startedAt, type: 'text', content: 'now' }) },
    false,
  );

  const server = await testServer(root);
  const metadataOf = async (id: string) =>
    (await getJson(`${server.url}/api/tasks/${id}/logs/metadata`)).body as Record<string, unknown>;
  await expect.poll(async () => (await metadataOf('task-nometa1')).status).toBe('failed');
  await expect.poll(async () => (await metadataOf('task-nometa2')).status).toBe('completed');

  const ended = await metadataOf('task-nometa1');
  expect(ended).toMatchObject({ task_id: 'task-nometa1', created_at: createdAt, started_at: startedAt });
  const final = JSON.parse(await readFile(join(killed, TASK_FILES.finalResult), 'utf8'));
  expect(final.success).toBe(false);
  expect(final.error).toMatch(
    /^interrupted: its writer stopped before recording the task \(no metadata\.json/,
  );
  // the torn line of the killed writer is cut, the interrupted line starts on its own line
  const output = parseJsonl<{ type: string; content: string }>(
    await readFile(join(killed, TASK_FILES.agentOutput)),
  );
  expect(output.tornTail).toBeUndefined();
  expect(output.lines.map((l) => [l.type, l.content])).toEqual([
    ['text', 'working'],
    ['error', final.error],
  ]);

  // a run that ended before its metadata write keeps its own result
  expect(await metadataOf('task-nometa2')).toMatchObject({ created_at: startedAt, started_at: startedAt });
  expect(await readFile(join(finished, TASK_FILES.finalResult), 'utf8')).toBe(result);

  const listed = async (status: string) =>
    (
      (await getJson(`${server.url}/api/tasks?status=${status}`)).body as { tasks: { task_id: string }[] }
    ).tasks.map((t) => t.task_id);
  await expect.poll(() => listed('failed')).toEqual(['task-nometa1']);
  await expect.poll(() => listed('completed')).toEqual(['task-nometa2']);
  await expect(readFile(join(fresh, TASK_FILES.metadata))).rejects.toMatchObject({ code: 'ENOENT' });
});
