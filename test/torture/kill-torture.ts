// kill -9 torture: a child (kill-child.ts) writes tasks through the in-process exporters and over OTLP ingest, and
// reports what it writes; it is killed at a point chosen from its reports (at once, as its Nth JSON version or Nth
// large append starts, after its Nth flushed-lines report), several children at a time. Each kill is then checked
// the way a restart finds the folder:
// - every JSON file parses and is byte for byte one of the versions the child reported before writing it
// - JSONL files hold whole lines, plus at most one torn last line
// - every line the child reported flushed is there
// - the restart (the interrupted-task check) leaves no task queued or running, and its "interrupted" line is kept
// - `verify --repair` leaves no torn line (but in a folder with no metadata.json: no status, nothing to repair by),
//   and cuts none of the lines above
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import { TASK_FILES } from '../../src/contract/task-files.ts';
import { endTasksOfGoneOwners } from '../../src/ops/interrupted-tasks.ts';
import { verifyTasks } from '../../src/ops/verify.ts';
import { parseJsonl } from '../../src/store/jsonl-read.ts';
import { type ChildCommand, killChildCommand } from './kill-snapshot.ts';

// a child that neither reports nor exits for this long is stuck: a failure, never a wait that passes (safety net)
const STUCK_MS = 120_000;
// clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux)
const USER_HZ = 100;

export interface KillTortureSummary {
  kills: number;
  tasks: number;
  /** JSON files compared with the versions the child reported */
  jsonFilesChecked: number;
  flushedLinesChecked: number;
  tornTailsFound: number;
  /** torn last lines left in folders with no metadata.json (verify reports them and cuts only finished tasks) */
  tornTailsWithoutMetadata: number;
  interruptedEnded: number;
  /** how the child starts: from a V8 startup snapshot, or as a script (with why) */
  childMode: string;
  /** the children's CPU time up to their kill, summed (from /proc) */
  childCpuMs: number;
  elapsedMs: number;
  /** every broken promise, one line each; empty when all held */
  failures: string[];
}

/** Where in the child's life the kill lands. */
type KillPoint =
  | { at: 'start' }
  | { at: 'version'; n: number }
  | { at: 'large append'; n: number }
  | { at: 'flushed'; n: number };

function killPointFor(seed: number): KillPoint {
  const roll = (seed * 2_654_435_761) >>> 0;
  const n = 1 + ((roll >>> 8) % 8);
  const kind = roll % 20;
  if (kind < 2) return { at: 'start' };
  if (kind < 7) return { at: 'version', n };
  if (kind < 10) return { at: 'large append', n: 1 + (n % 2) };
  return { at: 'flushed', n };
}

export async function killTorture(options: {
  kills: number;
  /** children alive at once */
  parallel?: number;
  seed?: number;
  /** start no new kill after this time (Date.now() ms): the summary then counts the kills done */
  until?: number;
  onKill?: (done: number, summary: KillTortureSummary) => void;
}): Promise<KillTortureSummary> {
  const started = Date.now();
  const command = await killChildCommand();
  const summary: KillTortureSummary = {
    kills: 0,
    tasks: 0,
    jsonFilesChecked: 0,
    flushedLinesChecked: 0,
    tornTailsFound: 0,
    tornTailsWithoutMetadata: 0,
    interruptedEnded: 0,
    childMode: command.mode === 'snapshot' ? 'snapshot' : `script (no snapshot: ${command.reason})`,
    childCpuMs: 0,
    elapsedMs: 0,
    failures: [],
  };
  const firstSeed = options.seed ?? Date.now() % 1_000_000;
  let next = 0;
  const lane = async () => {
    const launcher = new Launcher(command);
    try {
      while (next < options.kills && Date.now() < (options.until ?? Number.POSITIVE_INFINITY)) {
        const seed = firstSeed + next++;
        const root = await mkdtemp(join(tmpdir(), 'task-logs-torture-'));
        try {
          await oneKill(launcher, root, seed, summary);
        } catch (error) {
          summary.failures.push(
            `seed ${seed}: the harness failed: ${(error as Error).stack ?? String(error)}`,
          );
        } finally {
          await rm(root, { recursive: true, force: true });
        }
        summary.kills++;
        options.onKill?.(summary.kills, summary);
      }
    } finally {
      await launcher.close();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.parallel ?? 3) }, lane));
  summary.elapsedMs = Date.now() - started;
  return summary;
}

// One lane of children: a small shell that starts them one after another, each with its seed and folder, and says
// `exit <code>` after each. Forking the test process itself (a large heap) for each child took ~90 ms of its main
// thread under load; the shell forks cheaply. A child's first report is its pid, which the kill is sent to.
const LANE_SCRIPT =
  'while read -r seed root; do TORTURE_SEED="$seed" TASK_LOGS_DIR="$root" "$@" </dev/null; echo "exit $?"; done';

class Launcher {
  readonly #shell: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;
  /** the shell's stderr since the last child started (the children's warnings and crashes) */
  stderr = '';

