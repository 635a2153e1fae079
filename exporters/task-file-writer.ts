// TaskFileWriter: the bounded, batched writer behind every exporter. Callers only enqueue; a timer flushes each window's
// telemetry as a few file operations per task. Write failures and drops are counted, never thrown at the caller.
import { join } from 'node:path';
import { TaskLogsError } from '../src/contract/errors.ts';
import { type FinalResult, TASK_FILES, type TaskMetadata } from '../src/contract/task-files.ts';
import { writeJsonAtomic } from './atomic-json.ts';
import { type FileSystem, nodeFileSystem } from './file-system.ts';
import { JsonlAppender } from './jsonl-appender.ts';
import { MetadataFile } from './metadata-file.ts';
import { mergeMetadata } from './metadata-merge.ts';
import { ProblemReporter } from './problem-reporter.ts';
import { emptyChanges, TaskChangeSet, type TaskChanges } from './task-changes.ts';
import { isLogRecord, type TelemetryItem } from './telemetry-item.ts';

export interface TaskFileWriterOptions {
  /** the folder holding one folder per task */
  root: string;
  /** fsync JSON files before rename, and a task's files when it ends */
  durable?: boolean;
  /** the longest an item waits in memory before its flush starts */
  flushMs?: number;
  /** output items held in memory at most (a slow disk fills this; past it they are dropped and counted); spans get
   * an eighth more room, so a flood of output cannot push out a task's status and result */
  maxQueue?: number;
  /** a flush starts at once when this many items wait */
  batchSize?: number;
  /** task folders written in parallel within one flush */
  concurrency?: number;
  fs?: FileSystem;
  /** where problems are reported; rate-limited by the writer */
  report?: (message: string) => void;
  /** told, after each flush, which metadata and results reached the disk (an index keeps itself current this way) */
  onWritten?: (written: WrittenFiles[]) => void;
}

export interface WrittenFiles {
  taskId: string;
  metadata: TaskMetadata | undefined;
  finalResult: FinalResult | undefined;
}

export type DropReason = 'queue_full' | 'write_failed' | 'invalid_task_id' | 'shut_down';

export interface WriterStats {
  /** task telemetry items offered to the writer */
  emitted: number;
  /** items whose file operations all succeeded */
  written: number;
  /** items lost, by reason */
  dropped: number;
  dropReasons: Record<DropReason, number>;
  /** items waiting in memory */
  queued: number;
  /** items that carried a task id but change no file (for example a tool span) */
  ignored: number;
  /** failed file operations */
  errors: number;
  /** metadata and result files rewritten correctly after an earlier failure */
  recovered: number;
  lastError: string | undefined;
}

const KNOWN_LIMIT = 50_000;
const RETRY_LIMIT = 10_000;
// failed metadata and result files are tried again this often while nothing else is queued
const RETRY_MS = 1000;

type Done = (error?: Error) => void;

export class TaskFileWriter {
  readonly root: string;
  readonly #fs: FileSystem;
  readonly #durable: boolean;
  readonly #flushMs: number;
  readonly #maxQueue: number;
  readonly #spanReserve: number;
  readonly #batchSize: number;
  readonly #concurrency: number;
  readonly #report: (message: string) => void;
  readonly #onWritten: ((written: WrittenFiles[]) => void) | undefined;

  #queue: TelemetryItem[] = [];
  #waiters: Done[] = [];
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #flushing: Promise<void> | undefined;
  #state: 'open' | 'closed' = 'open';
  #closing: Promise<void> | undefined;

  // task folders known to exist, and tasks whose metadata.json exists (then updates take the lock)
  readonly #dirs = new Set<string>();
  // JSON state whose write failed, retried with the next flush until it lands
  readonly #retry = new Map<string, TaskChanges>();
  readonly #metadata: MetadataFile;
  readonly #lines: JsonlAppender;
  readonly #problems: ProblemReporter;

