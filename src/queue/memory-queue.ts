// MemoryQueue: the in-process queue of the embedded mode. Jobs run in this process, a few at a time. Bounded: by the
// number of jobs waiting and by the bytes their prompts hold; past either, a push is refused (QUEUE_FULL) and the
// webhook answers 503 with Retry-After, so a flood costs a fixed amount of memory.
import type { JobHandler, TaskJob, TaskQueue } from './task-job.ts';

export interface MemoryQueueOptions {
  handler: JobHandler;
  concurrency: number;
  /** jobs that may wait for a free slot (TASK_QUEUE_MAX_WAITING) */
  maxWaiting?: number;
  /** bytes of prompt that waiting jobs may hold (TASK_QUEUE_MAX_BYTES) */
  maxBytes?: number;
}

class QueueFullError extends Error {
  readonly code = 'QUEUE_FULL';
  constructor(message: string) {
    super(message);
    this.name = 'QueueFullError';
  }
}

const jobBytes = (job: TaskJob) => Buffer.byteLength(job.prompt) + 1024; // the prompt and the job's small fields

export class MemoryQueue implements TaskQueue {
  readonly kind = 'memory';
  readonly #handler: JobHandler;
  readonly #concurrency: number;
  readonly #maxWaiting: number;
  readonly #maxBytes: number;
  readonly #waiting: TaskJob[] = [];
  readonly #running = new Set<Promise<void>>();
  /** the task ids of the jobs waiting or running, with how many jobs of each (a task is queued once, but a count
   * cannot be thrown out by a second push of the same id) */
  readonly #held = new Map<string, number>();
  #waitingBytes = 0;
  #closed = false;

  constructor(options: MemoryQueueOptions) {
    this.#handler = options.handler;
    this.#concurrency = options.concurrency;
    this.#maxWaiting = options.maxWaiting ?? 1000;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  }

  get size(): { waiting: number; running: number } {
    return { waiting: this.#waiting.length, running: this.#running.size };
  }

  /** bytes the waiting jobs hold, as counted against maxBytes */
  get waitingBytes(): number {
    return this.#waitingBytes;
  }

  isFull(): boolean {
    return (
      this.#running.size >= this.#concurrency &&
      (this.#waiting.length >= this.#maxWaiting || this.#waitingBytes >= this.#maxBytes)
    );
  }

  async push(job: TaskJob): Promise<void> {
    if (this.#closed) throw new Error('the queue is closed');
    const bytes = jobBytes(job);
    const startsNow = this.#running.size < this.#concurrency && this.#waiting.length === 0;
    if (
      !startsNow &&
      (this.#waiting.length >= this.#maxWaiting || this.#waitingBytes + bytes > this.#maxBytes)
    ) {
      throw new QueueFullError(
        `the in-process queue is full (${this.#waiting.length} tasks, ${this.#waitingBytes} bytes waiting)`,
      );
    }
    this.#waiting.push(job);
    this.#waitingBytes += bytes;
    const taskId = job.message.task_id;
    this.#held.set(taskId, (this.#held.get(taskId) ?? 0) + 1);
    this.#pump();
  }

  /** True while a job of the task waits or runs here: the intake then keeps a redelivery a duplicate, even with no
   * folder written yet (a writer that cannot write), as it does with Redis. */
  async holdsJob(taskId: string): Promise<boolean> {
    return this.#held.has(taskId);
  }

  #release(taskId: string): void {
    const count = this.#held.get(taskId) ?? 0;
    if (count > 1) this.#held.set(taskId, count - 1);
    else this.#held.delete(taskId);
  }

  #pump(): void {
    while (this.#running.size < this.#concurrency && this.#waiting.length > 0) {
      const job = this.#waiting.shift()!;
      this.#waitingBytes -= jobBytes(job);
      // the handler records its own failures in the task; a rejection here would be a bug, so it is reported
      const running: Promise<void> = this.#handler(job)
        .catch((error: unknown) => console.error('task-logs: a queued task failed unexpectedly:', error))
        .finally(() => {
          this.#running.delete(running);
          this.#release(job.message.task_id);
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
