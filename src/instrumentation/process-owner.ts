// This process as a task owner (host, pid, start time), and whether the owner a task names is still alive. A pid alone
// is not enough: after a restart the same pid may be a different process, so the start time from /proc is compared.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { TaskOwner } from '../contract/task-files.ts';

let self: TaskOwner | undefined;
let selfJson: string | undefined;

export function processOwner(): TaskOwner {
  self ??= {
    host: hostname(),
    pid: process.pid,
    start_ticks: startTicks(process.pid),
    started_at: new Date(Date.now() - process.uptime() * 1000).toISOString(),
  };
  return self;
}

/** the owner as the task.owner attribute carries it */
export function ownerAttribute(): string {
  selfJson ??= JSON.stringify(processOwner());
  return selfJson;
}

/** alive: that very process runs; gone: it does not; unknown: it is on another host, so it cannot be checked here */
export function ownerState(owner: TaskOwner): 'alive' | 'gone' | 'unknown' {
  if (owner.host !== hostname()) return 'unknown';
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return 'gone';
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to another user
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return 'gone';
  }
  const ticks = startTicks(owner.pid);
  if (ticks === null || owner.start_ticks === null) return 'alive';
  return ticks === owner.start_ticks ? 'alive' : 'gone';
}

// /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so fields count from the last ')'
function startTicks(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // no /proc here, or the process just ended: the pid check decides
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[19]);
  return Number.isFinite(ticks) ? ticks : null;
}
