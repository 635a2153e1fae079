// The messages between the writer and its writer thread, and the outcome codec (an Error loses its code when cloned).
import { type ErrorCode, TaskLogsError } from '../src/contract/errors.ts';
import type { FinalResult, TaskMetadata } from '../src/contract/task-files.ts';
import type { TaskChanges } from './task-changes.ts';
import type { FolderOutcome } from './task-folder-writer.ts';

export interface ThreadSettings {
  root: string;
  durable: boolean;
  /** the task index the thread keeps current itself (the rows of what each flush wrote); none: the writer does */
  index?: ThreadIndexSettings | undefined;
}

/** where the task index is and the module that opens it in the thread (it exports `openWriterIndex(path)`) */
export interface ThreadIndexSettings {
  path: string;
  module: string;
  /** a count of the writes under way on the process's own connection to the index (an Int32Array's memory): the
   * thread starts no transaction of its own while it is above 0, so such a write waits for one of them, not all */
  waiting?: SharedArrayBuffer | undefined;
}

/** a task index row: what a flush wrote for one task (TaskFileWriter's WrittenFiles, less the task id) */
export interface IndexRow {
  metadata?: TaskMetadata | undefined;
  finalResult?: FinalResult | undefined;
  folderMtimeMs?: number;
}

/** the task index as the thread uses it */
export interface ThreadIndex {
  /** the rows in one transaction */
  upsertMany(entries: Iterable<[string, IndexRow]>): void;
  close(): void;
}

/** a writer that lets go of the thread (kept for another writer): the thread closes what it held open for it */
export interface ThreadRelease {
  release: number;
}

/** one flush's tasks; `indexes` are their places in the flush (a retry after a stopped thread sends the rest only) */
export interface ThreadRequest {
  /** the writer sending it: a thread kept from an earlier writer starts with fresh state for a new one */
  writer: number;
  settings: ThreadSettings;
  flush: number;
  tasks: WireTask[];
  indexes: number[];
  /** an Int32Array over it, one entry per task of the flush (by index): PROGRESS_* flags the thread sets as it goes */
  progress: SharedArrayBuffer;
}

/**
 * One task of a flush as it crosses to the thread. Its JSON state (input, result, metadata patch) goes as one JSON
 * text: a string crosses as one copy, where the structured clone of its objects (about 40 values per webhook task)
 * cost the event loop ~11 µs of CPU per task at saturation, more than the rest of the hand-over. The thread writes
 * these values only as JSON (the files), so the text changes no byte of them. The lines go as their encoded bytes.
 */
export interface WireTask {
  state: string;
  encoded: { webhook: Uint8Array[]; output: Uint8Array[] };
  torn?: true;
}

/** a task's JSON state (all of its changes but the lines) as the JSON text a WireTask carries */
export function wireState(changes: TaskChanges): string {
  const { taskId, input, finalResult, metadata, items, ended } = changes;
  return JSON.stringify({ taskId, input, finalResult, metadata, items, ended });
}

export function toWireTask(
  state: string,
  encoded: { webhook: Uint8Array[]; output: Uint8Array[] },
  torn: boolean,
): WireTask {
  return torn ? { state, encoded, torn } : { state, encoded };
}

/** the task's changes again, in the thread (what the JSON text left out was undefined) */
export function fromWireTask(wire: WireTask): TaskChanges {
  const state = JSON.parse(wire.state) as Omit<TaskChanges, 'webhookLines' | 'outputLines'>;
  const changes: TaskChanges = {
    taskId: state.taskId,
    webhookLines: [],
    outputLines: [],
    input: state.input,
    finalResult: state.finalResult,
    metadata: state.metadata,
    items: state.items,
    ended: state.ended,
    encoded: wire.encoded,
  };
  if (wire.torn === true) changes.torn = true;
  return changes;
}

// Progress flags, set by the thread in shared memory the moment each step is done: they outlive a thread that is
// stopped before it could send its outcomes, and cost no message. LINES: the task's lines are on disk (a retry must
// not append them again). FINISHED: the thread is done with the task (its outcome is in a reply sent or pending).
export const PROGRESS_LINES = 1;
export const PROGRESS_FINISHED = 2;

export type WireOutcome =
  | { kind: 'written'; metadata: TaskMetadata | undefined; folderMtimeMs?: number | undefined }
  | { kind: 'deleted' }
  | {
      kind: 'failed';
      what: 'folder' | 'lines' | 'files';
      keep: boolean;
      error: { name: string; message: string; code: string | undefined };
    };

/** outcomes as [flush index, outcome] pairs; one reply at the end of a flush (`done`), and one before the thread waits
 * on anything (a metadata lock) with what it finished so far. The last reply says which written tasks' rows the
 * thread put in the index (`indexed`, flush indexes), or why it could not (`indexError`: the writer indexes them). */
export type ThreadReply =
  | {
      flush: number;
      outcomes: [number, WireOutcome][];
      done: boolean;
      indexed?: number[];
      indexError?: string;
    }
  | { unreadable: string }
  /** the thread has loaded its modules and takes flushes from now on */
  | { ready: true }
  /** the thread let go of what it held for this writer (ThreadRelease): it touches the writer's folder no more */
  | { released: number };

export function encodeOutcome(outcome: FolderOutcome): WireOutcome {
  if (outcome.kind !== 'failed') return outcome;
  const { name, message } = outcome.error;
  const code = (outcome.error as NodeJS.ErrnoException).code;
  return { kind: 'failed', what: outcome.what, keep: outcome.keep, error: { name, message, code } };
}

export function decodeOutcome(wire: WireOutcome): FolderOutcome {
  if (wire.kind !== 'failed') return wire;
  const { name, message, code } = wire.error;
  let error: Error;
  if (name === 'TaskLogsError' && code !== undefined) error = new TaskLogsError(code as ErrorCode, message);
  else {
    error = new Error(message);
    error.name = name;
    if (code !== undefined) (error as NodeJS.ErrnoException).code = code;
  }
  return { kind: 'failed', what: wire.what, keep: wire.keep, error };
}
