// The task index and the webhook deliveries live in the logs folder by default, where links, FIFOs and stray files
// may appear: a link at either file or at its -wal/-shm is never followed (nothing outside the logs folder is written),
// and no such stray keeps the server from starting. It is moved aside like a corrupt file, and a new file made.
import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { DeliveryStore } from '../../src/intake/delivery-store.ts';
import { corruptIndexLine, TaskIndex } from '../../src/store/task-index.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const metadata = { status: 'completed' as const, created_at: '2026-11-01T10:00:00.000Z' };

it('a link at the index path, dangling or to a database outside, is moved aside, not followed', async () => {
  const root = await tempLogsDir();
  const outside = await tempLogsDir('outside-');
  const path = join(root, '.index.sqlite');
  symlinkSync(join(outside, 'made-through-a-link.sqlite'), path);

  const index = new TaskIndex(path);
  index.upsert('task-a1', { metadata });
  index.close();
  expect(existsSync(join(outside, 'made-through-a-link.sqlite'))).toBe(false);
  expect(lstatSync(path).isFile()).toBe(true);
  expect(lstatSync(index.setAside!).isSymbolicLink()).toBe(true); // the link itself, kept for a look
  expect(corruptIndexLine(index)).toBe(
    `task index ${path} was not a file of its own (${path} is a symbolic link, not followed): ` +
      `moved to ${index.setAside}; a new one is built from the task folders`,
  );

  // a database outside, reached by a hard link: its bytes stay as they were
  const other = join(outside, 'other.sqlite');
  const made = new TaskIndex(other);
  made.close();
  const before = readFileSync(other);
  const root2 = await tempLogsDir();
  linkSync(other, join(root2, '.index.sqlite'));
  const linked = new TaskIndex(join(root2, '.index.sqlite'));
  linked.upsert('task-a2', { metadata });
  linked.close();
  expect(linked.setAside).toBeDefined();
  expect(readFileSync(other)).toEqual(before);
});

it('a link at the log beside the deliveries, or a FIFO in place of the file, does not keep it from opening', async () => {
  const root = await tempLogsDir();
  const outside = await tempLogsDir('outside-');
  const path = join(root, '.deliveries.sqlite');
  new DeliveryStore(path).close();
  symlinkSync(join(outside, 'wal'), `${path}-wal`);
  const store = new DeliveryStore(path);
  expect(store.claim('github', 'delivery-1', 'task-b1')).toEqual({ claimed: true });
  store.close();
  expect(store.setAside).toBeDefined();
  expect(existsSync(join(outside, 'wal'))).toBe(false);

  const root2 = await tempLogsDir();
  const fifo = join(root2, '.deliveries.sqlite');
  execFileSync('mkfifo', [fifo]);
  writeFileSync(join(root2, 'unrelated'), '');
  const fromFifo = new DeliveryStore(fifo);
  expect(fromFifo.claim('github', 'delivery-2', 'task-b2')).toEqual({ claimed: true });
  fromFifo.close();
  expect(lstatSync(fromFifo.setAside!).isFIFO()).toBe(true);
});

it('a link to a database that another process has open is still a link: moved aside, not followed', async () => {
  const root = await tempLogsDir();
  const outside = await tempLogsDir('outside-');
  const held = new TaskIndex(join(outside, 'in-use.sqlite'));
  held.upsert('task-theirs', { metadata });
  symlinkSync(join(outside, 'in-use.sqlite'), join(root, '.index.sqlite'));
  const index = new TaskIndex(join(root, '.index.sqlite'));
  index.upsert('task-ours', { metadata });
  expect(index.setAside).toBeDefined();
  expect(index.get('task-theirs')).toBeUndefined();
  expect(held.get('task-ours')).toBeUndefined();
  index.close();
  held.close();
});
