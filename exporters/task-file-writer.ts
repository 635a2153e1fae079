// TaskFileWriter: the bounded, batched writer behind every exporter. Callers only enqueue; a timer flushes each window's
// telemetry as a few file operations per task. Write failures and drops are counted, never thrown at the caller.
import { TaskLogsError } from '../src/contract/errors.ts';
import { OpenKeyBlocks } from '../src/contract/redaction/key-blocks.ts';
import type { Redactor } from '../src/contract/redaction/redactor.ts';
import type { FinalResult, TaskMetadata } from '../src/contract/task-files.ts';
import { type FileSystem, nodeFileSystem } from './file-system.ts';
import { mergeMetadata } from './metadata-merge.ts';
import { ProblemReporter } from './problem-reporter.ts';
import { emptyChanges, TaskChangeSet, type TaskChanges } from './task-changes.ts';
import { TaskFolderThread, type WriterThreadOptions } from './task-folder-thread.ts';
import type { ThreadIndexSettings } from './task-folder-thread-wire.ts';
import { type FolderWrites, inProcessFolders, taskDeletedError } from './task-folder-writer.ts';
import { isLogRecord, type TelemetryItem } from './telemetry-item.ts';

export interface TaskFileWriterOptions {
  /** the folder holding one folder per task */
  root: string;
  /** fsync JSON files before rename, and a task's files when it ends */
  durable?: boolean;
  /** the longest an item waits in memory before its flush starts (or, if the flush before is still being written by
   * then, until that one ends) */
  flushMs?: number;
  /** output items held in memory at most (a slow disk fills this; past it they are dropped and counted); spans get
   * an eighth more room, so a flood of output cannot push out a task's status and result */
  maxQueue?: number;
  /** a flush starts at once when this many items wait */
  batchSize?: number;
  /** task folders written in parallel within one flush */
  concurrency?: number;
  /** test and fault-injection seam; when given, the folder writes stay on this thread */
  fs?: FileSystem;
  /** write the task folders in a worker thread with synchronous file calls (TASK_LOGS_WRITER_THREAD) */
  thread?: WriterThreadOptions;
  /**
   * the task index that the writer thread keeps current itself: the rows of what each flush wrote go in through a
   * connection of the thread's own, off the event loop, opened by `module`'s openWriterIndex(path) (the server's is
   * src/store/writer-index.ts), and onWritten is told which (WrittenFiles.indexed). Only with `thread`; a flush
   * written on the event loop (while the thread starts, or without one) or rows the thread could not index are
   * onWritten's to index, as without this.
   */
  index?: ThreadIndexSettings | undefined;
  /** where problems are reported; rate-limited by the writer */
  report?: (message: string) => void;
  /** redacts secrets from every line and file before it is written (TASK_LOGS_REDACTION) */
  redactor?: Redactor;
  /**
   * told, after each flush, which metadata and results reached the disk (an index keeps itself current this way); a
   * promise it returns is awaited before the next flush, so it must settle: while it is pending nothing more is
   * written (the queue fills, then drops and counts) and shutdown waits for it until its time limit
   */
  onWritten?: (written: WrittenFiles[]) => void | Promise<void>;
}

export interface WrittenFiles {
  taskId: string;
  metadata: TaskMetadata | undefined;
  finalResult: FinalResult | undefined;
  /** the folder's mtime after the writes (undefined when it could not be read) */
  folderMtimeMs?: number | undefined;
  /** the writer thread has put this row in the index at `indexPath` already */
  indexed?: boolean;
}

export type DropReason =
  | 'queue_full'
  | 'write_failed'
  | 'invalid_task_id'
  | 'invalid_item'
  | 'task_deleted'
  | 'shut_down';

/** What became of the items of one pushAll call, for the SDK's export result and OTLP's partial success. */
export interface PushOutcome {
  /** items written, or taken and found to change no file */
  accepted: number;
  /** items lost: queue full, write failed, invalid, deleted task, shut down */
  rejected: number;
  /** why, when anything was rejected */
  error: Error | undefined;
}

