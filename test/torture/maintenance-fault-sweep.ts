// The I/O fault sweep for maintenance (compress, prune, verify --repair), in the style of SQLite's ioerr tests: a
// clean run counts the file operations a scenario makes; then for every N, each errno (and a short write), once
// (transient) or from then on (persistent), the Nth operation fails (test/helpers/fs-faults.ts, at Node's file API).
// Each run checks: nothing thrown into the caller; what readers see is exactly what was there (a failed compress
// leaves the lines readable once each, a failed prune leaves a task whole or gone, never half, a failed repair cuts
// at the torn line's first byte or not at all); each reported error is an injected fault (never more reported than
// injected); every fault is accounted for, by its number: reported, or absorbed at a place ABSORBED_BY_DESIGN names
// (under a persistent fault, failures after one was reported are its consequences); and once the fault clears, the
// next run does the whole job.
import { mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { TASK_FILES, TOMBSTONE_DIR } from '../../src/contract/task-files.ts';
import { compressTasks } from '../../src/ops/compression.ts';
import { pruneTasks } from '../../src/ops/retention.ts';
import { verifyTasks } from '../../src/ops/verify.ts';
import {
  FAULT_CODES,
  type FaultCode,
  type FaultMode,
  type FsFaults,
  type InjectedFault,
  installFsFaults,
} from '../helpers/fs-faults.ts';

const DAY = 86_400_000;
const JSONL = [TASK_FILES.webhookFlow, TASK_FILES.agentOutput] as const;

/** every file of every task folder (and hidden entries at the top), by path relative to the root */
type Snapshot = Map<string, Buffer>;

interface Run {
  /** error texts the operation reported (in its result) */
  reported: string[];
  /** verify's problems, all of them (it names an unreadable file's errno, not the error's message) */
  problems?: string[];
}

/**
 * Faults a run absorbs by design (not reported, nothing a reader sees changed), by scenario and by the maintenance
 * function whose call failed (the first src/ops frame). Anything else must be reported.
 */
const ABSORBED_BY_DESIGN: readonly (readonly [
  scenario: string,
  site: string,
  why: string,
  codes?: readonly FaultCode[],
])[] = [
  [
    'repair',
    'src/ops/verify.ts open',
    'a file that cannot be opened for writing is opened read-only: checked, and not cut this run',
    ['EACCES'],
  ],
  [
    'compress',
    'src/ops/compression.ts dropPlainCopy',
    'the plain copy after the .gz is in place: tried again, then emptied',
  ],
  [
    'compress',
    'src/ops/task-lock.ts lockHeld',
    'a lock that cannot be checked counts as held: the task waits for the next run',
  ],
  [
    'repair',
    'src/ops/task-lock.ts lockHeld',
    'a lock that cannot be checked counts as held: the task is checked, not cut',
  ],
  [
    'prune',
    'src/ops/task-folders.ts folderSize',
    'sizes are best effort: a folder that cannot be opened counts 0 bytes this run',
  ],
  [
    'prune',
    'src/ops/task-folders.ts sizeOf',
    'sizes are best effort: a folder that cannot be listed counts 0 bytes this run',
  ],
  [
    'prune',
    'src/ops/task-folders.ts <anonymous>',
    'sizes are best effort: a file that cannot be measured counts 0 bytes this run',
  ],
  [
    'prune',
    'src/ops/retention.ts removeLeftoverTrash',
    "an earlier run's trash is looked for again next run",
  ],
];

/** the first maintenance (src/ops) frame of a fault's call chain, else its first frame */
function decisiveSite(chain: string): string {
  const frames = chain.split(' < ');
  return frames.find((f) => f.startsWith('src/ops/')) ?? frames[0] ?? '?';
}

interface MaintenanceScenario {
  name: string;
  /** lays out the logs folder (plain fs, before any fault is armed) */
  setup: (root: string) => void;
  run: (root: string) => Promise<Run>;
  /** what may be wrong after a run with a fault; `failed`: the operations that failed */
  checkDuring: (root: string, before: Snapshot, failed: string[]) => string[];
  /** what must hold once a clean run followed */
  checkAfter: (root: string, before: Snapshot) => string[];
  /** whether the run reported this fault without its number (verify's problems name the errno only) */
  reportsAsProblem?: (fault: InjectedFault, run: Run, code: FaultCode) => boolean;
}

const line = (fields: Record<string, unknown>) => `${JSON.stringify(fields)}\n`;

function writeTask(
  root: string,
  id: string,
  options: { status: string; endedDaysAgo?: number; outputLines?: number; torn?: boolean },
): void {
  const dir = join(root, id);
  mkdirSync(dir, { recursive: true });
  const ended =
    options.endedDaysAgo === undefined
      ? undefined
      : new Date(Date.now() - options.endedDaysAgo * DAY).toISOString();
  const created = new Date(Date.now() - ((options.endedDaysAgo ?? 0) + 1) * DAY).toISOString();
  writeFileSync(
    join(dir, TASK_FILES.metadata),
    JSON.stringify({
      task_id: id,
      source: 'webhook',
      provider: 'github',
      created_at: created,
      started_at: created,
      status: options.status,
      assigned_agent: 'brain',
      agent_type: 'claude',
      model: 'm',
      ...(ended ? { completed_at: ended, updated_at: ended } : {}),
    }),
  );
  writeFileSync(join(dir, TASK_FILES.input), JSON.stringify({ message: `input of ${id}` }));
  let flow = '';
  for (const stage of ['received', 'validation', 'task_created'])
    flow += line({ timestamp: created, stage, trace_id: id });
  writeFileSync(join(dir, TASK_FILES.webhookFlow), flow);
  let output = '';
  for (let i = 0; i < (options.outputLines ?? 12); i++)
    output += line({ timestamp: created, type: 'text', content: `${id} line ${i} ${'z'.repeat(i * 97)}` });
  writeFileSync(join(dir, TASK_FILES.agentOutput), output);
  if (ended)
    writeFileSync(
      join(dir, TASK_FILES.finalResult),
      JSON.stringify({
        success: true,
        result: 'ok',
        completed_at: ended,
        metrics: { cost_usd: 0, input_tokens: 0, output_tokens: 0, duration_seconds: 1 },
      }),
    );
}

function snapshot(root: string): Snapshot {
  const files: Snapshot = new Map();
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const name of readdirSync(join(root, entry.name))) {
      const path = join(entry.name, name);
      try {
        files.set(path, readFileSync(join(root, path)));
      } catch {
        // a folder inside (none in a task) or a file gone meanwhile
      }
    }
  }
  return files;
}

