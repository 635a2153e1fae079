// `npm run torture [-- KILLS] [--only kill|faults|append] [--parallel N] [--minutes M] [--lines N]`: the long
// versions of the reliability tests, with a summary. KILLS (default 200) kill -9 rounds of a writing process, N
// children at a time (default 3), no new one after M minutes; the I/O fault sweep; 4 processes x LINES appends to
// one task.
import { parseArgs } from 'node:util';
import { appendTorture } from './append-torture.ts';
import { faultSweep } from './fault-sweep.ts';
import { describeKillTorture, killTorture } from './kill-torture.ts';
import { maintenanceFaultSweep } from './maintenance-fault-sweep.ts';

const USAGE =
  'usage: npm run torture [-- KILLS] [--only kill|faults|append] [--parallel N] [--minutes M] [--lines N]';
const usageError = (message: string): never => {
  process.stderr.write(`torture: ${message}\n${USAGE}\n`);
  process.exit(2);
};
let parsed: ReturnType<typeof parseOptions>;
const parseOptions = () =>
  parseArgs({
    allowPositionals: true,
    options: {
      lines: { type: 'string', default: '50000' },
      only: { type: 'string' },
      parallel: { type: 'string', default: '3' },
      minutes: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
try {
  parsed = parseOptions();
} catch (error) {
  parsed = usageError((error as Error).message);
}
const { positionals, values } = parsed;
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const kills = Number(positionals[0] ?? 200);
const only = values.only;
if (!Number.isInteger(kills) || kills < 0 || positionals.length > 1)
  usageError(`KILLS must be one whole number`);
if (only !== undefined && !['kill', 'faults', 'append'].includes(only))
  usageError(`--only takes kill, faults or append`);
let failed = 0;
const say = (line: string) => process.stdout.write(`${line}\n`);

if (only === undefined || only === 'kill') {
  const summary = await killTorture({
    kills,
    parallel: Number(values.parallel),
    ...(values.minutes === undefined ? {} : { until: Date.now() + Number(values.minutes) * 60_000 }),
    onKill: (done, s) => {
      if (done % 50 === 0 || done === kills)
        process.stderr.write(`\rkill -9: ${done}/${kills}, ${s.failures.length} failures`);
    },
  });
  process.stderr.write('\n');
  say(describeKillTorture(summary));
  for (const failure of summary.failures.slice(0, 20)) say(`  FAIL ${failure}`);
  failed += summary.failures.length;
}
if (only === undefined || only === 'faults') {
  const sweep = await faultSweep();
  say(
    `I/O fault sweep: ${sweep.scenarios} scenarios (${sweep.faultsInjected} faults injected), ` +
      `${sweep.failures.length} failures`,
  );
  for (const failure of sweep.failures.slice(0, 20)) say(`  FAIL ${failure}`);
  failed += sweep.failures.length;
  const started = Date.now();
  const upkeep = await maintenanceFaultSweep();
  say(
    `I/O fault sweep of maintenance (compress, prune, verify --repair): ${upkeep.scenarios} scenarios ` +
      `(${upkeep.faultsInjected} faults injected = ${upkeep.reported} reported + ${upkeep.absorbed} absorbed by design ` +
      `+ ${upkeep.afterReported} later failures of a persistent fault already reported), ` +
      `${upkeep.duplicatesUntilNextRun} left compressed lines readable twice until the next run, ` +
      `${upkeep.failures.length} failures, ${Math.round((Date.now() - started) / 1000)} s`,
  );
  for (const failure of upkeep.failures.slice(0, 20)) say(`  FAIL ${failure}`);
  failed += upkeep.failures.length;
}
if (only === undefined || only === 'append') {
  const lines = Number(values.lines);
  const result = await appendTorture({ processes: 4, linesEach: lines });
  say(
    `concurrent appends: 4 processes x ${lines} lines (10 B - 64 KiB): ${result.lines} whole lines ` +
      `(${(result.bytes / 2 ** 20).toFixed(0)} MiB), ${result.failures.length} failures`,
  );
  for (const failure of result.failures.slice(0, 20)) say(`  FAIL ${failure}`);
  failed += result.failures.length;
}
process.exitCode = failed === 0 ? 0 : 1;
