// TaskFolderThread: the folder writes of each flush done in a worker thread with synchronous file calls, off the
// event loop that serves requests. The writer keeps its queue, tickets and counts; this only carries one flush at a
// time across and its outcomes back. A thread that stops mid-flush (a crash, a kill) is replaced and the tasks it had
// not finished are written by the new one; if that one stops too, they fail like a disk error (lines counted as lost,
// JSON state kept for the next flush).
import { Worker } from 'node:worker_threads';
import { TaskLogsError } from '../src/contract/errors.ts';
import { moduleBeside } from '../src/contract/package-files.ts';
import { LineListsEncoder } from './jsonl-appender.ts';
import { SharedBufferPool } from './shared-buffer-pool.ts';
import type { TaskChanges } from './task-changes.ts';
import {
  decodeOutcome,
  PROGRESS_FINISHED,
  PROGRESS_LINES,
  type ThreadRelease,
  type ThreadReply,
  type ThreadRequest,
  type ThreadSettings,
  toWireTask,
  type WireTask,
  wireState,
} from './task-folder-thread-wire.ts';
import type { FolderOutcome, FolderWrites } from './task-folder-writer.ts';

export interface WriterThreadOptions {
  /** told of each thread started (the first, and each replacement): for tests and monitoring */
  onStart?: (worker: Worker) => void;
}

interface Flush {
  readonly id: number;
  readonly tasks: readonly TaskChanges[];
  readonly outcomes: (FolderOutcome | undefined)[];
  /** PROGRESS_* flags per task, set by the thread: a task whose lines are on disk is sent again without them */
  readonly progress: Int32Array;
  readonly resolve: (outcomes: FolderOutcome[]) => void;
  /** threads that stopped during this flush */
  stops: number;
  /** per task, its lines as sent to the thread: set once they are all encoded (the strings are let go then) */
  encoded: { webhook: Uint8Array[]; output: Uint8Array[] }[] | undefined;
  /** the pool's buffers the encoded lines are in, given back when the flush is over */
  buffers: SharedArrayBuffer[];
  /** per task, its JSON state as sent (wireState), set with `encoded`: the tasks' input and metadata objects are let
   * go then, and made again from it only for a task that failed and keeps them for the next flush */
  states: string[] | undefined;
}

// how long a closing writer waits for its kept thread to let go of its state (a thread busy past it is terminated)
const RELEASE_MS = 5_000;
// a flush is tried on a second thread when the first stops in it; a third stop is a bug worth failing over
const MAX_STOPS = 2;
const TORN_LIMIT = 10_000;
// A flush's lines are encoded this many UTF-16 units at a time (about 1 MiB of UTF-8 for ASCII, a millisecond or two),
// with a turn of the event loop between the parts: the flush of one large OTLP request (2,000 log records of 10 KB,
// 20 MB of lines) took ~80 ms of the event loop when encoded in one go under load. A flush within it (the common
// case) is encoded and sent at once, as before.
const ENCODE_UNITS = 1 << 20;
// the encoded lines' buffers: a chunk's worth each (a flush of 8,192 output lines of ~150 bytes fills two), and as many
// kept idle between flushes as a common flush uses, so its lines go into memory already touched
const BUFFER_BYTES = 1 << 20;
const BUFFERS_KEPT = 4;

// Starting a thread costs a few hundred milliseconds of CPU (a new isolate, and Node's TypeScript stripping loaded
// again in it), as much as writing a few hundred task folders. So the thread of a writer that shuts down is kept,
// idle and unref'd (it does not keep the process alive), and the next writer of this process takes it instead of
// starting one: one start per process, not one per writer. A writer with its own onStart hook (tests that stop
// threads on purpose) always starts and ends its own.
let spare: { worker: Worker; onExit: () => void; onError: () => void } | undefined;
let writers = 0;

function takeSpare(): Worker | undefined {
  const kept = spare;
  if (kept === undefined) return undefined;
  spare = undefined;
  kept.worker.off('exit', kept.onExit);
  kept.worker.off('error', kept.onError);
  return kept.worker;
}

function keepSpare(worker: Worker): boolean {
  if (spare !== undefined) return false;
  const onExit = () => {
    if (spare?.worker === worker) spare = undefined;
  };
  // an 'error' event with no listener would be thrown in this thread: a kept thread that fails just ends (onExit)
  const onError = () => undefined;
  worker.on('exit', onExit);
  worker.on('error', onError);
  worker.unref();
  spare = { worker, onExit, onError };
  return true;
}

