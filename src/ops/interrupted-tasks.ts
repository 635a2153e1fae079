// Interrupted tasks: a queued or running task whose owner process is gone (kill -9, a crash, a power cut) would
// otherwise stay "running" forever. Servers and workers look for them at start and every TASK_LOGS_OWNER_CHECK_SECONDS
// and end them as failed with the error "interrupted: ...", through the file writer like any other result.
import { randomBytes } from 'node:crypto';
import { lstat, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { SpanStatusCode } from '@opentelemetry/api';
import type { PushOutcome, TaskFileWriter } from '../../exporters/task-file-writer.ts';
import type { TelemetryItem } from '../../exporters/telemetry-item.ts';
import { ATTR, OPERATION } from '../contract/attributes.ts';
import { forEachLimited } from '../contract/for-each-limited.ts';
import { TASK_FILES, type TaskMetadata, type TaskOwner } from '../contract/task-files.ts';
import { ownerState, processOwner } from '../instrumentation/process-owner.ts';
import type { IdsPosition, TaskIndex } from '../store/task-index.ts';
import { tasksCount } from './count-words.ts';
import { listTaskFolders, summarize } from './task-folders.ts';
import { type UnrecordedTask, unrecordedTask } from './unrecorded-task.ts';
import { cutTornTails } from './verify.ts';

export interface InterruptedTask {
  task_id: string;
  /** undefined: a folder with no metadata.json (its writer died before the first metadata write) */
  status: 'queued' | 'running' | undefined;
  /** the error written to 04-final-result.json (or, for a run that had ended, how its metadata was recovered) */
  error: string;
  /** the task's trace, so the ending joins it */
  trace_id: string | undefined;
  /** for a folder with no metadata.json: when it began and started, from its first lines */
  created_at?: string;
  started_at?: string;
  /** for a folder with no metadata.json whose 04-final-result.json was written: the run's own ending, kept */
  finished?: { success: boolean };
}

/** what a check can end: the candidates may leave out what it cannot */
export interface CandidateScope {
  /** a task whose folder was written after this time (ms since the epoch) cannot be ended by this check, unless its
   * owner is on `keepHost` (a gone one is ended at once): such a task may be left out unread. A task whose last
   * write or owner is not known must not be (the check confirms on disk either way). */
  writtenBefore: number;
  /** this host, when its gone owners' tasks are ended at once (the queue does not run them again) */
  keepHost: string | undefined;
}

export interface FindInterruptedOptions {
  root: string;
  /** ids of tasks that may be queued or running (from the index); by default every task folder is read */
  candidates?: (scope: CandidateScope) => Iterable<string> | Promise<Iterable<string>>;
  now?: Date;
  /** a task whose owner cannot be checked from here ends after this long without a write to its folder */
  staleMs: number;
  /** the queue runs a task again when its process dies (Redis/BullMQ): then a dead owner is left to the queue */
  queueRunsAgain?: boolean;
  /** true while the queue still holds the task's job (waiting, delayed or running): such a task is the queue's,
   * however long it has waited, and is never ended here; a queue that cannot answer leaves it to the next check */
  stillQueued?: (taskId: string) => Promise<boolean>;
  /** which of these tasks' jobs the queue holds, read at once (undefined: ask stillQueued for each). A candidate
   * among them is left unread; one not among them is still asked on its own before it is ended. */
  heldAmong?: (taskIds: readonly string[]) => Promise<ReadonlySet<string> | undefined>;
  /** stops the check between tasks (a server shutting down does not wait for a scan of a long backlog) */
  signal?: AbortSignal;
}

async function findInterruptedTasks(options: FindInterruptedOptions): Promise<InterruptedTask[]> {
  const now = options.now ?? new Date();
  // a task is ended once unwritten for staleMs, or at once when its owner on this host is gone and the queue does not
  // run it again: the others are left out before their files are read (with a Redis backlog of 20,000 tasks just
  // queued, reading each one's metadata and stat'ing its files cost 10 s of CPU a check; without Redis, 5,000 running
  // tasks of another host's processes, an OTLP ingest's, cost 2.1 s)
  const scope: CandidateScope = {
    writtenBefore: now.getTime() - options.staleMs,
    keepHost: options.queueRunsAgain ? undefined : hostname(),
  };
  let ids = options.candidates
    ? [...(await options.candidates(scope))]
    : (await listTaskFolders(options.root)).map((folder) => folder.id);
  // a backlog that waited longer than staleMs: each task whose job the queue holds is left unread (they were each read
  // and the queue asked about each: 20,000 such tasks cost 16 s of CPU a check, 140,000 Redis commands). A queue
  // that cannot answer leaves them to the loop, which asks about each before ending it.
  if (options.heldAmong !== undefined && ids.length >= HELD_AT_ONCE && !options.signal?.aborted) {
    const held = await options.heldAmong(ids).catch(() => undefined);
    if (held !== undefined && held.size > 0) ids = ids.filter((id) => !held.has(id));
  }
  const queued = async (id: string) => {
    if (options.stillQueued === undefined) return false;
    try {
      return await options.stillQueued(id);
    } catch {
      return true;
    }
  };
  const check = async (id: string): Promise<InterruptedTask | undefined> => {
    const dir = join(options.root, id);
    const { metadata, readError } = await summarize({ id, dir }, { sizes: false });
    if (metadata === undefined && readError === undefined) {
      const unrecorded = await unrecordedTask(dir);
      if (unrecorded === undefined || now.getTime() - unrecorded.lastWriteMs < options.staleMs)
        return undefined;
      if (await queued(id)) return undefined;
      return endingOfUnrecorded(id, unrecorded, now);
    }
    const status = metadata?.status;
    if (status !== 'queued' && status !== 'running') return undefined;
    const owner = isOwner(metadata?.owner) ? metadata.owner : undefined;
    const state = owner === undefined ? 'unknown' : ownerState(owner);
    if (state === 'alive') return undefined;
    const at = now.toISOString();
    if (state === 'gone' && !options.queueRunsAgain) {
      if (await queued(id)) return undefined;
      return {
        task_id: id,
        status,
        error: `interrupted: ${describe(owner!)} is gone (found by ${describe(processOwner())} at ${at})`,
        trace_id: traceIdOf(metadata),
      };
    }
    const last = await lastWrite(dir);
    if (last === undefined || now.getTime() - last < options.staleMs) return undefined;
    if (await queued(id)) return undefined;
    return {
      task_id: id,
      status,
      error:
        `interrupted: ${status} with no write since ${new Date(last).toISOString()}, and its owner ` +
        `${owner ? describe(owner) : '(not recorded)'} cannot be checked from ${hostname()} (found at ${at})`,
      trace_id: traceIdOf(metadata),
    };
  };
  // CHECK_CONCURRENCY candidates read at a time, in the order of the ids
  const found: (InterruptedTask | undefined)[] = new Array(ids.length);
  await forEachLimited(ids, CHECK_CONCURRENCY, async (id, i) => {
    if (options.signal?.aborted) return;
    found[i] = await check(id);
  });
  return found.filter((task) => task !== undefined);
}

// fewer candidates than this are each asked about as they are read (two calls to read the queue's held jobs would
// cost more)
const HELD_AT_ONCE = 16;

// a folder with no metadata.json, unwritten for the stale limit: its writer is gone (a live writer writes metadata in
// the same flush as its first lines). A run that had ended keeps its own result; any other ends as interrupted.
function endingOfUnrecorded(id: string, unrecorded: UnrecordedTask, now: Date): InterruptedTask {
  const last = new Date(unrecorded.lastWriteMs).toISOString();
  const base = {
    task_id: id,
    status: undefined,
    created_at: unrecorded.createdAt,
    ...(unrecorded.startedAt === undefined ? {} : { started_at: unrecorded.startedAt }),
  };
  const { result } = unrecorded;
  if (result !== undefined) {
    return {
      ...base,
      trace_id:
        result.traceId !== undefined && /^[0-9a-f]{32}$/.test(result.traceId) ? result.traceId : undefined,
      error: `recovered: ${TASK_FILES.metadata} was never written (last write ${last}); the status comes from ${TASK_FILES.finalResult}`,
      finished: { success: result.success },
    };
  }
  return {
    ...base,
    trace_id: undefined,
    error:
      `interrupted: its writer stopped before recording the task (no ${TASK_FILES.metadata}, no write since ` +
      `${last}; found by ${describe(processOwner())} at ${now.toISOString()})`,
  };
}

/** Ends each task as failed with its error: an error line in 03, 04-final-result.json, metadata failed. */
function endInterruptedTasks(
  writer: TaskFileWriter,
  tasks: readonly InterruptedTask[],
  now = new Date(),
): Promise<PushOutcome> {
  const items: TelemetryItem[] = [];
  const time = toHrTime(now);
  for (const task of tasks) {
    const traceId = task.trace_id ?? randomBytes(16).toString('hex');
    const spanContext = { traceId, spanId: randomBytes(8).toString('hex'), traceFlags: 1 };
    const created = task.created_at === undefined ? {} : { [ATTR.taskCreatedAt]: task.created_at };
    if (task.finished !== undefined) {
      // the run ended and its result is on disk: only the metadata it never wrote, with the status the result says
      const start = toHrTime(new Date(task.started_at ?? task.created_at ?? now));
      items.push({
        started: {
          name: `${OPERATION.invokeAgent} recovered`,
          attributes: {
            [ATTR.taskId]: task.task_id,
            [ATTR.genAiOperationName]: OPERATION.invokeAgent,
            ...created,
          },
          startTime: start,
          endTime: start,
          status: { code: SpanStatusCode.UNSET },
          spanContext: () => spanContext,
        },
      });
      items.push({
        name: 'task recovered',
        attributes: {
          [ATTR.taskId]: task.task_id,
          [ATTR.taskStatus]: task.finished.success ? 'completed' : 'failed',
          ...created,
        },
        startTime: time,
        endTime: time,
        status: { code: SpanStatusCode.UNSET },
        spanContext: () => spanContext,
      });
      continue;
    }
    const started = task.started_at === undefined ? time : toHrTime(new Date(task.started_at));
    items.push({
      hrTime: time,
      attributes: { [ATTR.taskId]: task.task_id, [ATTR.outputType]: 'error' },
      body: task.error,
    });
    items.push({
      name: `${OPERATION.invokeAgent} interrupted`,
      attributes: {
        [ATTR.taskId]: task.task_id,
        [ATTR.genAiOperationName]: OPERATION.invokeAgent,
        [ATTR.resultSuccess]: false,
        [ATTR.resultError]: task.error,
        [ATTR.durationSeconds]: 0,
        ...created,
      },
      startTime: started,
      endTime: time,
      status: { code: SpanStatusCode.ERROR, message: task.error },
      spanContext: () => spanContext,
    });
  }
  return pushInSlices(writer, items);
}

// A backlog of thousands of tasks is two items each: pushed at once, everything past the writer's bounded queue was
// dropped and those tasks stayed queued. Slices of at most a quarter of the queue, each once the queue is at most
// half full (what is left is room for live traffic meanwhile).
async function pushInSlices(writer: TaskFileWriter, items: readonly TelemetryItem[]): Promise<PushOutcome> {
  const slice = Math.max(2, writer.maxQueue >> 2);
  const total: PushOutcome = { accepted: 0, rejected: 0, error: undefined };
  const outcomes: Promise<void>[] = [];
  for (let from = 0; from < items.length; from += slice) {
    if (from > 0) await writer.whenQueuedAtMost(Math.max(0, (writer.maxQueue >> 1) - slice));
    const outcome = new Promise<void>((resolve) =>
      writer.pushAll(items.slice(from, from + slice), (error, result) => {
        total.accepted += result.accepted;
        total.rejected += result.rejected;
        total.error ??= error;
        resolve();
      }),
    );
    outcomes.push(outcome);
    // written now, not when the flush timer fires (it is unref'd: a process with nothing else to do would not wait)
    void writer.forceFlush();
  }
  await Promise.all(outcomes);
  return total;
}

/** Ends one task as interrupted if it is still queued or running (a queue that gave up on it, for example). */
export async function endTaskIfActive(
  writer: TaskFileWriter,
  root: string,
  taskId: string,
  error: string,
): Promise<boolean> {
  const { metadata } = await summarize({ id: taskId, dir: join(root, taskId) }, { sizes: false });
  const status = metadata?.status;
  if (status !== 'queued' && status !== 'running') return false;
  await endInterruptedTasks(writer, [{ task_id: taskId, status, error, trace_id: traceIdOf(metadata) }]);
  return true;
}

/** Finds and ends them; what a server or worker runs at start and on its timer. */
export async function endTasksOfGoneOwners(
  writer: TaskFileWriter,
  options: FindInterruptedOptions,
): Promise<InterruptedTask[]> {
  const found = await findInterruptedTasks(options);
  // a writer killed inside an append leaves a torn last line; its owner is gone, so the line will never be finished:
  // cut it, or the "interrupted" line appended next would be glued to it (and cut with it by a repair)
  await forEachLimited(found, CHECK_CONCURRENCY, async (task) => {
    await cutTornTails(options.root, task.task_id).catch(() => []);
  });
  if (found.length > 0) await endInterruptedTasks(writer, found, options.now);
  return found;
}

// a backlog's candidates are read (and their torn tails cut) this many at a time. One at a time, the event loop waited
// on each file call in turn: 5,000 queued tasks of a dead owner took 2.5-5.8 s (median 3.5), now 2.1-2.9 (median
// 2.4), the same event-loop CPU (~2-3 s: the reading itself), a turn p99 of 0.2 ms (0.04 before). 16 at a time was no
// faster and held turns of up to 5 ms (p99.9).
const CHECK_CONCURRENCY = 4;

const LISTED_IDS = 5;

/** The log line for the tasks a check ended: the exact count and the first few ids (a backlog of thousands ended at
 * once would otherwise be one line of hundreds of KB, which log shippers cut or split). */
export function endedTasksLine(ended: readonly { task_id: string }[]): string {
  const listed = ended.slice(0, LISTED_IDS).map((task) => task.task_id);
  const more = ended.length - listed.length;
  return `ended ${tasksCount(ended.length).replace(' ', ' interrupted ')}: ${listed.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/**
 * ids of the tasks the index has as queued or running (each status oldest first), then the folders it knows no status
 * of. A page at a time, with a turn of the event loop between pages: a backlog of tens of thousands of queued tasks
 * read in one go held the event loop for most of a second, and one query over both statuses sorted them all again for
 * every page. Stops early (what was read so far) when `signal` is aborted or the index is closed. With a check's
 * `scope`, only the tasks it can end by what the index knows: unwritten since scope.writtenBefore, or whose folder
 * mtime it does not know, or (with keepHost) whose owner is on this host or not known (it confirms on disk).
 */
export async function activeTaskIds(
  index: TaskIndex,
  signal?: AbortSignal,
  scope?: CandidateScope,
): Promise<string[]> {
  const written = scope && { before: scope.writtenBefore, keepHost: scope.keepHost };
  // a set: a task that moves from queued to running between two pages is read in both lists (ended twice, it had two
  // endings)
  const ids = new Set<string>();
  for (const status of ['queued', 'running']) {
    let after: IdsPosition | undefined;
    do {
      if (index.closed || signal?.aborted) return [...ids];
      const page = index.idsWithStatus(status, after, ACTIVE_PAGE, written);
      for (const id of page.ids) ids.add(id);
      after = page.next;
      await setImmediate();
    } while (after !== undefined);
  }
  if (index.closed || signal?.aborted) return [...ids];
  for (const id of index.idsWithoutStatus(written)) ids.add(id);
  return [...ids];
}

// about a quarter of a millisecond a page on a quiet machine (a page of 1,000 held the event loop for 1 to 4 ms on a
// loaded one, 18 times a check with 18,000 queued tasks)
const ACTIVE_PAGE = 250;

function traceIdOf(metadata: Partial<TaskMetadata> | undefined): string | undefined {
  const id = metadata?.trace_id;
  return typeof id === 'string' && /^[0-9a-f]{32}$/.test(id) ? id : undefined;
}

function describe(owner: TaskOwner): string {
  return `process ${owner.pid} on ${owner.host} (started ${owner.started_at})`;
}

function isOwner(value: unknown): value is TaskOwner {
  if (value === null || typeof value !== 'object') return false;
  const o = value as Record<string, unknown>;
  return typeof o.host === 'string' && typeof o.pid === 'number' && typeof o.started_at === 'string';
}

// the latest write to the task's folder or to its files (a running agent appends to 03 as it works; an entry made or
// removed changes the folder's own mtime, the one the index keeps: a task the candidates left out as written lately
// by the index is one this would find written lately too)
async function lastWrite(dir: string): Promise<number | undefined> {
  let latest: number | undefined;
  for (const path of [
    dir,
    ...[TASK_FILES.metadata, TASK_FILES.agentOutput, TASK_FILES.webhookFlow].map((name) => join(dir, name)),
  ]) {
    try {
      const mtime = (await (path === dir ? lstat(path) : stat(path))).mtimeMs;
      latest = latest === undefined ? mtime : Math.max(latest, mtime);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return latest;
}

function toHrTime(date: Date): [number, number] {
  const ms = date.getTime();
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
}