/** The lines a reader sees in a task's JSONL file: its .gz, then the plain file. */
function readerView(root: string, id: string, file: string): string {
  const dir = join(root, id);
  let text = '';
  try {
    text += gunzipSync(readFileSync(join(dir, `${file}.gz`))).toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  try {
    text += readFileSync(join(dir, file), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return text;
}

/** task folders a reader would take as tasks (hidden trash and tombstones are not) */
function visibleTasks(root: string): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

function filesOf(before: Snapshot, id: string): [string, Buffer][] {
  return [...before].filter(([path]) => path.startsWith(`${id}/`));
}

/** a task folder exactly as it was, hidden temp files aside */
function sameTask(root: string, before: Snapshot, id: string): string[] {
  const problems: string[] = [];
  const now = readdirSync(join(root, id)).filter((n) => !n.startsWith('.'));
  const was = filesOf(before, id)
    .map(([path]) => path.slice(id.length + 1))
    .filter((n) => !n.startsWith('.'));
  if (now.sort().join() !== was.sort().join())
    problems.push(`${id}: files ${now.join(',')} where ${was.join(',')} were`);
  for (const [path, bytes] of filesOf(before, id)) {
    let current: Buffer | undefined;
    try {
      current = readFileSync(join(root, path));
    } catch {
      continue; // named above
    }
    if (!current.equals(bytes)) problems.push(`${path}: changed`);
  }
  return problems;
}

const COMPRESS: MaintenanceScenario = {
  name: 'compress',
  setup: (root) => {
    writeTask(root, 'task-old', { status: 'completed', endedDaysAgo: 10 });
    // compressed before, then a late line re-created the plain file: the run merges it into the .gz
    writeTask(root, 'task-merged', { status: 'failed', endedDaysAgo: 9, outputLines: 8 });
    const output = join(root, 'task-merged', TASK_FILES.agentOutput);
    const all = readFileSync(output, 'utf8').split(/(?<=\n)/);
    writeFileSync(`${output}.gz`, gzipSync(all.slice(0, 5).join('')));
    writeFileSync(output, all.slice(5).join(''));
    writeTask(root, 'task-recent', { status: 'completed', endedDaysAgo: 1 });
  },
  run: async (root) => ({
    reported: (await compressTasks({ root, afterDays: 7 })).errors.map((e) => e.error),
  }),
  checkDuring: (root, before, failed) => {
    const problems = sameTask(root, before, 'task-recent');
    for (const id of ['task-old', 'task-merged']) {
      for (const file of JSONL) {
        const want = expectedView(before, id, file);
        let got: string;
        try {
          got = readerView(root, id, file);
        } catch (error) {
          problems.push(`${id}/${file}: unreadable (${(error as Error).message})`);
          continue;
        }
        if (got === want) continue;
        // the one state a fault can leave that is not the old or the new: the .gz renamed into place holds the
        // plain lines, and the plain file could not be removed or emptied (every later call failing); readers see
        // those lines twice until the next run, which finds the .gz ending with them and removes the plain copy
        const plain = readPlain(root, id, file);
        const doubled = plain !== undefined && got === want + plain && failed.length > 0;
        if (doubled) duplicateStates++;
        else problems.push(`${id}/${file}: readers see ${got.length} bytes, ${want.length} expected`);
      }
    }
    return problems;
  },
  checkAfter: (root, before) => {
    const problems = sameTask(root, before, 'task-recent');
    for (const id of ['task-old', 'task-merged']) {
      for (const file of JSONL) {
        if (readPlain(root, id, file) !== undefined)
          problems.push(`${id}/${file}: still plain after a clean run`);
        if (readerView(root, id, file) !== expectedView(before, id, file))
          problems.push(`${id}/${file}: lines differ after a clean run`);
      }
    }
    return problems;
  },
};

let duplicateStates = 0;

function readPlain(root: string, id: string, file: string): string | undefined {
  try {
    return readFileSync(join(root, id, file), 'utf8');
  } catch {
    return undefined;
  }
}

function expectedView(before: Snapshot, id: string, file: string): string {
  const gz = before.get(join(id, `${file}.gz`));
  return (gz ? gunzipSync(gz).toString('utf8') : '') + (before.get(join(id, file))?.toString('utf8') ?? '');
}

const PRUNE: MaintenanceScenario = {
  name: 'prune',
  setup: (root) => {
    writeTask(root, 'task-expired-a', { status: 'completed', endedDaysAgo: 40 });
    writeTask(root, 'task-expired-b', { status: 'failed', endedDaysAgo: 35 });
    writeTask(root, 'task-kept', { status: 'completed', endedDaysAgo: 2 });
    writeTask(root, 'task-running', { status: 'running' });
    // trash a killed run left, and a tombstone old enough to go
    writeTask(root, '.trash~task-older-0a1b2c3d', { status: 'completed', endedDaysAgo: 50 });
    mkdirSync(join(root, TOMBSTONE_DIR));
    const stone = join(root, TOMBSTONE_DIR, 'task-long-gone');
    writeFileSync(stone, '');
    const old = new Date(Date.now() - 3 * DAY);
    utimesSync(stone, old, old);
  },
  run: async (root) => ({
    reported: (await pruneTasks({ root, retentionDays: 30 })).errors.map((e) => e.error),
  }),
  checkDuring: (root, before) => {
    const problems: string[] = [];
    const visible = visibleTasks(root);
    for (const id of ['task-kept', 'task-running'])
      if (!visible.includes(id)) problems.push(`${id}: deleted`);
    // every task readers still see is whole: a deletion is all or nothing for them
    for (const id of visible) {
      if (!filesOf(before, id).length) problems.push(`${id}: a folder that was not there`);
      else problems.push(...sameTask(root, before, id));
    }
    return problems;
  },
  checkAfter: (root, before) => {
    const problems: string[] = [];
    const visible = visibleTasks(root);
    if (visible.join() !== 'task-kept,task-running')
      problems.push(`tasks left after a clean run: ${visible.join(',')}`);
    for (const id of visible) problems.push(...sameTask(root, before, id));
    const trash = readdirSync(root).filter((n) => n.startsWith('.trash~'));
    if (trash.length > 0) problems.push(`trash left after a clean run: ${trash.join(',')}`);
    for (const id of ['task-expired-a', 'task-expired-b'])
      if (!readdirSync(join(root, TOMBSTONE_DIR)).includes(id))
        problems.push(`${id}: deleted without a tombstone`);
    return problems;
  },
};

// the torn last line of a finished task, after a line with bytes that are not UTF-8 (a cut computed from decoded
// text would land in the wrong place)
const TORN_TAIL = '{"timestamp":"2026-01-0';

const REPAIR: MaintenanceScenario = {
  name: 'repair',
  setup: (root) => {
    writeTask(root, 'task-torn', { status: 'completed', endedDaysAgo: 3 });
    const output = join(root, 'task-torn', TASK_FILES.agentOutput);
    const bad = Buffer.concat([
      Buffer.from('{"timestamp":"2026-01-01T00:00:00.000Z","type":"text","content":"caf'),
      Buffer.from([0xc3, 0xff, 0xfe]),
      Buffer.from('"}\n'),
    ]);
    writeFileSync(output, Buffer.concat([readFileSync(output), bad, Buffer.from(TORN_TAIL)]));
    // still being written: its torn line may be an append in progress and is never cut
    writeTask(root, 'task-writing', { status: 'running' });
    writeFileSync(join(root, 'task-writing', TASK_FILES.agentOutput), TORN_TAIL, { flag: 'a' });
    writeTask(root, 'task-fine', { status: 'completed', endedDaysAgo: 3 });
  },
  run: async (root) => {
    const result = await verifyTasks({ root, repair: true });
    const problems = result.broken.flatMap((b) => b.problems);
    return { reported: problems.filter((p) => p.includes('injected fault')), problems };
  },
  reportsAsProblem: (fault, run, code) =>
    decisiveSite(fault.site).startsWith('src/ops/verify.ts') &&
    (run.problems ?? []).some((p) => p.includes(`(${code === 'SHORT_WRITE' ? 'ENOSPC' : code})`)),
  checkDuring: (root, before) => {
    const problems = [...sameTask(root, before, 'task-writing'), ...sameTask(root, before, 'task-fine')];
    const path = join('task-torn', TASK_FILES.agentOutput);
    const was = before.get(path)!;
    const now = readFileSync(join(root, path));
    const cut = was.subarray(0, was.length - TORN_TAIL.length);
    if (!now.equals(was) && !now.equals(cut))
      problems.push(`${path}: ${now.length} bytes, neither ${was.length} nor the cut ${cut.length}`);
    for (const [file, bytes] of filesOf(before, 'task-torn'))
      if (file !== path && !readFileSync(join(root, file)).equals(bytes)) problems.push(`${file}: changed`);
    return problems;
  },
  checkAfter: (root, before) => {
    const problems = [...sameTask(root, before, 'task-writing'), ...sameTask(root, before, 'task-fine')];
    const path = join('task-torn', TASK_FILES.agentOutput);
    const was = before.get(path)!;
    if (!readFileSync(join(root, path)).equals(was.subarray(0, was.length - TORN_TAIL.length)))
      problems.push(`${path}: not cut at the torn line's first byte after a clean run`);
    return problems;
  },
};

export const MAINTENANCE_SCENARIOS = [COMPRESS, PRUNE, REPAIR];

export interface MaintenanceSweepResult {
  scenarios: number;
  faultsInjected: number;
  /** faults the operation reported in its result */
  reported: number;
  /** faults that changed nothing a reader sees and were not reported (a task read as unfinished and left for the
   * next run, a temp file's cleanup that failed) */
  absorbed: number;
  /** under a persistent fault, failures after one was reported (not accounted one by one) */
  afterReported: number;
  /** the absorbed faults by the product function whose call failed (`<file> <function>`) */
  absorbedAt: Record<string, number>;
  /** runs that left a compressed file's lines readable twice until the next run (see COMPRESS.checkDuring) */
  duplicatesUntilNextRun: number;
  failures: string[];
}

export interface MaintenanceSweepOptions {
  codes?: readonly FaultCode[];
  modes?: readonly FaultMode[];
  scenarios?: readonly string[];
  /** a sample for npm test: every `sample`-th operation only, with one code and mode each, taken in turn */
  sample?: number;
}

export async function maintenanceFaultSweep(
  options: MaintenanceSweepOptions = {},
): Promise<MaintenanceSweepResult> {
  const faults = await installFsFaults();
  duplicateStates = 0;
  const result: MaintenanceSweepResult = {
    scenarios: 0,
    faultsInjected: 0,
    reported: 0,
    absorbed: 0,
    afterReported: 0,
    absorbedAt: {},
    duplicatesUntilNextRun: 0,
    failures: [],
  };
  try {
    for (const scenario of MAINTENANCE_SCENARIOS) {
      if (options.scenarios && !options.scenarios.includes(scenario.name)) continue;
      const total = await countOps(faults, scenario, result.failures);
      const codes = options.codes ?? FAULT_CODES;
      const modes = options.modes ?? (['transient', 'persistent'] as const);
      const plans: { code: FaultCode; mode: FaultMode }[] = codes.flatMap((code) =>
        modes.map((mode) => ({ code, mode })),
      );
      const step = options.sample ?? 1;
      for (let at = 1, turn = 0; at <= total; at += step, turn++) {
        for (const { code, mode } of step === 1 ? plans : [plans[turn % plans.length]!]) {
          await runOne(faults, scenario, { at, total, code, mode }, result);
          result.scenarios++;
        }
      }
    }
  } finally {
    faults.restore();
  }
  result.duplicatesUntilNextRun = duplicateStates;
  return result;
}

async function withRoot<T>(fn: (root: string) => Promise<T>): Promise<T> {
  const root = await mkdtemp(join(tmpdir(), 'task-logs-mfaults-'));
  try {
    return await fn(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function countOps(
  faults: FsFaults,
  scenario: MaintenanceScenario,
  failures: string[],
): Promise<number> {
  return withRoot(async (root) => {
    scenario.setup(root);
    const before = snapshot(root);
    faults.arm(Number.POSITIVE_INFINITY, 'EIO', 'transient');
    let run: Run;
    try {
      run = await scenario.run(root);
    } finally {
      faults.clear();
    }
    const ops = faults.ops();
    if (run.reported.length > 0)
      failures.push(`${scenario.name}: errors with no fault: ${run.reported.join('; ')}`);
    for (const problem of scenario.checkAfter(root, before))
      failures.push(`${scenario.name}, no fault: ${problem}`);
    return ops;
  });
}

async function runOne(
  faults: FsFaults,
  scenario: MaintenanceScenario,
  plan: { at: number; total: number; code: FaultCode; mode: FaultMode },
  result: MaintenanceSweepResult,
): Promise<void> {
  const label = `${scenario.name}, op ${plan.at}/${plan.total}, ${plan.code}, ${plan.mode}`;
  const fail = (problem: string) => result.failures.push(`${label}: ${problem}`);
  await withRoot(async (root) => {
    scenario.setup(root);
    const before = snapshot(root);
    faults.arm(plan.at, plan.code, plan.mode);
    let run: Run | undefined;
    try {
      run = await scenario.run(root);
    } catch (error) {
      fail(`threw ${String(error)}`);
    } finally {
      faults.clear();
    }
    const failed = [...faults.failed()];
    result.faultsInjected += failed.length;
    if (run !== undefined) {
      const injected = run.reported.filter((e) => e.includes('injected fault'));
      const other = run.reported.filter((e) => !e.includes('injected fault'));
      if (other.length > 0) fail(`errors that are not the injected fault: ${other.join('; ')}`);
      if (injected.length > failed.length)
        fail(`${injected.length} errors reported for ${failed.length} faults (${failed.join(', ')})`);
      // each fault accounted for: reported by its number (or, by verify, as a problem naming its errno), or absorbed
      // where the design says so (ABSORBED_BY_DESIGN); a transient fault that is neither is a silent loss of an error
      const reportedIds = new Set(
        injected.flatMap((e) => [...e.matchAll(/injected fault #(\d+)/g)].map((m) => Number(m[1]))),
      );
      let silent = 0;
      let reported = 0;
      let absorbed = 0;
      for (const fault of faults.faults()) {
        if (reportedIds.has(fault.id) || scenario.reportsAsProblem?.(fault, run, plan.code)) {
          reported++;
          continue;
        }
        const where = decisiveSite(fault.site);
        const why = ABSORBED_BY_DESIGN.find(
          ([s, name, , codes]) =>
            s === scenario.name && where === name && (codes === undefined || codes.includes(plan.code)),
        )?.[2];
        const key = `${scenario.name}: ${where} (${fault.op})${why ? '' : ' NOT BY DESIGN'}`;
        result.absorbedAt[key] = (result.absorbedAt[key] ?? 0) + 1;
        if (why === undefined) silent++;
        else absorbed++;
      }
      result.reported += reported;
      result.absorbed += absorbed;
      // a persistent fault fails every call after the first: once one is reported, the run's later failures (its
      // cleanup, the next tasks' reads) are that fault's consequences
      if (plan.mode === 'persistent' && reported > 0) result.afterReported += silent;
      else if (silent > 0)
        fail(
          `${silent} fault(s) neither reported nor absorbed by design: ${faults
            .faults()
            .map((f) => `#${f.id} ${f.op} at ${decisiveSite(f.site)}`)
            .join('; ')}`,
        );
    }
    for (const problem of scenario.checkDuring(root, before, failed)) fail(problem);
    // the fault clears: the next run does the whole job
    let again: Run | undefined;
    try {
      again = await scenario.run(root);
    } catch (error) {
      fail(`the run after the fault threw ${String(error)}`);
    }
    if (again !== undefined && again.reported.length > 0)
      fail(`the run after the fault reported ${again.reported.join('; ')}`);
    for (const problem of scenario.checkAfter(root, before)) fail(`after the fault cleared: ${problem}`);
  });
}
