// A small tmpfs of our own for disk-full and read-only tests. Mounting needs root; where it is refused the caller
// falls back to injecting the error at the fs edge, and says which one it used.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

export async function mountTmpfs(size: string): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'task-logs-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch {
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  onTestFinished(async () => {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

export function remount(dir: string, mode: 'ro' | 'rw'): void {
  execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' });
}