  constructor(command: ChildCommand) {
    this.#shell = spawn('/bin/sh', ['-c', LANE_SCRIPT, 'sh', ...command.argv], {
      env: { ...process.env, ...command.env },
      stdio: 'pipe',
    });
    this.#shell.stderr.on('data', (chunk: Buffer) => {
      if (this.stderr.length < 2000) this.stderr += chunk.toString();
    });
    this.#lines = createInterface({ input: this.#shell.stdout })[Symbol.asyncIterator]();
  }

  get pid(): number | undefined {
    return this.#shell.pid;
  }

  start(seed: number, root: string): void {
    this.stderr = '';
    this.#shell.stdin.write(`${seed} ${root}\n`);
  }

  /** the next line; undefined when the shell is gone */
  async line(): Promise<string | undefined> {
    const next = await this.#lines.next();
    return next.done ? undefined : next.value;
  }

  async close(): Promise<void> {
    if (this.#shell.exitCode !== null || this.#shell.signalCode !== null) return;
    const exited = once(this.#shell, 'exit');
    this.#shell.stdin.end(); // the loop reads end of input and exits
    await exited;
  }
}

async function oneKill(
  launcher: Launcher,
  root: string,
  seed: number,
  summary: KillTortureSummary,
): Promise<void> {
  const fail = (what: string) => summary.failures.push(`seed ${seed}: ${what}`);
  const point = killPointFor(seed);
  const versions = new Map<string, Set<string>>();
  const flushed = new Map<string, number>();
  let versionsSeen = 0;
  let appendsSeen = 0;
  let flushesSeen = 0;
  let pid: number | undefined;
  let killed = false;
  const kill = () => {
    if (killed || pid === undefined) return;
    killed = true;
    // only our own child: the lane's shell is its parent (it has not reaped it: no "exit" line yet)
    const stat = procStat(pid);
    if (stat === undefined || stat.ppid !== launcher.pid) return;
    summary.childCpuMs += stat.cpuMs;
    process.kill(pid, 'SIGKILL');
  };
  const stuck = setTimeout(() => {
    fail(
      `the child neither reported nor exited for ${STUCK_MS / 1000} s (kill point ${JSON.stringify(point)})`,
    );
    kill();
  }, STUCK_MS);
  launcher.start(seed, root);
  let code: number | undefined;
  for (let line = await launcher.line(); line !== undefined; line = await launcher.line()) {
    const [kind, a, b] = line.split(' ');
    if (kind === 'exit') {
      code = Number(a);
      break;
    }
    if (kind === 'p') {
      pid = Number(a);
      if (point.at === 'start') kill();
    } else if (kind === 'v') {
      const set = versions.get(a!) ?? new Set<string>();
      versions.set(a!, set.add(b!));
      if (point.at === 'version' && ++versionsSeen === point.n) kill();
    } else if (kind === 'a') {
      if (point.at === 'large append' && ++appendsSeen === point.n) kill();
    } else if (kind === 'f') {
      flushed.set(a!, Math.max(flushed.get(a!) ?? 0, Number(b)));
      if (point.at === 'flushed' && ++flushesSeen === point.n) kill();
    } else if (kind === 'x') {
      fail(`the child said: ${line.slice(2)}`);
    }
  }
  clearTimeout(stuck);
  if (code === undefined) throw new Error(`the lane's shell ended: ${launcher.stderr.trim().slice(0, 500)}`);
  // 137: the shell's status for a child ended by SIGKILL; anything else, it ended on its own before the kill
  if (!killed || code !== 137)
    fail(`the child exited by itself (status ${code}): ${launcher.stderr.trim().slice(0, 500)}`);

  // what the kill left
  const left = scan(root);
  summary.tasks += left.tasks.length;
  summary.tornTailsFound += left.tornTails.length;
  for (const problem of left.problems) fail(problem);
  for (const [file, bytes] of left.json) {
    summary.jsonFilesChecked++;
    const hash = createHash('sha256').update(bytes).digest('hex');
    if (!versions.get(file)?.has(hash))
      fail(`${file} (${bytes.length} bytes) is not a version that was written: ${preview(bytes)}`);
  }
  checkFlushed(left, flushed, 'after the kill', fail);
  for (const count of flushed.values()) summary.flushedLinesChecked += count;

  // the restart: tasks of the dead process end as interrupted, then repair cuts torn last lines
  const problems: string[] = [];
  const writer = new TaskFileWriter({ root, report: (message) => problems.push(message) });
  const ended = await endTasksOfGoneOwners(writer, { root, staleMs: 3_600_000 });
  await writer.shutdown();
  summary.interruptedEnded += ended.length;
  if (writer.stats().dropped > 0) fail(`the restart lost items: ${problems.join('; ')}`);
  await verifyTasks({ root, repair: true });
  const after = scan(root);
  for (const problem of after.problems) fail(`after repair: ${problem}`);
  for (const torn of after.tornTails) {
    const task = torn.slice(0, torn.indexOf('/'));
    // a folder with no metadata.json has no status: the kill came before its first metadata write (over OTLP, a
    // task's log records may arrive before its spans). Nothing ends it and verify reports its torn line but does
    // not cut it (a writer may still be creating the task). Counted, not a failure; any other torn line is.
    if (!after.json.has(`${task}/${TASK_FILES.metadata}`)) summary.tornTailsWithoutMetadata++;
    else {
      const metadata = after.json.get(`${task}/${TASK_FILES.metadata}`)!.toString('utf8');
      const lock = existsSync(join(root, task, `${TASK_FILES.metadata}.lock`));
      fail(
        `after repair: ${torn} still has a torn last line (metadata ${metadata.slice(0, 200)}; lock file: ${lock})`,
      );
    }
  }
  for (const [file, bytes] of after.json) {
    if (!file.endsWith(`/${TASK_FILES.metadata}`)) continue;
    const status = (JSON.parse(bytes.toString('utf8')) as { status?: unknown }).status;
    if (status === 'queued' || status === 'running') fail(`${file} is still ${status} after the restart`);
  }
  checkFlushed(after, flushed, 'after the restart and repair', fail);
  for (const task of ended) {
    const lines = after.output.get(task.task_id) ?? [];
    if (!lines.some((line) => line.type === 'error' && line.content === task.error))
      fail(`${task.task_id}: the restart's "interrupted" line is not in 03 after repair`);
  }
}

interface OutputLine {
  type?: unknown;
  content?: unknown;
}

/** A logs folder as a reader finds it, each file read once. */
interface Scan {
  tasks: string[];
  /** "<task>/<file>" -> bytes, for every .json file */
  json: Map<string, Buffer>;
  /** task -> the readable lines of its 03 */
  output: Map<string, OutputLine[]>;
  /** JSON that does not parse, JSONL lines torn anywhere but at the end */
  problems: string[];
  /** JSONL files whose last line is torn (what a kill may leave) */
  tornTails: string[];
}

function scan(root: string): Scan {
  const result: Scan = { tasks: [], json: new Map(), output: new Map(), problems: [], tornTails: [] };
  for (const task of readdirSync(root)) {
    const dir = join(root, task);
    if (!statSync(dir).isDirectory()) continue;
    result.tasks.push(task);
    for (const name of readdirSync(dir)) {
      const file = `${task}/${name}`;
      if (name.endsWith('.json')) {
        const bytes = readFileSync(join(dir, name));
        result.json.set(file, bytes);
        try {
          JSON.parse(bytes.toString('utf8'));
        } catch {
          result.problems.push(`${file}: not whole JSON`);
        }
      } else if (name.endsWith('.jsonl')) {
        const read = parseJsonl<OutputLine>(readFileSync(join(dir, name)));
        for (const line of read.badLines) result.problems.push(`${file}:${line}: torn line`);
        if (read.tornTail !== undefined) result.tornTails.push(file);
        if (name === TASK_FILES.agentOutput) result.output.set(task, read.lines);
      }
    }
  }
  return result;
}

/** Every line 0..n-1 the child reported flushed is in the task's 03 (the lines start with their number). */
function checkFlushed(
  found: Scan,
  flushed: Map<string, number>,
  when: string,
  fail: (what: string) => void,
): void {
  for (const [taskId, count] of flushed) {
    const present = new Set<number>();
    for (const line of found.output.get(taskId) ?? []) {
      const number = typeof line.content === 'string' ? /^(\d+) /.exec(line.content)?.[1] : undefined;
      if (line.type === 'text' && number !== undefined) present.add(Number(number));
    }
    const missing: number[] = [];
    for (let n = 0; n < count; n++) if (!present.has(n)) missing.push(n);
    if (missing.length > 0)
      fail(
        `${taskId}: ${when}, ${missing.length} of the ${count} lines reported flushed are missing ` +
          `(first: line ${missing[0]})`,
      );
  }
}

function preview(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 40)}…${text.slice(-40)}` : text);
}

// a running process's parent and user + system CPU, from /proc (undefined when it is gone)
function procStat(pid: number): { ppid: number; cpuMs: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ };
  } catch {
    return undefined;
  }
}

/** The summary line `npm run torture` and the test print. */
export function describeKillTorture(s: KillTortureSummary): string {
  const per = (total: number) => (s.kills === 0 ? 0 : total / s.kills).toFixed(0);
  return (
    `kill -9 torture: ${s.kills} kills, ${s.tasks} tasks, ${s.jsonFilesChecked} JSON files matched to a written ` +
    `version, ${s.flushedLinesChecked} flushed lines checked, ${s.tornTailsFound} torn tails found ` +
    `(${s.tornTailsWithoutMetadata} of them in folders with no metadata.json, left to verify), ` +
    `${s.interruptedEnded} interrupted tasks ended, ${s.failures.length} failures; ` +
    `${(s.elapsedMs / 1000).toFixed(1)} s (${per(s.elapsedMs)} ms per kill, child CPU ${per(s.childCpuMs)} ms ` +
    `per kill, child from ${s.childMode})`
  );
}
