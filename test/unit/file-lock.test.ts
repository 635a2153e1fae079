// The metadata lock: a lock file whose owner line is not whole (a process died between creating it and writing its
// line) is broken once it is old enough, and a waiter waits longer than that, so such a lock never costs a write.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withFileLock } from '../../exporters/file-lock.ts';
import { nodeFileSystem } from '../../exporters/file-system.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

describe('withFileLock', () => {
  it('takes a lock whose torn owner line was left just now, before the waiter gives up', async () => {
    const dir = await tempLogsDir();
    const lock = join(dir, '.metadata.lock');
    writeFileSync(lock, 'host 12'); // no newline: its writer died mid-line
    await expect(withFileLock(nodeFileSystem, lock, async () => 'written')).resolves.toBe('written');
  });

  it('takes a free lock at once and releases it', async () => {
    const dir = await tempLogsDir();
    const lock = join(dir, '.metadata.lock');
    await withFileLock(nodeFileSystem, lock, async () => undefined);
    await expect(withFileLock(nodeFileSystem, lock, async () => 'again')).resolves.toBe('again');
  });
});
