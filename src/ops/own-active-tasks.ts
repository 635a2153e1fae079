// The queued and running tasks this process holds: the check for interrupted tasks skips them without reading their
// files (a live owner's task is never interrupted). With a backlog, reading every queued task's metadata.json every
// TASK_LOGS_OWNER_CHECK_SECONDS was a continuous load on the server's event loop: with 30,000 tasks queued, webhooks
// at 100/s answered in 10 ms at the median instead of 2. Kept from what the writer reports it wrote: a task is held
// while its metadata.json names this process as owner with a queued or running status.
import type { WrittenFiles } from '../../exporters/task-file-writer.ts';
import type { TaskOwner } from '../contract/task-files.ts';
import { processOwner } from '../instrumentation/process-owner.ts';

export class OwnActiveTasks {
  readonly #ids = new Set<string>();
  readonly #self: TaskOwner = processOwner();

  /** what the writer wrote (its onWritten) */
  record(written: readonly WrittenFiles[]): void {
    for (const { taskId, metadata } of written) {
      if (metadata === undefined) continue;
      const owner = metadata.owner;
      const mine =
        owner !== undefined &&
        owner !== null &&
        owner.pid === this.#self.pid &&
        owner.host === this.#self.host &&
        owner.started_at === this.#self.started_at;
      if (mine && (metadata.status === 'queued' || metadata.status === 'running')) this.#ids.add(taskId);
      else this.#ids.delete(taskId);
    }
  }

  has(taskId: string): boolean {
    return this.#ids.has(taskId);
  }

  get size(): number {
    return this.#ids.size;
  }
}
