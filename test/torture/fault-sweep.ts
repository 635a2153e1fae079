// I/O fault injection in the style of SQLite's ioerr tests: for each writer scenario, fail the Nth file operation
// for every N, with each errno (and a short write), once (transient) or from then on (persistent). Each run checks:
// no exception reaches the caller, no file is corrupt, every failed operation is counted, and once the fault clears
// the next flush writes the task's metadata and result.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileSystem } from '../../exporters/file-system.ts';
import { nodeFileSystem } from '../../exporters/file-system.ts';
import { loadConfig } from '../../src/config.ts';
import { TASK_FILES } from '../../src/contract/task-files.ts';
import type { AgentRun } from '../../src/instrumentation/agent-run.ts';
import type { TaskTrace } from '../../src/instrumentation/task-trace.ts';
import { startTelemetry, type Telemetry } from '../../src/instrumentation/telemetry.ts';
import { type FsFaults, installFsFaults } from '../helpers/fs-faults.ts';
import { checkIntegrity } from '../helpers/integrity.ts';

const CODES = ['EIO', 'ENOSPC', 'EACCES', 'EMFILE', 'SHORT_WRITE'] as const;
type Code = (typeof CODES)[number];
type Mode = 'transient' | 'persistent';

interface Faults {
  fs: FileSystem;
  /** the names of the operations that failed */
  failedOps: () => string[];
  /** operations counted since the last arm() */
  ops: () => number;
  injected: () => number;
  arm: (at: number, code: Code, mode: Mode) => void;
  clear: () => void;
}

function faultyFs(belowFs?: FsFaults): Faults {
  let count = 0;
  let injected = 0;
  const failedOps: string[] = [];
  let plan: { at: number; code: Code; mode: Mode } | undefined;
  const due = () => {
    count++;
    if (plan === undefined) return false;
    return plan.mode === 'transient' ? count === plan.at : count >= plan.at;
  };
  const error = (code: string) => Object.assign(new Error(`${code}: injected fault`), { code });
  const wrap =
    <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (!due()) return fn(...args);
      injected++;
      failedOps.push(name);
      const code = plan!.code;
      // a short write, injected below the interface: the first write(2) of an append or of a new file (a lock, a
      // temporary JSON file) stops half way and the one that would continue it finds the disk full, so what
      // nodeFileSystem does about a partial line or a partial file is what is tested
      if (code === 'SHORT_WRITE' && (name === 'append' || name === 'writeNew') && belowFs !== undefined) {
        belowFs.arm(1, 'SHORT_WRITE', 'transient', ['handle.write', 'fd.write']);
        try {
          return await fn(...args);
        } finally {
          belowFs.clear();
        }
      }
      throw error(code === 'SHORT_WRITE' ? 'ENOSPC' : code);
    };
  const fs = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(nodeFileSystem)) {
    fs[name] = wrap(name, (fn as (...args: unknown[]) => Promise<unknown>).bind(nodeFileSystem));
  }
  return {
    fs: fs as unknown as FileSystem,
    failedOps: () => failedOps,
    ops: () => count,
    injected: () => injected,
    arm: (at, code, mode) => {
      count = 0;
      plan = { at, code, mode };
    },
    clear: () => {
      plan = undefined;
    },
  };
}

interface State {
  telemetry: Telemetry;
  task?: TaskTrace;
  run?: AgentRun;
}

interface Scenario {
  name: string;
  /** gets the task to where the scenario starts, with no faults */
  before: (s: State) => void;
  /** the step whose file operations are failed one by one */
  step: (s: State) => void;
  /** what metadata says once the fault clears and the next flush ran */
  status: string;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'new task',
    before: () => {},
    step: (s) => {
      s.task = s.telemetry.tasks.start({
        taskId: 'task-fault',
        source: 'webhook',
        provider: 'github',
        input: { message: 'faults', source_metadata: { provider: 'github' } },
      });
      s.task.recordStage('received', { event_type: 'x' });
      s.task.recordStage('task_created', { assigned_agent: 'brain' });
    },
    status: 'queued',
  },
  {
    name: 'status change',
    before: (s) => SCENARIOS[0]!.step(s),
    step: (s) => {
      s.run = s.task!.startAgent({ name: 'brain' });
    },
    status: 'running',
  },
  {
    name: 'output burst',
    before: (s) => {
      SCENARIOS[0]!.step(s);
      s.run = s.task!.startAgent({ name: 'brain' });
    },
    step: (s) => {
      for (let i = 0; i < 50; i++) s.run!.text(`line ${i} ${'x'.repeat(i * 40)}`);
    },
    status: 'running',
  },
  {
    name: 'final result',
    before: (s) => {
      SCENARIOS[0]!.step(s);
      s.run = s.task!.startAgent({ name: 'brain' });
      s.run.text('working');
    },
    step: (s) => s.run!.finish({ result: 'done', costUsd: 0.5 }),
    status: 'completed',
  },
];

export interface SweepResult {
  scenarios: number;
  faultsInjected: number;
  failures: string[];
}

export async function faultSweep(options: { codes?: readonly Code[] } = {}): Promise<SweepResult> {
  const result: SweepResult = { scenarios: 0, faultsInjected: 0, failures: [] };
  const codes = options.codes ?? CODES;
  const belowFs = codes.includes('SHORT_WRITE') ? await installFsFaults() : undefined;
  try {
    await sweep(codes, result, belowFs);
  } finally {
    belowFs?.restore();
  }
  return result;
}

