// The writer thread's side: a TaskFolderWriter over the synchronous FileSystem. It takes one flush's task changes at
// a time and says, for each task, when its lines are on disk and what became of it, as soon as each is known (so a
// thread that dies mid-flush leaves a record of what it finished), then `done`.
import { parentPort, workerData } from 'node:worker_threads';
import { syncFileSystem } from './sync-file-system.ts';
import type { TaskChanges } from './task-changes.ts';
import {
  encodeOutcome,
  type ThreadReply,
  type ThreadRequest,
  type ThreadSettings,
} from './task-folder-thread-wire.ts';
import { TaskFolderWriter } from './task-folder-writer.ts';

const port = parentPort;
if (port === null) throw new Error('task-folder-thread-worker.ts runs only as a worker thread');
const settings = workerData as ThreadSettings;
const post = (reply: ThreadReply) => port.postMessage(reply);
const folders = new TaskFolderWriter({
  root: settings.root,
  fs: syncFileSystem,
  durable: settings.durable,
  onUnreadable: (path) => post({ unreadable: path }),
});

port.on('message', async (request: ThreadRequest) => {
  // one task at a time: the calls are synchronous, so running several at once would only interleave their awaits
  for (let i = 0; i < request.tasks.length; i++) {
    const index = request.indexes[i]!;
    const outcome = await folders.apply(request.tasks[i] as TaskChanges, () =>
      post({ flush: request.flush, index, lines: true }),
    );
    post({ flush: request.flush, index, outcome: encodeOutcome(outcome) });
  }
  post({ flush: request.flush, done: true });
});
