// CPU time of this process by thread, from /proc (Linux only): ms by thread name, digits dropped. MainThread is the
// event loop (the request path), WorkerThread the writer or decode thread, V8Worker V8's helpers (garbage collection,
// compiling), libuv-worker the thread pool's file calls. Empty where there is no /proc.
import { readdirSync, readFileSync } from 'node:fs';

export function threadMs(): Record<string, number> {
  const ms: Record<string, number> = {};
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '');
      // utime and stime, in clock ticks of 10 ms
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ms[name] = (ms[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) * 10;
    }
  } catch {
    // no /proc: no split
  }
  return ms;
}

/** A thread's group by its name: main (the event loop), writer (the writer thread), v8 (V8's helpers), other. */
export function threadGroup(name: string): 'main' | 'writer' | 'v8' | 'other' {
  if (name === 'MainThread') return 'main';
  if (name === 'WorkerThread') return 'writer';
  return name.startsWith('V8') ? 'v8' : 'other';
}
