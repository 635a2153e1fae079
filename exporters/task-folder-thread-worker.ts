// The writer thread's side: a TaskFolderWriter over the synchronous FileSystem. It takes one flush's task changes at
// a time, marks each task's progress in shared memory as it goes (so a thread that dies mid-flush leaves a record of
// what it finished, at no cost in messages), and answers the outcomes in one reply at the end of the flush, or
// earlier when it waits on something (a metadata lock held by another process).
import { parentPort } from 'node:worker_threads';
import { syncFileSystem } from './sync-file-system.ts';
import {
  encodeOutcome,
  fromWireTask,
  PROGRESS_FINISHED,
  PROGRESS_LINES,
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

function foldersFor(id: number, settings: ThreadSettings): TaskFolderWriter {
  if (folders === undefined || writer !== id) {
    writer = id;
    folders?.close();
    folders = new TaskFolderWriter({
      root: settings.root,
      fs: syncFileSystem,
      durable: settings.durable,
      onUnreadable: (path) => post({ unreadable: path }),
    });
  }
  return folders;
}

port.on('message', async (request: ThreadRequest) => {
  const folders = foldersFor(request.writer, request.settings);
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
    const outcome = await folders.apply(fromWireTask(request.tasks[i]!), () =>
      Atomics.or(progress, index, PROGRESS_LINES),
    );
    Atomics.or(progress, index, PROGRESS_FINISHED);
    pending.push([index, encodeOutcome(outcome)]);
    if (!early) {
      early = true;
      setImmediate(sendEarly);
    }
  }
  post({ flush: request.flush, outcomes: pending, done: true });
  pending = [];
});
post({ ready: true });
