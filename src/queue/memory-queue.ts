// MemoryQueue: the in-process queue of the embedded mode. Jobs run in this process, a few at a time.
import type { JobHandler, TaskJob, TaskQueue } from './task-job.ts';

export class MemoryQueue implements TaskQueue {
  readonly kind = 'memory';
  readonly #handler: JobHandler;
  readonly #concurrency: number;
  readonly #waiting: TaskJob[] = [];
  readonly #running = new Set<Promise<void>>();
  #closed = false;

  constructor(options: { handler: JobHandler; concurrency: number }) {
    this.#handler = options.handler;
    this.#concurrency = options.concurrency;
  }

  get size(): { waiting: number; running: number } {
    return { waiting: this.#waiting.length, running: this.#running.size };
  }

  async push(job: TaskJob): Promise<void> {
    if (this.#closed) throw new Error('the queue is closed');
    this.#waiting.push(job);
    this.#pump();
  }

  #pump(): void {
    while (this.#running.size < this.#concurrency && this.#waiting.length > 0) {
      const job = this.#waiting.shift()!;
      // the handler records its own failures in the task; a rejection here would be a bug, so it is reported
      const running: Promise<void> = this.#handler(job)
        .catch((error: unknown) => console.error('task-logs: a queued task failed unexpectedly:', error))
        .finally(() => {
          this.#running.delete(running);
          this.#pump();
        });
      this.#running.add(running);
    }
  }

  /** Stops taking jobs and waits for the running and waiting ones to finish. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#running.size > 0) await Promise.race(this.#running);
  }
}