  #emitted = 0;
  #written = 0;
  #ignored = 0;
  #errors = 0;
  #recovered = 0;
  #lastError: string | undefined;
  readonly #dropReasons: Record<DropReason, number> = {
    queue_full: 0,
    write_failed: 0,
    invalid_task_id: 0,
    shut_down: 0,
  };

  constructor(options: TaskFileWriterOptions) {
    this.root = options.root;
    this.#fs = options.fs ?? nodeFileSystem;
    this.#durable = options.durable ?? false;
    this.#flushMs = options.flushMs ?? 50;
    this.#maxQueue = options.maxQueue ?? 65_536;
    this.#spanReserve = Math.max(64, this.#maxQueue >> 3);
    this.#batchSize = Math.min(options.batchSize ?? 8192, this.#maxQueue);
    this.#concurrency = options.concurrency ?? 16;
    this.#report = options.report ?? ((message) => process.emitWarning(message, 'TaskLogsWarning'));
    this.#onWritten = options.onWritten;
    this.#problems = new ProblemReporter(this.#report, () => {
      const s = this.stats();
      return `so far written=${s.written} dropped=${s.dropped} errors=${s.errors} (task logs in ${this.root})`;
    });
    this.#lines = new JsonlAppender(this.#fs);
    this.#metadata = new MetadataFile({
      fs: this.#fs,
      durable: this.#durable,
      onUnreadable: (path) =>
        this.#problems.problem(
          'metadata_unreadable',
          `${path} was not valid JSON; it is rewritten from the telemetry`,
        ),
    });
  }

  /** Enqueues one item. Runs on the caller's stack: no I/O, no throw, no promise. */
  push(item: TelemetryItem): void {
    this.#emitted++;
    if (this.#state !== 'open') {
      this.#drop('shut_down', 1);
      return;
    }
    if (this.#queue.length >= this.#maxQueue) {
      // output floods must not push out the few spans that carry status and results: they get a reserve
      if (isLogRecord(item) || this.#queue.length >= this.#maxQueue + this.#spanReserve) {
        this.#drop('queue_full', 1);
        return;
      }
    }
    this.#queue.push(item);
    if (this.#flushing !== undefined) return;
    if (this.#immediate !== undefined) return;
    if (this.#queue.length >= this.#batchSize) this.#flushNow();
    else if (this.#timer === undefined) this.#flushAfter(this.#flushMs);
  }

  /** Enqueues many items; `done` runs once they are on disk (or failed). For the SDK's export() contract. */
  pushAll(items: readonly TelemetryItem[], done: Done): void {
    if (this.#state !== 'open') {
      this.#emitted += items.length;
      this.#drop('shut_down', items.length);
      done(new TaskLogsError('WRITER_CLOSED', 'the task file writer is shut down'));
      return;
    }
    if (items.length === 0) {
      done(); // nothing to wait for: no flush would ever call it
      return;
    }
    for (const item of items) this.push(item);
    this.#waiters.push(done);
  }

  stats(): WriterStats {
    const dropped = Object.values(this.#dropReasons).reduce((sum, n) => sum + n, 0);
    return {
      emitted: this.#emitted,
      written: this.#written,
      dropped,
      dropReasons: { ...this.#dropReasons },
      queued: this.#queue.length,
      ignored: this.#ignored,
      errors: this.#errors,
      recovered: this.#recovered,
      lastError: this.#lastError,
    };
  }

  /** Writes everything queued before the call (and retries failed metadata once). Safe to call any time. */
  async forceFlush(): Promise<void> {
    if (this.#flushing !== undefined) await this.#flushing;
    if (this.#queue.length > 0 || this.#retry.size > 0) await this.#startFlush();
  }

  /** Flushes and stops accepting items. Idempotent: the same promise again. */
  shutdown(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.forceFlush();
      } finally {
        this.#state = 'closed';
        this.#cancelScheduled();
      }
    })();
    return this.#closing;
  }

  /** A flush at the end of the window that the first queued item opened. */
  #flushAfter(delay: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#queue.length > 0 || this.#retry.size > 0) void this.#startFlush();
    }, delay);
    this.#timer.unref();
  }

  // A full batch flushes on the next turn of the event loop. setImmediate, not a 0 ms timer: a producer that yields
  // with setImmediate would otherwise starve the timer by rearming it on every item.
  #flushNow(): void {
    this.#cancelScheduled();
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined;
      void this.#startFlush();
    });
    this.#immediate.unref();
  }

  #cancelScheduled(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
  }

  #startFlush(): Promise<void> {
    if (this.#flushing !== undefined) return this.#flushing;
    const flushing = this.#flushOnce().finally(() => {
      this.#flushing = undefined;
      if (this.#state !== 'open' || this.#immediate !== undefined) return;
      if (this.#queue.length >= this.#batchSize) this.#flushNow();
      else if (this.#timer !== undefined) return;
      else if (this.#queue.length > 0) this.#flushAfter(this.#flushMs);
      else if (this.#retry.size > 0) this.#flushAfter(RETRY_MS);
    });
    this.#flushing = flushing;
    return flushing;
  }

  async #flushOnce(): Promise<void> {
    const items = this.#queue;
    const waiters = this.#waiters;
    this.#queue = [];
    this.#waiters = [];
    const changeSet = new TaskChangeSet();
    for (const item of items) {
      const outcome = changeSet.add(item);
      if (outcome === 'ignored') this.#ignored++;
      else if (outcome === 'invalid_task_id') {
        this.#drop('invalid_task_id', 1);
        this.#problems.problem('invalid_task_id', 'telemetry with an invalid task.id attribute was dropped');
      }
    }
    for (const [taskId, pending] of this.#retry) {
      const current = changeSet.byTask.get(taskId);
      if (current === undefined) changeSet.byTask.set(taskId, pending);
      else {
        if (pending.metadata !== undefined)
          current.metadata = mergeMetadata(pending.metadata, current.metadata ?? {});
        current.input ??= pending.input;
        current.finalResult ??= pending.finalResult;
      }
    }
    const retried = new Set(this.#retry.keys());
    this.#retry.clear();
    const tasks = [...changeSet.byTask.values()];
    let failure: Error | undefined;
    let next = 0;
    const written: WrittenFiles[] = [];
    const worker = async () => {
      while (next < tasks.length) {
        const changes = tasks[next++]!;
        const error = await this.#apply(changes, written);
        if (error === undefined && retried.has(changes.taskId)) this.#recovered++;
        failure ??= error;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, tasks.length) }, worker));
    if (written.length > 0 && this.#onWritten !== undefined) {
      try {
        this.#onWritten(written);
      } catch (error) {
        this.#problems.problem(
          'on_written',
          `the task index could not take the latest writes: ${asError(error).message}`,
        );
      }
    }
    for (const done of waiters) done(failure);
  }

  /** Writes one task's changes: lines and input/result side by side, metadata last (so "completed" means all is there). */
  async #apply(changes: TaskChanges, written: WrittenFiles[]): Promise<Error | undefined> {
    const dir = join(this.root, changes.taskId);
    const durable = this.#durable;
    try {
      await this.#ensureDir(changes.taskId, dir);
    } catch (error) {
      this.#fail(changes, error, 'folder');
      this.#keepForRetry(changes);
      return asError(error);
    }
    // creating a file is the costly step on many disks, so the independent files are written concurrently
    const [lines, files] = await Promise.allSettled([
      Promise.all([
        this.#lines.append(join(dir, TASK_FILES.webhookFlow), changes.webhookLines, {
          sync: durable && changes.ended,
        }),
        this.#lines.append(join(dir, TASK_FILES.agentOutput), changes.outputLines, {
          sync: durable && changes.ended,
        }),
      ]),
      Promise.all([
        changes.input && writeJsonAtomic(this.#fs, join(dir, TASK_FILES.input), changes.input, { durable }),
        changes.finalResult &&
          writeJsonAtomic(this.#fs, join(dir, TASK_FILES.finalResult), changes.finalResult, { durable }),
      ]),
    ]);
    let failure: unknown;
    let metadata: TaskMetadata | undefined;
    if (files.status === 'fulfilled') {
      try {
        if (changes.metadata !== undefined)
          metadata = await this.#metadata.write(changes.taskId, dir, changes.metadata);
        if (changes.ended && durable) await this.#fs.syncDir(dir);
      } catch (error) {
        failure = error;
      }
    } else {
      failure = files.reason;
    }
    if (failure !== undefined) this.#keepForRetry(changes);
    if (lines.status === 'rejected') failure ??= lines.reason;
    if (failure !== undefined) {
      this.#fail(changes, failure, lines.status === 'rejected' ? 'lines' : 'files');
      return asError(failure);
    }
    this.#written += changes.items;
    if (metadata !== undefined || changes.finalResult !== undefined) {
      written.push({ taskId: changes.taskId, metadata, finalResult: changes.finalResult });
    }
    return undefined;
  }

  async #ensureDir(taskId: string, dir: string): Promise<void> {
    if (this.#dirs.has(taskId)) return;
    await this.#fs.mkdir(dir);
    if (this.#dirs.size >= KNOWN_LIMIT) this.#dirs.clear();
    this.#dirs.add(taskId);
  }

  #keepForRetry(changes: TaskChanges): void {
    if (changes.metadata === undefined && changes.input === undefined && changes.finalResult === undefined)
      return;
    if (this.#retry.size >= RETRY_LIMIT) return;
    const pending = emptyChanges(changes.taskId);
    pending.metadata = changes.metadata;
    pending.input = changes.input;
    pending.finalResult = changes.finalResult;
    pending.ended = changes.ended;
    this.#retry.set(changes.taskId, pending);
    // the folder may be gone or unwritable: check it again next time
    this.#dirs.delete(changes.taskId);
  }

  #fail(changes: TaskChanges, error: unknown, what: string): void {
    this.#errors++;
    const err = asError(error);
    const code = (err as NodeJS.ErrnoException).code ?? err.name;
    this.#lastError = err.message.startsWith(code) ? err.message : `${code}: ${err.message}`;
    this.#drop('write_failed', changes.items);
    this.#problems.problem(
      `write_${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      `could not write the ${what} of task ${changes.taskId}: ${this.#lastError}`,
    );
  }

  #drop(reason: DropReason, count: number): void {
    if (count === 0) return;
    this.#dropReasons[reason] += count;
    if (reason === 'queue_full') {
      this.#problems.problem(
        'queue_full',
        `task log queue full (${this.#maxQueue} items): telemetry is being dropped`,
      );
    }
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