export class TaskFolderThread implements FolderWrites {
  readonly #settings: ThreadSettings;
  readonly #options: WriterThreadOptions;
  readonly #report: (key: string, message: string) => void;
  readonly #onUnreadable: (path: string) => void;
  /** this writer's id in the thread: a thread taken over from another writer starts afresh for it */
  readonly #writer = ++writers;
  readonly #own: boolean;
  #worker: Worker | undefined;
  #detach: (() => void) | undefined;
  #flush: Flush | undefined;
  #flushes = 0;
  #closing: Promise<void> | undefined;
  // A new thread needs a few hundred milliseconds of CPU to load before it can write; on a busy or single core a
  // producer can fill the bounded queue meanwhile (200,000 lines emitted right at start-up lost 1,464 to queue_full).
  // Until the thread says it is ready, flushes are written on the event loop, as without the thread.
  #ready = false;
  readonly #early: FolderWrites;
  // tasks whose lines the event loop failed to append: the thread's first append to them starts on a fresh line
  readonly #torn = new Set<string>();
  readonly #buffers = new SharedBufferPool(BUFFER_BYTES, BUFFERS_KEPT);

  constructor(
    settings: ThreadSettings,
    options: WriterThreadOptions,
    hooks: {
      report: (key: string, message: string) => void;
      onUnreadable: (path: string) => void;
      /** where flushes are written while the thread starts: the event loop */
      early: FolderWrites;
    },
  ) {
    this.#settings = settings;
    this.#options = options;
    this.#report = hooks.report;
    this.#onUnreadable = hooks.onUnreadable;
    this.#early = hooks.early;
    this.#own = options.onStart !== undefined;
    // started now, not at the first flush: loading the thread's modules takes tens of milliseconds (hundreds on a
    // loaded machine), which the first flush would otherwise add to the live bound
    try {
      this.#thread();
    } catch {
      // a thread that cannot start now is started again by the first flush, which reports why if it still cannot
    }
  }

  write(tasks: readonly TaskChanges[]): Promise<FolderOutcome[]> {
    if (tasks.length === 0) return Promise.resolve([]);
    if (!this.#ready && this.#worker !== undefined) return this.#writeEarly(tasks);
    return new Promise((resolve) => {
      const flush: Flush = {
        id: ++this.#flushes,
        tasks,
        outcomes: new Array(tasks.length),
        progress: new Int32Array(new SharedArrayBuffer(tasks.length * Int32Array.BYTES_PER_ELEMENT)),
        resolve,
        stops: 0,
        encoded: undefined,
        buffers: [],
        states: undefined,
      };
      this.#flush = flush;
      this.#encode(flush);
    });
  }

  async #writeEarly(tasks: readonly TaskChanges[]): Promise<FolderOutcome[]> {
    const outcomes = await this.#early.write(tasks);
    for (let i = 0; i < tasks.length; i++) {
      const outcome = outcomes[i]!;
      if (outcome.kind === 'failed' && outcome.what === 'lines' && this.#torn.size < TORN_LIMIT)
        this.#torn.add(tasks[i]!.taskId);
    }
    return outcomes;
  }

  /** Lets go of the thread (kept for the next writer, or stopped); the writer calls it after its last flush answered. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const worker = this.#worker;
      this.#worker = undefined;
      if (worker === undefined) return;
      this.#detach?.();
      if (!this.#own && this.#flush === undefined) {
        // A thread kept for the next writer first lets go of what it held for this one (its index connection, the
        // removal of leftovers): the writer's shutdown means its folder is left alone from then on (a caller that
        // removes the folder right after raced the thread's SQLite close, and left half of it)
        if ((await this.#released(worker)) && keepSpare(worker)) return;
      }
      await worker.terminate();
    })();
    return this.#closing;
  }

  /** asks the thread to let go of this writer's state and waits for its answer (a thread that stopped, or that does
   * not answer within RELEASE_MS, is terminated by the caller instead of kept) */
  #released(worker: Worker): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (answered: boolean) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        worker.off('error', onError);
        worker.unref();
        resolve(answered);
      };
      const onMessage = (reply: ThreadReply) => {
        if ('released' in reply && reply.released === this.#writer) done(true);
      };
      const onExit = () => done(false);
      // a thread that fails meanwhile (one that could not load: its 'error' unheard would be thrown in this thread)
      // is not kept; the caller terminates it
      const onError = () => done(false);
      worker.on('message', onMessage);
      worker.on('exit', onExit);
      worker.on('error', onError);
      // the answer keeps the process alive: a script whose last step is `await telemetry.shutdown()` would otherwise
      // exit with the shutdown unsettled while a thread still loading (a short run) has not answered yet
      worker.ref();
      timer = setTimeout(() => done(false), RELEASE_MS);
      try {
        worker.postMessage({ release: this.#writer } satisfies ThreadRelease);
      } catch {
        done(false); // a thread that has stopped holds nothing
      }
    });
  }

