// `npm run bench`: runs every benchmark in its own process, one after another, and prints one line each.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const here = import.meta.dirname;
const only = process.argv[2];
// "one core" targets run pinned to one CPU where taskset exists
const PINNED = new Set(['lifecycles.bench.ts']);
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

let failed = 0;
for (const file of readdirSync(here)
  .filter((name) => name.endsWith('.bench.ts'))
  .sort()) {
  if (only && !file.includes(only)) continue;
  const args = ['--expose-gc', join(here, file)];
  const pinned = PINNED.has(file) && hasTaskset;
  const result = pinned
    ? spawnSync('taskset', ['-c', '0', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const out = result.stdout.toString().trimEnd();
  process.stdout.write(`${out}${pinned ? '  [pinned to one core]' : ''}\n`);
  if (result.status !== 0) {
    failed++;
    process.stderr.write(`${file} failed with exit code ${result.status}\n`);
  }
}
process.exit(failed === 0 ? 0 : 1);