/** Runs once per pushAll call. `error` is `outcome.error`, first, so `resolve` can be passed as it is. */
export type PushDone = (error: Error | undefined, outcome: PushOutcome) => void;

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

const RETRY_LIMIT = 10_000;
// failed metadata and result files are tried again this often while nothing else is queued
const RETRY_MS = 1000;
// shutdown writes what arrives during its own flushes, a few rounds at most (a producer that never stops must not
// keep it open); whatever arrives later is counted as shut_down
const CLOSE_ROUNDS = 4;

// A flush's items are mapped (and redacted) in slices with a turn of the event loop between them: at most SLICE_MS
// of work, or SLICE_ITEMS items, at a time. Mapped in one go, the flush of one large OTLP request (2,000 log records of
// 10 KB) held the event loop, and every request waiting on it, for 35 ms of CPU (367 ms on a loaded machine). But
// only while the queue filling behind the flush is below a quarter of its bound: a producer in this process that
// emits faster than the writer writes is held back by the mapping, as before, instead of running into a full queue.
const SLICE_MS = 4;
const SLICE_ITEMS = 2048;

// The writer's lifecycle, one field. idle: nothing scheduled. armed: a flush is scheduled (timer or next turn).
// flushing: a flush runs; items pushed meanwhile wait for the next one. closing: shutdown's last flushes run; items
// pushed meanwhile are still written. closed: every push is dropped and counted.
type Phase =
  | { readonly name: 'idle' }
  | { readonly name: 'armed'; readonly cancel: () => void }
  | { readonly name: 'flushing'; readonly flush: Promise<void> }
  | { readonly name: 'closing'; readonly closed: Promise<void> }
  | { readonly name: 'closed'; readonly closed: Promise<void> };
type PhaseName = Phase['name'];

const NEXT_PHASES: Record<PhaseName, readonly PhaseName[]> = {
  idle: ['armed', 'flushing', 'closing'],
  armed: ['armed', 'flushing', 'closing'],
  flushing: ['idle', 'armed', 'closing'],
  closing: ['closed'],
  closed: [],
};

