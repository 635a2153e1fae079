// The task index as a writer thread opens it (TaskFileWriter's `index` option): the exporters do not import the store,
// so the thread loads this module by the URL it is given and opens the index with it. Its owner (the process that
// gave the path) has the file open already, so it is never set aside from here (see openUnsynced).
import type { ThreadIndex } from '../../exporters/task-folder-thread-wire.ts';
import { TaskIndex } from './task-index.ts';

// How long the thread's index writes wait for another connection's (the server's refresh, another process): the thread
// waits, not the event loop, so longer than the event loop's own 100-1,000 ms.
const BUSY_TIMEOUT_MS = 5_000;

export function openWriterIndex(path: string): ThreadIndex {
  return new TaskIndex(path, { busyTimeoutMs: BUSY_TIMEOUT_MS });
}
