// The index and the webhook deliveries are written without fsync (a cache of the task folders, a memory of recent
// claims): an OS crash or a power cut may leave them corrupt. A corrupt file is moved aside, said in one line, and a
// new one made (the index from the files); the server starts.
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { TASK_FILES } from '../../src/contract/task-files.ts';
import { startServer } from '../../src/http/server.ts';
import { TaskIndex } from '../../src/store/task-index.ts';
import { fakeProvider } from '../helpers/fake-provider.ts';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { getJson } from '../helpers/server.ts';
import { tasklogs } from '../helpers/tasklogs-cli.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { fakeProviderEnv, githubComment, githubRequest } from '../helpers/webhook-requests.ts';

async function taskFolder(root: string, id: string): Promise<void> {
  await mkdir(join(root, id));
  await writeFile(
    join(root, id, TASK_FILES.metadata),
    JSON.stringify({ task_id: id, status: 'completed', created_at: '2026-11-01T10:00:00.000Z' }),
  );
}

it('a server whose index and deliveries files are not databases moves them aside, says so, and works', async () => {
  const root = await tempLogsDir();
  await taskFolder(root, 'task-kept1');
  const garbage = Buffer.from(
    'not a database: what a crash in the middle of a write could leave '.repeat(100),
  );
  writeFileSync(join(root, '.index.sqlite'), garbage);
  writeFileSync(join(root, '.deliveries.sqlite'), garbage);
  const provider = await fakeProvider();
  const lines: string[] = [];
  const env = { TASK_LOGS_DIR: root, PORT: '0', ...fakeProviderEnv(provider.url) };
  const server = await startServer(loadConfig({ env }), { log: (line) => lines.push(line) });
  onTestFinished(() => server.close());
  const aside = server.index.setAside!;
  expect(lines).toContain(
    `task index ${join(root, '.index.sqlite')} was corrupt (an OS crash or power cut while it was written?): ` +
      `moved to ${aside}; a new one is built from the task folders`,
  );
  expect(readFileSync(aside)).toEqual(garbage); // kept as it was, for a look later
  const list = await getJson(`${server.url}/api/tasks`);
  expect((list.body as { tasks: { task_id: string }[] }).tasks.map((task) => task.task_id)).toEqual([
    'task-kept1',
  ]);
  const deliveries = join(root, '.deliveries.sqlite');
  const said = lines.filter((line) => line.startsWith('webhook deliveries '));
  expect(said).toHaveLength(1);
  const moved = `${deliveries}.corrupt-${/\.corrupt-(\S+);/.exec(said[0]!)?.[1]}`;
  expect(said[0]).toBe(
    `webhook deliveries ${deliveries} were corrupt (an OS crash or power cut while it was written?): moved to ${moved}; redeliveries of earlier deliveries will make new tasks`,
  );
  expect(readFileSync(moved)).toEqual(garbage);
  // webhooks are claimed in the new file: a redelivery is still one task
  const request = githubRequest(githubComment());
  const first = await freshFetch(`${server.url}/webhooks/github`, request);
  expect(first.status).toBe(202);
  const again = await freshFetch(`${server.url}/webhooks/github`, request);
  expect(await again.json()).toMatchObject({ status: 'duplicate' });
});

it('an index left open by a process that died is checked first: damaged pages are found and the index rebuilt', async () => {
  const root = await tempLogsDir();
  const path = join(root, '.index.sqlite');
  const index = new TaskIndex(path);
  index.upsertMany(
    Array.from({ length: 3000 }, (_, n) => [
      `task-${n}`,
      {
        metadata: { status: 'completed', created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString() },
      },
    ]),
  );
  index.close();
  // pages in the middle of the file overwritten, as a power cut during a checkpoint could leave them; the log beside
  // it says the last process did not close it
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(8192, 0x5a), 0, 8192, 16 * 4096);
  closeSync(fd);
  writeFileSync(`${path}-wal`, '');

  const reopened = new TaskIndex(path);
  expect(reopened.setAside).toBeDefined();
  expect(existsSync(reopened.setAside!)).toBe(true);
  expect(reopened.count()).toBe(0);
  reopened.close();

  // closed cleanly: no log left, so the next open trusts the file without a check
  expect(existsSync(`${path}-wal`)).toBe(false);
  const clean = new TaskIndex(path);
  expect(clean.setAside).toBeUndefined();
  clean.close();
});

it('tasklogs finds the index corrupt too: one line on stderr, the listing comes from the files', async () => {
  const root = await tempLogsDir();
  await taskFolder(root, 'task-cli1');
  writeFileSync(join(root, '.index.sqlite'), 'garbage');
  const listed = tasklogs(root, 'ls');
  expect(listed.code).toBe(0);
  expect(listed.out).toContain('task-cli1');
  expect(listed.err).toMatch(
    /^tasklogs: task index \S+\.index\.sqlite was corrupt \(an OS crash or power cut while it was written\?\): moved to \S+\.index\.sqlite\.corrupt-\S+; a new one is built from the task folders\n$/,
  );
});
