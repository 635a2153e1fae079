// Lowers the scheduling priority of the calling worker thread (10 nice steps below where it started), for threads
// doing background work (decoding a large request body) that share cores with the event loop: on a busy core the
// event loop, which answers every request, is then run first, and the background thread takes the time it leaves.
// Linux only (a thread is told apart by its id, read from /proc/thread-self); elsewhere, or if the call is refused,
// nothing changes.
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

export const BACKGROUND_NICE = 10;

/** true when the calling thread now runs BACKGROUND_NICE below the thread that made it (up to nice 19). Relative, not
 * nice 10 outright: in a process started at nice 15 (`nice npm start`), run as root, that would have put the thread
 * ahead of the event loop. A new thread starts at its maker's nice value. */
export function runInBackground(): boolean {
  try {
    // "<pid>/task/<tid>": setpriority(2) with a thread id changes that thread alone
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, Math.min(19, getPriority(tid) + BACKGROUND_NICE));
    return true;
  } catch {
    return false;
  }
}
