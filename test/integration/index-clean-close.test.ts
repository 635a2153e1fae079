// The index and the deliveries are written without fsync, and a file left open by a process that died is checked at
// the next open (its -wal is still there). A clean close checkpoints the -wal into the file and deletes it: that last
// checkpoint is synced, or a power cut soon after a clean stop could leave a damaged file with no -wal, never checked.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { tempLogsDir } from '../helpers/temp-dir.ts';

// strace installed and allowed to trace here (a container without ptrace: skipped)
const strace = spawnSync('strace', ['-f', '-o', '/dev/null', 'true']).status === 0;
const NODE = process.execPath;
const FIXTURE = join(import.meta.dirname, '../fixtures/processes/close-index.ts');

it.skipIf(!strace)('a clean close syncs the file before it deletes the -wal (seen with strace)', async () => {
  const root = await tempLogsDir();
  const index = join(root, '.index.sqlite');
  const deliveries = join(root, '.deliveries.sqlite');
  // made first, so the traced run only opens, writes and closes them
  spawnSync(NODE, [FIXTURE, index, deliveries]);
  const trace = join(root, 'trace');
  const run = spawnSync('strace', [
    '-f',
    '--seccomp-bpf',
    '-y',
    '-e',
    'trace=fsync,fdatasync,unlink',
    '-o',
    trace,
    NODE,
    FIXTURE,
    index,
    deliveries,
  ]);
  expect(run.status, String(run.stderr)).toBe(0);
  const calls = readFileSync(trace, 'utf8')
    .split('\n')
    .map((line) => /(fsync|fdatasync|unlink)\((?:\d+<)?([^>),]+)/.exec(line)?.slice(1, 3).join(' '))
    .filter((call): call is string => call?.includes(root) === true);
  for (const file of [index, deliveries]) {
    const unlinked = calls.indexOf(`unlink "${file}-wal"`);
    expect(unlinked, `${file}-wal deleted at close`).toBeGreaterThan(-1);
    const synced = calls.findIndex((call) => /^f(data)?sync /.test(call) && call.endsWith(` ${file}`));
    expect(synced, `${file} synced before its -wal is deleted: ${calls.join('; ')}`).toBeGreaterThan(-1);
    expect(synced).toBeLessThan(unlinked);
  }
});
