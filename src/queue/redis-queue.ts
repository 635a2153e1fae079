// The split mode's queue: BullMQ on Redis. Web processes push jobs (RedisQueue); `npm run worker` processes take
// them (startRedisWorker). The task's trace context is inside the job, so both sides write one trace and one folder.
import { type Job, type JobType, Queue, Worker } from 'bullmq';
import { withTimeout } from '../contract/with-timeout.ts';
import { type JobAttempt, type JobHandler, type TaskJob, TaskJobSchema, type TaskQueue } from './task-job.ts';

function redisConnection(url: string): { url: string; maxRetriesPerRequest: null } {
  // BullMQ workers need maxRetriesPerRequest null: a blocking read must wait for Redis, not give up
  return { url, maxRetriesPerRequest: null };
}

const PUSH_TIMEOUT_MS = 3000;
// a job whose worker died (kill -9, a crash) is found by another worker's stall check and run once more
const MAX_STALLED = 1;

export class RedisQueue implements TaskQueue {
  readonly kind = 'redis';
  readonly #queue: Queue;
  #lastError = 0;

  constructor(options: { url: string; name: string; report?: (message: string) => void }) {
    const report = options.report ?? ((message: string) => process.stderr.write(`${message}\n`));
    this.#queue = new Queue(options.name, {
      // a producer must not wait for Redis: with it down, the webhook answers 503 and the provider redelivers later
      connection: { url: options.url, enableOfflineQueue: false, maxRetriesPerRequest: 1 },
      defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 5000, attempts: 1 },
    });
    // the client reconnects by itself; while Redis is down, say so once a minute rather than on every retry
    this.#queue.on('error', (error) => {
      if (Date.now() - this.#lastError < 60_000) return;
      this.#lastError = Date.now();
      report(`task queue: Redis unavailable (${error.message}); webhooks answer 503 until it is back`);
    });
  }

  async push(job: TaskJob): Promise<void> {
    await withTimeout(this.#queue.add('task', job, { jobId: job.message.task_id }), PUSH_TIMEOUT_MS, () => {
      throw new Error(`Redis did not take the job within ${PUSH_TIMEOUT_MS} ms`);
    });
  }

  async holdsJob(taskId: string): Promise<boolean> {
    const state = await withTimeout(this.#queue.getJobState(taskId), PUSH_TIMEOUT_MS, () => {
      throw new Error(`Redis did not answer within ${PUSH_TIMEOUT_MS} ms`);
    });
    return HELD_STATES.has(state);
  }

  /**
   * Which of these tasks' jobs the queue holds: the held job ids read a page at a time (one script a page), where
   * asking about each task (one script each: getJobState runs up to seven Redis commands, two of them LPOS scans of
   * lists as long as the backlog) cost 20,000 scripts a check with a backlog of 20,000 tasks. Pages of HELD_PAGE from
   * each list: the 23,700 ids of one reply held the event loop 16-30 ms (parsed in one go). A job that moves between
   * lists while they are read may be missed (the caller asks about such a task on its own). Undefined when the queue
   * holds over ten times as many jobs as there are tasks to ask about (asking about each is the cheaper way then).
   */
  async heldAmong(taskIds: readonly string[]): Promise<ReadonlySet<string> | undefined> {
    const timeout = () => {
      throw new Error(`Redis did not answer within ${PUSH_TIMEOUT_MS} ms`);
    };
    // with the queue paused, waiting jobs are in a list of their own (getJobState has them as waiting too)
    const types = [...HELD_STATES, 'paused'] as JobType[];
    const count = await withTimeout(this.#queue.getJobCountByTypes(...types), PUSH_TIMEOUT_MS, timeout);
    if (count > HELD_READ_FACTOR * taskIds.length) return undefined;
    const wanted = new Set(taskIds);
    const held = new Set<string>();
    for (let start = 0; ; start += HELD_PAGE) {
      // the same range of each list: empty once past the longest
      const page = await withTimeout(
        this.#queue.getRanges(types, start, start + HELD_PAGE - 1),
        PUSH_TIMEOUT_MS,
        timeout,
      );
      if (page.length === 0) break;
      for (const id of page) if (wanted.has(id)) held.add(id);
    }
    return held;
  }

  async close(): Promise<void> {
    await this.#queue.close();
  }
}

// heldAmong reads every held job id when there are at most this many times as many as tasks to ask about
const HELD_READ_FACTOR = 10;
// the held job ids read from each list at a time (2,000 parse in about 2 ms)
const HELD_PAGE = 2000;

// a job in one of these states will still run (or is running): its task is not interrupted however long it waits
const HELD_STATES: ReadonlySet<string> = new Set([
  'waiting',
  'delayed',
  'active',
  'prioritized',
  'waiting-children',
]);

export function startRedisWorker(options: {
  url: string;
  name: string;
  concurrency: number;
  /** the job lock's length and the stall check's period */
  stallSeconds?: number;
  handler: JobHandler;
  onInvalid: (error: Error) => void;
  /** the worker's errors, one line each; Redis being down is said once a minute, not on every reconnect */
  report?: (message: string) => void;
}): Worker {
  const worker = new Worker(
    options.name,
    async (job) => {
      const parsed = TaskJobSchema.safeParse(job.data);
      if (!parsed.success) {
        const error = new Error(
          `job ${job.id} is not a task job: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
        );
        options.onInvalid(error);
        throw error; // BullMQ marks it failed, with the reason
      }
      await options.handler(parsed.data, attemptOf(job));
    },
    {
      connection: redisConnection(options.url),
      concurrency: options.concurrency,
      maxStalledCount: MAX_STALLED,
      lockDuration: (options.stallSeconds ?? 30) * 1000,
      stalledInterval: (options.stallSeconds ?? 30) * 1000,
    },
  );
  const report = options.report ?? ((message: string) => process.stderr.write(`${message}\n`));
  let lastDown = 0;
  worker.on('error', (error) => {
    if (!isConnectionError(error)) return report(error.message);
    if (Date.now() - lastDown < 60_000) return;
    lastDown = Date.now();
    report(`task queue: Redis unavailable (${error.message}); no task runs until it is back`);
  });
  return worker;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);

function isConnectionError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    (typeof code === 'string' && CONNECTION_CODES.has(code)) || error.message === 'Connection is closed.'
  );
}

/** attemptsStarted counts every run (stalled ones too); attemptsMade only the failed ones */
export function attemptOf(
  job: Pick<Job, 'attemptsStarted' | 'attemptsMade' | 'failedReason' | 'opts'>,
): JobAttempt {
  const number = Math.max(1, job.attemptsStarted);
  const of = (job.opts.attempts ?? 1) + MAX_STALLED;
  let previous: string | undefined;
  if (number > 1) {
    const stalled = number - 1 - job.attemptsMade > 0;
    previous = stalled
      ? 'the worker running it stopped without finishing (killed or crashed), so the queue ran it again'
      : `it failed: ${job.failedReason ?? 'no reason given'}`;
  }
  return { number, of, previous };
}
