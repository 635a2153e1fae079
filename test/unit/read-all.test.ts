import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readAll } from '../../src/contract/safe-open.ts';

// readAll serves every small JSON file the API, the CLI, the interrupted-task check and the writer's metadata merge
// read: thousands of metadata.json files of ~1 KB after a crash with a backlog.
describe('readAll', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'read-all-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const readBack = async (size: number) => {
    const path = join(dir, `f${size}`);
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
    await writeFile(path, bytes);
    const handle = await open(path, 'r');
    try {
      const read = await readAll(handle);
      expect(read.equals(bytes)).toBe(true);
    } finally {
      await handle.close();
    }
  };

  it('reads files of every size around its buffer sizes whole', async () => {
    for (const size of [0, 1, 1000, 65_535, 65_536, 65_537, (1 << 20) + 65_536, (1 << 20) + 65_537, 3 << 20])
      await readBack(size);
  });

  it('allocates no second buffer to learn that a small file has ended', async () => {
    const path = join(dir, 'metadata.json');
    await writeFile(
      path,
      `${JSON.stringify({ task_id: 'task-x', status: 'queued', pad: 'x'.repeat(900) })}\n`,
    );
    const handle = await open(path, 'r');
    const allocated: number[] = [];
    const allocUnsafe = Buffer.allocUnsafe.bind(Buffer);
    const spy = vi.spyOn(Buffer, 'allocUnsafe').mockImplementation((size: number) => {
      allocated.push(size);
      return allocUnsafe(size);
    });
    try {
      expect((await readAll(handle)).toString('utf8')).toContain('"status":"queued"');
    } finally {
      spy.mockRestore();
      await handle.close();
    }
    // was 64 KiB, then 1 MiB for the read that returned 0 bytes (garbage the GC had to collect, per file read)
    expect(allocated.reduce((sum, size) => sum + size, 0)).toBeLessThanOrEqual(64 * 1024);
  });
});
