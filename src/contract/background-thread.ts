// Lowers the scheduling priority of the calling worker thread (nice 10), for threads doing background work (decoding
// a large request body) that share cores with the event loop: on a busy core the event loop, which answers every
// request, is then run first, and the background thread takes the time it leaves. Linux only (a thread is told apart
// by its id, read from /proc/thread-self); elsewhere, or if the call is refused, nothing changes.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

export const BACKGROUND_NICE = 10;

/** true when the calling thread now runs at BACKGROUND_NICE */
export function runInBackground(): boolean {
  try {
    // "<pid>/task/<tid>": setpriority(2) with a thread id changes that thread alone
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, BACKGROUND_NICE);
    return true;
  } catch {
    return false;
  }
}