// the items of one pushAll call: a contiguous range of the queue (push() from elsewhere cannot land inside it)
interface Ticket {
  /** items in the call */
  total: number;
  from: number;
  to: number;
  /** items taken into the queue; the rest of the call was dropped at the door */
  rejected: number;
  error: Error | undefined;
  done: PushDone;
  /** per task, how many of this call's items it holds (so a failed task fails exactly those) */
  byTask: Map<string, number>;
}

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
  readonly #onWritten: ((written: WrittenFiles[]) => void | Promise<void>) | undefined;
  readonly #redactor: Redactor | undefined;
  readonly #keyBlocks = new OpenKeyBlocks();

  #phase: Phase = { name: 'idle' };
  // The queue is the first `#queued` slots of `#queue`; the rest are empty. Two arrays take turns (the one a flush
  // took becomes `#spare` once the flush has mapped its items, emptied), so the queue grows into slots it had before
  // instead of a new array per flush grown push by push (each growth a fresh, larger copy: fresh memory every flush).
  // Each keeps the most slots a flush took (at most the queue's bound) until shutdown.
  #queue: (TelemetryItem | undefined)[] = [];
  #queued = 0;
  #spare: (TelemetryItem | undefined)[] | undefined;
  // when the queue's oldest item was queued (performance.now())
  #firstQueuedAt = 0;
  #tickets: Ticket[] = [];
  // callers of whenQueuedAtMost waiting for the queue to shrink: answered when a flush takes the queue
  #roomWaiters: { most: number; resolve: () => void }[] = [];

  // JSON state whose write failed, retried with the next flush until it lands
  readonly #retry = new Map<string, TaskChanges>();
  readonly #folders: FolderWrites;
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
    invalid_item: 0,
    task_deleted: 0,
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
    this.#redactor = options.redactor;
    this.#problems = new ProblemReporter(this.#report, () => {
      const s = this.stats();
      return `so far written=${s.written} dropped=${s.dropped} errors=${s.errors} (task logs in ${this.root})`;
    });
    const onUnreadable = (path: string) =>
      this.#problems.problem(
        'metadata_unreadable',
        `${path} was not valid JSON; it is rewritten from the telemetry`,
      );
    this.#folders =
      options.thread !== undefined && options.fs === undefined
        ? new TaskFolderThread(
            { root: this.root, durable: this.#durable, index: options.index },
            options.thread,
            {
              report: (key, message) => this.#problems.problem(key, message),
              onUnreadable,
              early: inProcessFolders(
                { root: this.root, fs: this.#fs, durable: this.#durable, onUnreadable },
                this.#concurrency,
              ),
            },
          )
        : inProcessFolders(
            { root: this.root, fs: this.#fs, durable: this.#durable, onUnreadable },
            this.#concurrency,
          );
  }

  /** items the queue holds at most (TASK_LOGS_MAX_QUEUE); a producer of many items at once pushes them in slices */
  get maxQueue(): number {
    return this.#maxQueue;
  }

  /** the lifecycle phase: idle, armed, flushing, closing or closed */
  get phase(): PhaseName {
    return this.#phase.name;
  }

  /** Enqueues one item. Runs on the caller's stack: no I/O, no throw, no promise. */
  push(item: TelemetryItem): void {
    this.#emitted++;
    if (!this.#take(item)) return;
    const phase = this.#phase.name;
    // armed: the scheduled flush takes it; flushing/closing: the next round does
    if (phase === 'idle') this.#arm(this.#queued >= this.#batchSize ? 0 : this.#flushMs);
    else if (phase === 'armed' && this.#queued === this.#batchSize) this.#arm(0);
  }

  /**
   * Enqueues many items; `done` runs once, when they are on disk or lost, with how many were lost and why. Returns
   * how many were refused at the door (queue full, shut down), known before anything is written.
   */
  pushAll(items: readonly TelemetryItem[], done: PushDone): number {
    const ticket: Ticket = {
      total: items.length,
      from: this.#queued,
      to: this.#queued,
      rejected: 0,
      error: undefined,
      done,
      byTask: new Map(),
    };
    for (const item of items) {
      this.#emitted++;
      if (this.#take(item)) ticket.to++;
      else ticket.rejected++;
    }
    if (ticket.rejected > 0)
      ticket.error = this.#dropError(this.#phase.name === 'closed' ? 'shut_down' : 'queue_full');
    const refused = ticket.rejected;
    if (ticket.to === ticket.from) {
      // nothing queued: no flush would ever answer it
      this.#settle(ticket);
      return refused;
    }
    this.#tickets.push(ticket);
    const phase = this.#phase.name;
    if (phase === 'idle') this.#arm(this.#queued >= this.#batchSize ? 0 : this.#flushMs);
    else if (phase === 'armed' && this.#queued >= this.#batchSize) this.#arm(0);
    return refused;
  }

  stats(): WriterStats {
    const dropped = Object.values(this.#dropReasons).reduce((sum, n) => sum + n, 0);
    return {
      emitted: this.#emitted,
      written: this.#written,
      dropped,
      dropReasons: { ...this.#dropReasons },
      queued: this.#queued,
      ignored: this.#ignored,
      errors: this.#errors,
      recovered: this.#recovered,
      lastError: this.#lastError,
    };
  }

  /**
   * Resolves once at most `most` items wait in the queue: at once when that is so already, otherwise when a flush takes
   * the queue (or shutdown drops what is left). For a producer that would rather wait than outrun the writer into the
   * bounded queue's drops; the benchmarks record tasks this way, only as fast as they are written.
   */
  whenQueuedAtMost(most: number): Promise<void> {
    if (this.#queued <= most || this.#phase.name === 'closed') return Promise.resolve();
    const room = new Promise<void>((resolve) => this.#roomWaiters.push({ most, resolve }));
    // someone waits for the next flush: it starts now, and keeps the process alive until it does (see #arm)
    if (this.#phase.name === 'armed') this.#arm(0);
    return room;
  }

  /** Writes everything queued before the call (and retries failed metadata once). Safe to call any time. */
  async forceFlush(): Promise<void> {
    const phase = this.#phase;
    if (phase.name === 'closing' || phase.name === 'closed') return phase.closed;
    if (phase.name === 'flushing') await phase.flush;
    // Another caller may have resumed first and started the next flush, which took the items queued before this
    // call (the SDK flushes the span and log processors at once): wait for that one, not only for an empty queue.
    const next = this.#phase;
    if (next.name === 'closing' || next.name === 'closed') return next.closed;
    if (next.name === 'flushing') await next.flush;
    else if (this.#queued > 0 || this.#retry.size > 0) await this.#startFlush();
  }

  /** Writes what is queued, and what arrives meanwhile, then stops accepting items. Idempotent: the same promise. */
  shutdown(): Promise<void> {
    const phase = this.#phase;
    if (phase.name === 'closing' || phase.name === 'closed') return phase.closed;
    if (phase.name === 'armed') phase.cancel();
    const closed = this.#close(phase.name === 'flushing' ? phase.flush : undefined);
    this.#to({ name: 'closing', closed });
    return closed;
  }

  // the one place the phase changes; a transition not in NEXT_PHASES is a bug in this file, reported, not thrown
  #to(next: Phase): void {
    const from = this.#phase.name;
    if (!NEXT_PHASES[from].includes(next.name)) {
      this.#problems.problem('phase', `task file writer: unexpected phase change ${from} -> ${next.name}`);
    }
    this.#phase = next;
  }

  /** Queues an item if there is room; otherwise counts the drop. */
  #take(item: TelemetryItem): boolean {
    if (this.#phase.name === 'closed') {
      this.#drop('shut_down', 1);
      return false;
    }
    if (this.#queued >= this.#maxQueue) {
      // output floods must not push out the few spans that carry status and results: they get a reserve
      if (isLogRecord(item) || this.#queued >= this.#maxQueue + this.#spanReserve) {
        this.#drop('queue_full', 1);
        return false;
      }
    }
    if (this.#queued === 0) this.#firstQueuedAt = performance.now();
    this.#queue[this.#queued++] = item;
    return true;
  }

  // A flush after `delay` ms, or on the next turn of the event loop for a full batch. setImmediate, not a 0 ms
  // timer: a producer that yields with setImmediate would otherwise starve the timer by rearming it on every item.
  // The timer does not keep the process alive, unless someone waits for room in the queue (whenQueuedAtMost): a
  // pending promise alone would not, and the process would end with that caller's work undone.
  #arm(delay: number): void {
    const hold = this.#roomWaiters.length > 0;
    if (this.#phase.name === 'armed') this.#phase.cancel();
    let cancel: () => void;
    const fire = () => {
      if (this.#phase.name === 'armed') void this.#startFlush();
    };
    if (delay === 0) {
      const immediate = setImmediate(fire);
      if (!hold) immediate.unref();
      cancel = () => clearImmediate(immediate);
    } else {
      const timer = setTimeout(fire, delay);
      if (!hold) timer.unref();
      cancel = () => clearTimeout(timer);
    }
    this.#to({ name: 'armed', cancel });
  }

  // The queue's next flush is due once its oldest item has waited flushMs, counting the time it waited while the
  // flush before was written: at saturation that one takes a few hundred milliseconds (the writer thread is the
  // bound), and a whole window more after it kept every queued item alive across two or more scavenges, so V8 copied
  // and promoted them and marked them again in its next full collection (webhooks at saturation: 5.4 KB promoted per
  // webhook and a mark-compact every ~2,700 webhooks; 1.2 KB and one every ~12,000 with this).
  #untilDue(): number {
    return Math.max(0, Math.ceil(this.#firstQueuedAt + this.#flushMs - performance.now()));
  }

  #startFlush(): Promise<void> {
    const phase = this.#phase;
    if (phase.name === 'flushing') return phase.flush;
    if (phase.name === 'armed') phase.cancel();
    const flush = this.#flushOnce().then(() => {
      // shutdown may have begun meanwhile: then it owns what follows
      if (this.#phase.name !== 'flushing') return;
      if (this.#queued >= this.#batchSize) this.#arm(0);
      else if (this.#queued > 0) this.#arm(this.#untilDue());
      else if (this.#retry.size > 0) this.#arm(RETRY_MS);
      else this.#to({ name: 'idle' });
    });
    this.#to({ name: 'flushing', flush });
    return flush;
  }

  async #close(running: Promise<void> | undefined): Promise<void> {
    if (running !== undefined) await running;
    // one flush even with an empty queue: it retries failed metadata once more
    await this.#flushOnce();
    for (let round = 1; round < CLOSE_ROUNDS && this.#queued > 0; round++) await this.#flushOnce();
    const left = this.#queued;
    const tickets = this.#tickets;
    this.#queue = [];
    this.#queued = 0;
    this.#spare = undefined;
    this.#tickets = [];
    // closed before anyone is answered: a waiter answered here, or a push while the folders close (a thread ending
    // takes a while), found the writer still closing, and its items were queued where no flush would take them
    const phase = this.#phase;
    if (phase.name === 'closing') this.#to({ name: 'closed', closed: phase.closed });
    this.#answerRoomWaiters(true);
    this.#drop('shut_down', left);
    for (const ticket of tickets) {
      ticket.rejected += ticket.to - ticket.from;
      ticket.error ??= this.#dropError('shut_down');
      this.#settle(ticket);
    }
    await this.#folders.close();
  }

  // Never rejects: every failure inside is counted against its items, and every waiter is answered.
  async #flushOnce(): Promise<void> {
    const items = this.#queue;
    const count = this.#queued;
    const tickets = this.#tickets;
    this.#queue = this.#spare ?? [];
    this.#queued = 0;
    this.#spare = undefined;
    this.#tickets = [];
    this.#answerRoomWaiters(false);
    try {
      await this.#write(items, count, tickets);
    } catch (error) {
      // a bug, not a disk problem: the items still waiting are lost, and said so
      const err = asError(error);
      this.#problems.problem('flush_bug', `task file writer: a flush failed unexpectedly: ${err.message}`);
      for (const ticket of tickets) ticket.error ??= err;
    }
    for (const ticket of tickets) this.#settle(ticket);
  }

  async #write(items: (TelemetryItem | undefined)[], count: number, tickets: Ticket[]): Promise<void> {
    const changeSet = new TaskChangeSet(this.#redactor, this.#keyBlocks);
    let t = 0;
    let sliceEnd = performance.now() + SLICE_MS;
    for (let i = 0; i < count; i++) {
      if (
        i > 0 &&
        (i % SLICE_ITEMS === 0 || ((i & 31) === 0 && performance.now() > sliceEnd)) &&
        this.#queued < this.#maxQueue / 4
      ) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceEnd = performance.now() + SLICE_MS;
      }
      while (t < tickets.length && tickets[t]!.to <= i) t++;
      const ticket = t < tickets.length && tickets[t]!.from <= i ? tickets[t] : undefined;
      const outcome = changeSet.add(items[i]!);
      if (outcome === 'mapped') {
        if (ticket !== undefined) {
          const taskId = changeSet.lastTaskId!;
          ticket.byTask.set(taskId, (ticket.byTask.get(taskId) ?? 0) + 1);
        }
      } else if (outcome === 'ignored') this.#ignored++;
      else {
        this.#drop(outcome, 1);
        if (ticket !== undefined) {
          ticket.rejected++;
          ticket.error ??= this.#dropError(outcome);
        }
        if (outcome === 'invalid_task_id')
          this.#problems.problem(
            'invalid_task_id',
            'telemetry with an invalid task.id attribute was dropped',
          );
        else this.#problems.problem('invalid_item', `telemetry item dropped: ${changeSet.lastError}`);
      }
    }
    // the items are folded in: emptied, the array is the next flush's queue (and they die young instead of living
    // until the thread has written them)
    items.fill(undefined, 0, count);
    this.#spare = items;
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
    const failed = new Map<string, Error>();
    const written: WrittenFiles[] = [];
    const outcomes = await this.#folders.write(tasks);
    for (let i = 0; i < tasks.length; i++) {
      const changes = tasks[i]!;
      const outcome = outcomes[i]!;
      if (outcome.kind === 'written') {
        this.#written += changes.items;
        if (retried.has(changes.taskId)) this.#recovered++;
        if (outcome.metadata !== undefined || changes.finalResult !== undefined)
          written.push({
            taskId: changes.taskId,
            metadata: outcome.metadata,
            finalResult: changes.finalResult,
            folderMtimeMs: outcome.folderMtimeMs,
            indexed: outcome.indexed === true,
          });
      } else if (outcome.kind === 'deleted') {
        this.#drop('task_deleted', changes.items);
        this.#problems.problem(
          'task_deleted',
          `telemetry for task ${changes.taskId}, which retention deleted, was dropped`,
        );
        failed.set(changes.taskId, taskDeletedError(changes.taskId));
      } else {
        this.#fail(changes, outcome.error, outcome.what);
        if (outcome.keep) this.#keepForRetry(changes);
        failed.set(changes.taskId, outcome.error);
      }
    }
    if (written.length > 0 && this.#onWritten !== undefined) {
      try {
        await this.#onWritten(written);
      } catch (error) {
        this.#problems.problem(
          'on_written',
          `the task index could not take the latest writes: ${asError(error).message}`,
        );
      }
    }
    if (failed.size === 0) return;
    for (const ticket of tickets) {
      for (const [taskId, count] of ticket.byTask) {
        const error = failed.get(taskId);
        if (error === undefined) continue;
        ticket.rejected += count;
        ticket.error ??= error;
      }
    }
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

  // the queue has just shrunk (a flush took it); `all`: shutdown, nothing more will be taken
  #answerRoomWaiters(all: boolean): void {
    if (this.#roomWaiters.length === 0) return;
    const queued = this.#queued;
    const waiting = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const waiter of waiting) {
      if (all || queued <= waiter.most) waiter.resolve();
      else this.#roomWaiters.push(waiter);
    }
  }

  // a waiter's own throw must not cut the other waiters off (the SDK's callbacks do not throw; a caller's might)
  #settle(ticket: Ticket): void {
    const outcome: PushOutcome = {
      accepted: ticket.total - ticket.rejected,
      rejected: ticket.rejected,
      error: ticket.error,
    };
    try {
      ticket.done(outcome.error, outcome);
    } catch (error) {
      this.#problems.problem('waiter', `a pushAll callback threw: ${asError(error).message}`);
    }
  }

  #dropError(reason: DropReason): TaskLogsError {
    if (reason === 'shut_down')
      return new TaskLogsError('WRITER_CLOSED', 'the task file writer is shut down');
    if (reason === 'queue_full')
      return new TaskLogsError('TELEMETRY_DROPPED', `the task log queue is full (${this.#maxQueue} items)`);
    return new TaskLogsError('TELEMETRY_DROPPED', `telemetry dropped: ${reason.replace('_', ' ')}`);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