  // Encodes the flush's lines into the pool's shared buffers, then sends it. A flush within ENCODE_UNITS (the common
  // case) is sent at once; a larger one is encoded a part per turn of the event loop. The strings are let go once
  // encoded: a flush sent again (a thread stopped) is sent from the same bytes.
  #encode(flush: Flush): void {
    const lists: string[][] = [];
    for (const changes of flush.tasks) lists.push(changes.webhookLines, changes.outputLines);
    const encoder = new LineListsEncoder(lists, (bytes) => this.#buffers.take(bytes));
    let done: boolean;
    try {
      done = encoder.encode(ENCODE_UNITS);
    } catch (error) {
      this.#buffers.give(encoder.buffers);
      this.#failRest(flush, error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (done) this.#encoded(flush, encoder);
    else void this.#encodeInParts(flush, encoder);
  }

  async #encodeInParts(flush: Flush, encoder: LineListsEncoder<SharedArrayBuffer>): Promise<void> {
    try {
      do {
        await new Promise((resolve) => setImmediate(resolve));
        // the flush is over (failed as a whole): nothing to send, and its buffers were never sent
        if (this.#flush !== flush) {
          this.#buffers.give(encoder.buffers);
          return;
        }
      } while (!encoder.encode(ENCODE_UNITS));
    } catch (error) {
      this.#buffers.give(encoder.buffers);
      this.#failRest(flush, error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.#encoded(flush, encoder);
  }

  #encoded(flush: Flush, encoder: LineListsEncoder<SharedArrayBuffer>): void {
    const { chunks } = encoder;
    flush.buffers = encoder.buffers;
    // At saturation a flush waits a few hundred milliseconds for the thread, and what it holds is copied and promoted
    // by the scavenges meanwhile: the states' objects go now (a flat string each is what is kept), as the lines do.
    // The result stays: the writer reports it to the index once written.
    const states: string[] = new Array(flush.tasks.length);
    for (let i = 0; i < flush.tasks.length; i++) {
      const changes = flush.tasks[i]!;
      try {
        states[i] = wireState(changes);
      } catch (error) {
        // a state JSON cannot write (a BigInt; nothing the mapping makes has one) fails its task alone, and is not
        // kept: it could never be written
        const err = error instanceof Error ? error : new Error(String(error));
        flush.outcomes[i] = { kind: 'failed', what: 'files', error: err, keep: false };
        states[i] = '';
        continue;
      }
      changes.input = undefined;
      changes.metadata = undefined;
    }
    flush.states = states;
    flush.encoded = flush.tasks.map((changes, i) => {
      // the strings are not needed any more: they die young instead of living until the thread has written them
      changes.webhookLines = [];
      changes.outputLines = [];
      return { webhook: chunks[2 * i]!, output: chunks[2 * i + 1]! };
    });
    this.#send(flush, false);
  }

  // posts the flush's tasks that have no outcome yet, without the lines already written (a line is written once);
  // `stopped`: a thread stopped during the flush, so a task it had begun and whose lines are not known to be on disk
  // may end in a half line: its next append starts on a fresh line. A task the thread finished but whose outcome it
  // could not send is written again without its lines (its JSON files are rewritten with the same content). A flush
  // still being encoded is sent when it is (no thread has had it yet).
  #send(flush: Flush, stopped: boolean): void {
    const encoded = flush.encoded;
    const states = flush.states;
    if (encoded === undefined || states === undefined) return;
    const indexes: number[] = [];
    const tasks: WireTask[] = [];
    // tasks go in order: after a stop, the first one not finished is the one the thread was in; the rest were not begun
    let inThread = stopped;
    for (let i = 0; i < flush.tasks.length; i++) {
      if (flush.outcomes[i] !== undefined) continue;
      const changes = flush.tasks[i]!;
      const progress = Atomics.load(flush.progress, i);
      const finished = (progress & PROGRESS_FINISHED) !== 0;
      // the lines go as the encoded bytes, in the pool's shared buffers (the strings stay out of the message)
      const linesDone = (progress & PROGRESS_LINES) !== 0;
      const torn = !linesDone && (finished || inThread || this.#torn.delete(changes.taskId));
      tasks.push(toWireTask(states[i]!, linesDone ? { webhook: [], output: [] } : encoded[i]!, torn));
      if (!finished) inThread = false;
      indexes.push(i);
    }
    if (tasks.length === 0) {
      this.#finish(flush);
      return;
    }
    const request: ThreadRequest = {
      writer: this.#writer,
      settings: this.#settings,
      flush: flush.id,
      tasks,
      indexes,
      progress: flush.progress.buffer as SharedArrayBuffer,
    };
    try {
      const worker = this.#thread();
      worker.postMessage(request);
      // a flush in flight keeps the process alive, as pending file operations on this thread would
      worker.ref();
    } catch (error) {
      // a thread that cannot be started or sent to: this flush fails like a disk error, the next tries again
      this.#failRest(flush, error instanceof Error ? error : new Error(String(error)));
    }
  }

