// `npm run bench [-- --quick] [name]`: runs every benchmark in its own process, one after another, and prints each
// one's result lines with its targets (PASS or MISS); the last line counts them. Exit 1 only when a benchmark fails
// to run: a MISS is a finding, not a crash.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const here = import.meta.dirname;
const BENCHES = readdirSync(here)
  .filter((name) => name.endsWith('.bench.ts'))
  .sort();
const USAGE = `usage: npm run bench [-- --quick] [NAME]   (NAME: part of one of ${BENCHES.map((b) => b.replace('.bench.ts', '')).join(', ')})`;
let parsed: ReturnType<
  typeof parseArgs<{
    options: { quick: { type: 'boolean' }; help: { type: 'boolean' } };
    allowPositionals: true;
  }>
>;
try {
  parsed = parseArgs({
    options: { quick: { type: 'boolean' }, help: { type: 'boolean' } },
    allowPositionals: true,
  });
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
if (parsed.values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const quick = parsed.values.quick === true;
const only = parsed.positionals[0];
// a mistyped name would otherwise run nothing and report "0 targets" as if all were well
if (parsed.positionals.length > 1 || (only !== undefined && !BENCHES.some((file) => file.includes(only)))) {
  process.stderr.write(
    `bench: no benchmark named ${JSON.stringify(parsed.positionals.join(' '))}\n${USAGE}\n`,
  );
  process.exit(2);
}
// "one core" targets run pinned to one CPU where taskset exists
const PINNED = new Set(['lifecycles.bench.ts', 'caller-cost.bench.ts', 'pipeline.bench.ts']);
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
// Node flags a benchmark runs with besides --expose-gc: the caller's cost is measured in a process set up as ours
// are (`npm start` and `npm run worker`, where AgentRun's callers live), with 8 MB semi-spaces
const NODE_FLAGS: Record<string, string[]> = { 'caller-cost.bench.ts': ['--max-semi-space-size=8'] };
const env = { ...process.env, ...(quick ? { BENCH_QUICK: '1' } : {}) };

let failed = 0;
let pass = 0;
let miss = 0;
const started = performance.now();
for (const file of BENCHES) {
  if (only && !file.includes(only)) continue;
  const nodeArgs = ['--expose-gc', ...(NODE_FLAGS[file] ?? []), join(here, file)];
  const pinned = PINNED.has(file) && hasTaskset;
  const options = { stdio: ['ignore', 'pipe', 'inherit'] as ('ignore' | 'pipe' | 'inherit')[], env };
  const result = pinned
    ? spawnSync('taskset', ['-c', '0', process.execPath, ...nodeArgs], options)
    : spawnSync(process.execPath, nodeArgs, options);
  const out = (result.stdout?.toString() ?? '').trimEnd();
  process.stdout.write(`== ${file}${pinned ? ' [pinned to one core]' : ''}\n${out}\n`);
  for (const line of out.split('\n')) {
    if (/^\s+target .* PASS$/.test(line)) pass++;
    if (/^\s+target .* MISS$/.test(line)) miss++;
  }
  if (result.status !== 0) {
    failed++;
    process.stderr.write(`${file} failed with exit code ${result.status}\n`);
  }
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `\n${pass} targets PASS, ${miss} MISS, ${failed} benchmarks failed to run (${seconds.toFixed(0)} s${quick ? ', quick mode: figures are rough' : ''})\n`,
);
process.exit(failed === 0 ? 0 : 1);
