// The split mode's queue: BullMQ on Redis. Web processes push jobs (RedisQueue); `npm run worker` processes take
// them (startRedisWorker). The task's trace context is inside the job, so both sides write one trace and one folder.
import { Queue, Worker } from 'bullmq';
import { TaskJobSchema, type JobHandler, type TaskJob, type TaskQueue } from './task-job.ts';

export function redisConnection(url: string): { url: string; maxRetriesPerRequest: null } {
  // BullMQ workers need maxRetriesPerRequest null: a blocking read must wait for Redis, not give up
  return { url, maxRetriesPerRequest: null };
}

export class RedisQueue implements TaskQueue {
  readonly kind = 'redis';
  readonly #queue: Queue;

  constructor(options: { url: string; name: string }) {
    this.#queue = new Queue(options.name, {
      connection: redisConnection(options.url),
      defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 5000, attempts: 1 },
    });
  }

  async push(job: TaskJob): Promise<void> {
    await this.#queue.add('task', job, { jobId: job.message.task_id });
  }

  async close(): Promise<void> {
    await this.#queue.close();
  }
}

export function startRedisWorker(options: {
  url: string;
  name: string;
  concurrency: number;
  handler: JobHandler;
  onInvalid: (error: Error) => void;
}): Worker {
  return new Worker(
    options.name,
    async (job) => {
      const parsed = TaskJobSchema.safeParse(job.data);
      if (!parsed.success) {
        const error = new Error(`job ${job.id} is not a task job: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
        options.onInvalid(error);
        throw error; // BullMQ marks it failed, with the reason
      }
      await options.handler(parsed.data);
    },
    { connection: redisConnection(options.url), concurrency: options.concurrency },
  );
}