  #thread(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const kept = this.#own ? undefined : takeSpare();
    const worker = kept ?? new Worker(moduleBeside(import.meta.url, 'task-folder-thread-worker'));
    worker.unref();
    let crash: Error | undefined;
    const onMessage = (reply: ThreadReply) => this.#onReply(reply);
    const onError = (error: Error) => {
      crash = error;
    };
    const onExit = (code: number) => {
      if (this.#worker === worker) this.#worker = undefined;
      const flush = this.#flush;
      if (flush === undefined || this.#closing !== undefined) return;
      flush.stops++;
      const why = crash === undefined ? `exit code ${code}` : crash.message;
      let left = 0;
      for (let i = 0; i < flush.tasks.length; i++) if (flush.outcomes[i] === undefined) left++;
      if (flush.stops < MAX_STOPS) {
        this.#report(
          'writer_thread',
          `the task writer thread stopped (${why}) with ${left} task folders of a flush left to write: a new thread writes them`,
        );
        this.#send(flush, true);
      } else {
        this.#failRest(flush, new TaskLogsError('INTERNAL', `the task writer thread stopped (${why})`));
      }
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    this.#detach = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    this.#worker = worker;
    // a kept thread is loaded; a new one says when it is
    this.#ready = kept !== undefined;
    if (kept === undefined) this.#options.onStart?.(worker);
    return worker;
  }

  #onReply(reply: ThreadReply): void {
    if ('ready' in reply) {
      this.#ready = true;
      return;
    }
    if ('released' in reply) return;
    if ('unreadable' in reply) {
      this.#onUnreadable(reply.unreadable);
      return;
    }
    const flush = this.#flush;
    if (flush === undefined || flush.id !== reply.flush) return;
    for (const [index, outcome] of reply.outcomes) flush.outcomes[index] = decodeOutcome(outcome);
    if (reply.indexed !== undefined) {
      for (const index of reply.indexed) {
        const outcome = flush.outcomes[index];
        if (outcome?.kind === 'written') flush.outcomes[index] = { ...outcome, indexed: true };
      }
    }
    // the rows the thread could not index are the writer's to index, as without the thread
    if (reply.indexError !== undefined) this.#report('index_thread', reply.indexError);
    if (reply.done) this.#finish(flush);
  }

  #failRest(flush: Flush, error: Error): void {
    for (let i = 0; i < flush.outcomes.length; i++)
      flush.outcomes[i] ??= { kind: 'failed', what: 'files', error, keep: true };
    this.#finish(flush);
  }

  #finish(flush: Flush): void {
    if (this.#flush !== flush) return;
    // a task whose outcome never came (a reply lost with a stopped thread) is failed, never left hanging
    const missing = new TaskLogsError('INTERNAL', 'the task writer thread gave no outcome for this task');
    this.#flush = undefined;
    this.#worker?.unref();
    // no thread reads them any more: it answered the whole flush, or it stopped
    this.#buffers.give(flush.buffers);
    flush.buffers = [];
    // a task kept for the next flush (a failed write) keeps its JSON state: made again from what was sent
    const states = flush.states;
    if (states !== undefined) {
      for (let i = 0; i < flush.tasks.length; i++) {
        const outcome = flush.outcomes[i];
        if (outcome !== undefined && (outcome.kind !== 'failed' || !outcome.keep)) continue;
        const changes = flush.tasks[i]!;
        const state = JSON.parse(states[i]!) as Pick<TaskChanges, 'input' | 'metadata'>;
        changes.input = state.input;
        changes.metadata = state.metadata;
      }
    }
    flush.resolve(
      flush.outcomes.map((o) => o ?? { kind: 'failed', what: 'files', error: missing, keep: true }),
    );
  }
}