async function sweep(
  codes: readonly Code[],
  result: SweepResult,
  belowFs: FsFaults | undefined,
): Promise<void> {
  for (const scenario of SCENARIOS) {
    const total = await countOps(scenario);
    for (let at = 1; at <= total; at++) {
      for (const code of codes) {
        for (const mode of ['transient', 'persistent'] as const) {
          const label = `${scenario.name}, op ${at}/${total}, ${code}, ${mode}`;
          try {
            const injected = await runOne(scenario, at, code, mode, result.failures, label, belowFs);
            result.faultsInjected += injected;
          } catch (error) {
            result.failures.push(`${label}: threw ${String(error)}`);
          }
          result.scenarios++;
        }
      }
    }
  }
}

function readLinesOf(path: string): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line !== '');
  } catch {
    return [];
  }
}

async function withRoot<T>(fn: (root: string) => Promise<T>): Promise<T> {
  const root = await mkdtemp(join(tmpdir(), 'task-logs-faults-'));
  try {
    return await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function start(root: string, fs: FileSystem, reports: string[]): Telemetry {
  const config = loadConfig({ env: { TASK_LOGS_DIR: root, TASK_LOGS_FLUSH_MS: '1000' } });
  return startTelemetry(config, { register: false, fs, index: false, report: (m) => reports.push(m) });
}

async function countOps(scenario: Scenario): Promise<number> {
  return withRoot(async (root) => {
    const faults = faultyFs();
    const state: State = { telemetry: start(root, faults.fs, []) };
    scenario.before(state);
    await state.telemetry.forceFlush();
    faults.arm(Number.POSITIVE_INFINITY, 'EIO', 'transient');
    scenario.step(state);
    await state.telemetry.forceFlush();
    const ops = faults.ops();
    await state.telemetry.shutdown();
    return ops;
  });
}

async function runOne(
  scenario: Scenario,
  at: number,
  code: Code,
  mode: Mode,
  failures: string[],
  label: string,
  belowFs: FsFaults | undefined,
): Promise<number> {
  return withRoot(async (root) => {
    const faults = faultyFs(belowFs);
    const reports: string[] = [];
    const state: State = { telemetry: start(root, faults.fs, reports) };
    const writer = state.telemetry.writer!;
    scenario.before(state);
    await state.telemetry.forceFlush();
    const errorsBefore = writer.stats().errors;
    faults.arm(at, code, mode);
    // the caller's side: none of this may throw
    scenario.step(state);
    await state.telemetry.forceFlush();
    const injected = faults.injected();
    const during = writer.stats();
    // a failed unlink (of a lock or a temporary file) loses nothing: the writer goes on, and the leftover is cleared
    // at the next take (a lock) or by verify (a .tmp file); nor does a failed look for new folders a killed writer
    // left in .new~ (list, removeTree: tried again at the next writer's start); every other failed operation is an
    // error counted
    const counted = faults
      .failedOps()
      .filter((op) => op !== 'unlink' && op !== 'list' && op !== 'removeTree').length;
    if (counted > 0 && during.errors === errorsBefore)
      failures.push(
        `${label}: ${counted} faults (${faults.failedOps().join(', ')}) injected, no error counted`,
      );
    if (during.errors - errorsBefore > injected)
      failures.push(
        `${label}: ${during.errors - errorsBefore} errors counted for ${injected} faults (${faults.failedOps().join(', ')})`,
      );
    const broken = checkIntegrity(root);
    for (const problem of broken.problems) failures.push(`${label}: ${problem}`);
    for (const torn of broken.tornTails) failures.push(`${label}: torn last line in ${torn}`);
    // the fault clears: the next flush (a later item, or the retry) brings the task's JSON files up to date
    faults.clear();
    state.run?.text('after the fault');
    await state.telemetry.forceFlush();
    await state.telemetry.shutdown();
    let status: string | undefined;
    try {
      status = JSON.parse(readFileSync(join(root, 'task-fault', 'metadata.json'), 'utf8')).status;
    } catch (error) {
      failures.push(`${label}: no readable metadata.json after recovery (${(error as Error).message})`);
    }
    if (status !== undefined && status !== scenario.status)
      failures.push(`${label}: status ${status} after recovery, expected ${scenario.status}`);
    const after = checkIntegrity(root);
    for (const problem of after.problems) failures.push(`${label}: after recovery: ${problem}`);
    const stats = writer.stats();
    if (stats.written + stats.dropped + stats.ignored !== stats.emitted)
      failures.push(`${label}: counts do not add up: ${JSON.stringify(stats)}`);
    // a failed append is undone or retried, never doubled: every line once, and none missing unless counted dropped
    for (const file of [TASK_FILES.webhookFlow, TASK_FILES.agentOutput]) {
      const lines = readLinesOf(join(root, 'task-fault', file));
      const seen = new Set<string>();
      for (const line of lines) {
        if (seen.has(line)) failures.push(`${label}: ${file}: a line written twice: ${line.slice(0, 80)}`);
        seen.add(line);
      }
    }
    if (scenario.name === 'output burst') {
      const output = readLinesOf(join(root, 'task-fault', TASK_FILES.agentOutput)).join('\n');
      const missing = Array.from({ length: 50 }, (_, i) => i).filter((i) => !output.includes(`"line ${i} `));
      if (missing.length > stats.dropped)
        failures.push(`${label}: ${missing.length} output lines missing, ${stats.dropped} counted dropped`);
    }
    return injected;
  });
}
