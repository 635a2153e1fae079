// TaskJob: what travels through the queue from the webhook process to a worker: the task's context (one trace, one
// folder), the agent to run and its prompt. Checked by zod when it is taken off the queue.
import { z } from 'zod';
import { TaskQueueMessageSchema } from '../instrumentation/queue-message.ts';

/** the largest prompt a job may carry; intake refuses a larger one (413) rather than queue a job no worker takes */
export const MAX_PROMPT_CHARS = 1_000_000;

export const TaskJobSchema = z.object({
  message: TaskQueueMessageSchema,
  prompt: z.string().max(MAX_PROMPT_CHARS),
  agent: z.object({
    name: z.string().min(1).max(100),
    type: z.string().min(1).max(100).optional(),
    model: z.string().min(1).max(200).optional(),
  }),
});
export type TaskJob = z.infer<typeof TaskJobSchema>;

/** Which run of a job this is, when the queue may run it again (a worker that died mid-run: BullMQ's stall check). */
export interface JobAttempt {
  /** 1 for the first run */
  number: number;
  /** the most runs the queue makes */
  of: number;
  /** why the previous run ended, from the second run on */
  previous: string | undefined;
}

export type JobHandler = (job: TaskJob, attempt?: JobAttempt) => Promise<void>;

export interface TaskQueue {
  readonly kind: 'memory' | 'redis';
  /** True when a push would be refused for lack of room (a bounded in-process queue); checked before a task starts. */
  isFull?(): boolean;
  /** Puts a job on the queue; resolves once it is safely there. */
  push(job: TaskJob): Promise<void>;
  /** True while the queue holds the task's job, waiting or running (a queue that outlives its processes only). */
  holdsJob?(taskId: string): Promise<boolean>;
  /** Which of these tasks' jobs the queue holds, read at once for a check over many tasks; undefined when asking
   * holdsJob for each is the cheaper way. */
  heldAmong?(taskIds: readonly string[]): Promise<ReadonlySet<string> | undefined>;
  close(): Promise<void>;
}
