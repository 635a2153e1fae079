import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DeliveryStore, deliveriesPathFor } from '../../src/intake/delivery-store.ts';
import { fakeProvider } from '../helpers/fake-provider.ts';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { testServer } from '../helpers/server.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { fakeProviderEnv, githubComment, githubRequest } from '../helpers/webhook-requests.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'src/cli/main.ts');
const PATH = `${join(ROOT, 'node_modules/.bin')}${delimiter}${process.env.PATH}`;
const execFileAsync = promisify(execFile);

describe('tasklogs reindex', () => {
  it('on a live server, rebuilds the index in place and keeps the webhook deliveries: a redelivery is still one task', async () => {
    const dir = await tempLogsDir();
    const provider = await fakeProvider();
    const server = await testServer(dir, {
      ...fakeProviderEnv(provider.url),
    });
    const request = githubRequest(githubComment());
    const first = await freshFetch(`${server.url}/webhooks/github`, request);
    const { task_id } = (await first.json()) as { task_id: string };
    expect(task_id).toMatch(/^task-/);
    const indexPath = join(dir, '.index.sqlite');
    const inode = statSync(indexPath).ino;

    // run without blocking this process: the server (here) and fetch's pooled connection must keep their timers. A
    // spawnSync of more than ~5 s (a loaded machine) let the server's keep-alive timeout close the connection just
    // as the next fetch reused it: ECONNRESET
    const run = await execFileAsync(BIN, ['reindex'], {
      env: { ...process.env, PATH, TASK_LOGS_DIR: dir, NO_COLOR: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^indexed 1 task /);
    expect(statSync(indexPath).ino).toBe(inode); // the file the server holds open is the one rebuilt

    const again = await freshFetch(
      `${server.url}/webhooks/github`,
      githubRequest(githubComment(), { delivery: request.delivery }),
    );
    expect(await again.json()).toEqual({ task_id, status: 'duplicate' });
    const listed = (await (await freshFetch(`${server.url}/api/tasks`)).json()) as {
      tasks: { task_id: string }[];
    };
    expect(listed.tasks.map((t) => t.task_id)).toEqual([task_id]);
  });
});

describe('DeliveryStore', () => {
  it('takes over the claims of the deliveries table the task index used to hold, once', async () => {
    const dir = await tempLogsDir();
    const indexPath = join(dir, '.index.sqlite');
    const old = new DeliveryStore(indexPath); // the old layout: the table inside the index file
    expect(old.claim('github', 'd-1', 'task-one')).toEqual({ claimed: true });
    expect(old.claim('github', 'd-2', 'task-two')).toEqual({ claimed: true });
    old.close();

    const store = new DeliveryStore(deliveriesPathFor(indexPath), { migrateFrom: indexPath });
    expect(store.claim('github', 'd-1', 'task-new')).toMatchObject({ claimed: false, taskId: 'task-one' });
    store.release('github', 'd-2', 'task-two');
    store.close();
    // a claim released after the migration does not come back from the old table
    const reopened = new DeliveryStore(deliveriesPathFor(indexPath), { migrateFrom: indexPath });
    expect(reopened.claim('github', 'd-2', 'task-three')).toEqual({ claimed: true });
    reopened.close();
  });

  it("forgets the deliveries whose tasks are past retention, at the server's maintenance: the old id makes a task again", async () => {
    const dir = await tempLogsDir();
    const path = deliveriesPathFor(join(dir, '.index.sqlite'));
    const store = new DeliveryStore(path);
    expect(store.claim('github', 'd-old', 'task-old')).toEqual({ claimed: true });
    expect(store.claim('github', 'd-recent', 'task-recent')).toEqual({ claimed: true });
    // the cut-off is a time: claims before it are forgotten, the others kept
    expect(store.forgetBefore(new Date('2000-01-01'))).toBe(0);
    store.close();
    const db = new DatabaseSync(path);
    db.prepare(
      "UPDATE deliveries SET created_at = '2020-01-01T00:00:00.000Z' WHERE delivery_id = 'd-old'",
    ).run();
    db.close();

    const provider = await fakeProvider();
    const server = await testServer(dir, {
      ...fakeProviderEnv(provider.url),
      TASK_LOGS_RETENTION_DAYS: '30',
    });
    // the maintenance at start forgets d-old (over 30 days old) and keeps d-recent
    const kept = () => {
      const view = new DatabaseSync(path, { readOnly: true });
      try {
        return (
          view.prepare('SELECT delivery_id FROM deliveries ORDER BY delivery_id').all() as {
            delivery_id: string;
          }[]
        ).map((row) => row.delivery_id);
      } finally {
        view.close();
      }
    };
    await expect.poll(kept).toEqual(['d-recent']);
    const again = await freshFetch(
      `${server.url}/webhooks/github`,
      githubRequest(githubComment(), { delivery: 'd-old' }),
    );
    expect(again.status).toBe(202);
    const duplicate = await freshFetch(
      `${server.url}/webhooks/github`,
      githubRequest(githubComment('@agent review again'), { delivery: 'd-recent' }),
    );
    expect(await duplicate.json()).toMatchObject({ task_id: 'task-recent', status: 'duplicate' });
  });
});
