// The writer thread's side: a TaskFolderWriter over the synchronous FileSystem. It takes one flush's task changes at
// a time, marks each task's progress in shared memory as it goes (so a thread that dies mid-flush leaves a record of
// what it finished, at no cost in messages), and answers the outcomes in one reply at the end of the flush, or
// earlier when it waits on something (a metadata lock held by another process). With an index path in its settings
// it also puts the rows of what each flush wrote into the task index, through a connection of its own, before its
// last reply: the index's upserts (27-53 µs of CPU a row once it holds tens of thousands of tasks) stay off the event
// loop too.
import { parentPort } from 'node:worker_threads';
import { syncFileSystem } from './sync-file-system.ts';
import {
  encodeOutcome,
  fromWireTask,
  type IndexRow,
  PROGRESS_FINISHED,
  PROGRESS_LINES,
  type ThreadIndex,
  type ThreadRelease,
  type ThreadReply,
  type ThreadRequest,
  type ThreadSettings,
  type WireOutcome,
} from './task-folder-thread-wire.ts';
import { TaskFolderWriter } from './task-folder-writer.ts';

const port = parentPort;
if (port === null) throw new Error('task-folder-thread-worker.ts runs only as a worker thread');
const post = (reply: ThreadReply) => port.postMessage(reply);
// the writer this thread works for, and its folder state (known folders, torn files, metadata files made); a thread
// kept after its writer shut down and taken by another starts afresh for the new one, as a new thread would
let writer = 0;
let folders: TaskFolderWriter | undefined;

// the index of the writer this thread works for, opened at its first flush that wrote a row; `failed`: it could not be
// opened (the writer indexes the rows itself), not tried again for this writer
let held: { key: string; open: ThreadIndex | undefined; failed: string | undefined } | undefined;

async function release(): Promise<void> {
  const closing = folders;
  folders = undefined;
  closing?.close();
  // the removal of a killed writer's leftovers stops at its next step: waited for, so that nothing of this writer's
  // touches its folder once the release is answered
  await closing?.leftoversCleared().catch(() => undefined);
  try {
    held?.open?.close();
  } catch {
    // a close that fails leaves nothing to do: the connection is gone with the thread at the latest
  }
  held = undefined;
}

function foldersFor(id: number, settings: ThreadSettings): TaskFolderWriter {
  if (folders === undefined || writer !== id) {
    void release();
    writer = id;
    folders = new TaskFolderWriter({
      root: settings.root,
      fs: syncFileSystem,
      durable: settings.durable,
      onUnreadable: (path) => post({ unreadable: path }),
    });
  }
  return folders;
}

/** the index for these settings, opened once per writer with the module it names; or why it could not be opened */
async function indexFor(settings: ThreadSettings): Promise<ThreadIndex | string | undefined> {
  const given = settings.index;
  if (given === undefined) return undefined;
  const key = `${given.module}\n${given.path}`;
  if (held === undefined || held.key !== key) {
    held?.open?.close();
    held = { key, open: undefined, failed: undefined };
    try {
      const module = (await import(given.module)) as { openWriterIndex: (path: string) => ThreadIndex };
      held.open = module.openWriterIndex(given.path);
    } catch (error) {
      held.failed = `the writer thread could not open the task index (${String(error)})`;
    }
  }
  return held.open ?? held.failed;
}
// rows per transaction: a flush after a burst holds thousands, and one transaction for them all would hold the
// index's write lock (which the event loop's own index writes then wait for) for tens of milliseconds
const INDEX_ROWS_PER_TRANSACTION = 128;

/** puts the written tasks' rows in the index; the flush indexes of those it did, or why it could not */
async function indexRows(
  settings: ThreadSettings,
  rows: [number, string, IndexRow][],
): Promise<{ indexed?: number[]; indexError?: string }> {
  if (rows.length === 0) return {};
  const open = await indexFor(settings);
  if (open === undefined) return {};
  if (typeof open === 'string') return { indexError: open };
  const indexed: number[] = [];
  const waiting = settings.index?.waiting === undefined ? undefined : new Int32Array(settings.index.waiting);
  try {
    for (let from = 0; from < rows.length; from += INDEX_ROWS_PER_TRANSACTION) {
      // a write of the event loop's connection under way waits for this thread's lock: it goes first (it is
      // synchronous, so this waits no longer than it holds the event loop)
      if (waiting !== undefined) waitWhileWriting(waiting);
      const slice = rows.slice(from, from + INDEX_ROWS_PER_TRANSACTION);
      open.upsertMany(slice.map(([, taskId, files]) => [taskId, files]));
      for (const [at] of slice) indexed.push(at);
    }
    return { indexed };
  } catch (error) {
    return { indexed, indexError: `the task index could not take the latest writes: ${String(error)}` };
  }
}

function waitWhileWriting(waiting: Int32Array): void {
  for (let count = Atomics.load(waiting, 0); count > 0; count = Atomics.load(waiting, 0))
    Atomics.wait(waiting, 0, count, 100);
}

port.on('message', async (message: ThreadRequest | ThreadRelease) => {
  if ('release' in message) {
    if (message.release === writer) await release();
    post({ released: message.release });
    return;
  }
  const request = message;
  const folders = foldersFor(request.writer, request.settings);
  const rows: [number, string, IndexRow][] = [];
  const progress = new Int32Array(request.progress);
  let pending: [number, WireOutcome][] = [];
  // The file calls are synchronous, so a flush runs to its end without returning to this thread's event loop unless
  // it waits (a lock's retry timer): an immediate queued with the first pending outcome runs only then, and sends
  // what is finished so far, so the writer is not left without news while the thread waits.
  let early = false;
  const sendEarly = () => {
    early = false;
    if (pending.length === 0) return;
    post({ flush: request.flush, outcomes: pending, done: false });
    pending = [];
  };
  // one task at a time: the calls are synchronous, so running several at once would only interleave their awaits
  for (let i = 0; i < request.tasks.length; i++) {
    const index = request.indexes[i]!;
    const changes = fromWireTask(request.tasks[i]!);
    const outcome = await folders.apply(changes, () => Atomics.or(progress, index, PROGRESS_LINES));
    Atomics.or(progress, index, PROGRESS_FINISHED);
    pending.push([index, encodeOutcome(outcome)]);
    // the row the writer would give the index (TaskFileWriter's WrittenFiles): written metadata or a result
    if (outcome.kind === 'written' && (outcome.metadata !== undefined || changes.finalResult !== undefined))
      rows.push([
        index,
        changes.taskId,
        {
          metadata: outcome.metadata,
          finalResult: changes.finalResult,
          ...(outcome.folderMtimeMs === undefined ? {} : { folderMtimeMs: outcome.folderMtimeMs }),
        },
      ]);
    if (!early) {
      early = true;
      setImmediate(sendEarly);
    }
  }
  post({ flush: request.flush, outcomes: pending, done: true, ...(await indexRows(request.settings, rows)) });
  pending = [];
});
post({ ready: true });
