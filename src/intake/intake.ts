// WebhookIntake: the stages every provider's delivery goes through once its signature is good: command matching,
// the immediate acknowledgement, task creation and the queue push, each a span of the task's trace. Requests that
// never become a task are counted in the rejection log instead of getting a folder.

import { createHash } from 'node:crypto';
import { TaskLogsError } from '../contract/errors.ts';
import { fetchFailure } from '../contract/fetch-failure.ts';
import type { SourceMetadata } from '../contract/task-files.ts';
import { newTaskId } from '../contract/task-id.ts';
import { withTimeout } from '../contract/with-timeout.ts';
import type { TaskRecorder } from '../instrumentation/task-recorder.ts';
import { MAX_PROMPT_CHARS, type TaskQueue } from '../queue/task-job.ts';
import type { CommandMatch, Commands } from './command-phrases.ts';
import { conversationIdOf } from './conversation-id.ts';
import type { Claim, DeliveryStore } from './delivery-store.ts';
import type { RejectionLog } from './rejection-log.ts';

export type Provider = 'github' | 'slack' | 'jira';

export interface AckResult {
  /** what was attempted: reaction, message, comment, ephemeral_reply */
  action: string;
  status: 'sent' | 'skipped' | 'failed' | 'timeout';
  detail?: string;
}

export interface Delivery {
  provider: Provider;
  /** the provider's id for this delivery, the same on a redelivery */
  deliveryId: string;
  eventType: string;
  /** where the command is looked for */
  text: string;
  sourceMetadata: SourceMetadata;
  /** a line of context for the agent's prompt (repository, issue, channel) */
  context: string;
  /** the provider's immediate acknowledgement; never throws (a failure is reported in the result) */
  acknowledge(taskId: string, match: CommandMatch): Promise<AckResult>;
}

export interface IntakeTimings {
  receivedAt: number;
  bodyReadAt: number;
  validatedAt: number;
  bytes: number;
  /** how the request was authenticated, for the validation stage */
  method: string;
}

export type IntakeOutcome =
  | { kind: 'queued'; taskId: string; ack: AckResult }
  | { kind: 'duplicate'; taskId: string }
  | { kind: 'ignored'; reason: string };

export interface IntakeDeps {
  tasks: TaskRecorder;
  commands: Commands;
  deliveries: DeliveryStore;
  queue: TaskQueue;
  rejections: RejectionLog;
  ackTimeoutMs?: number;
  /** how long the digest of a signed body identifies its delivery (WEBHOOK_DEDUPE_WINDOW_SECONDS) */
  dedupeWindowMs?: number;
  /** seconds a provider is asked to wait when the queue is full or down (Retry-After) */
  retryAfterSeconds?: number;
  /** whether a task has a folder (or a tombstone: retention deleted it); without one, a redelivery may make it anew */
  taskWasWritten?: (taskId: string) => boolean;
}

// A claim whose task has no folder this long after it was made belongs to a process that was killed before its
// writer wrote the task (the claim is made before the 202, the folder within the flush window, a second or two at
// saturation): a redelivery then makes the task instead of answering a duplicate of nothing. Younger, the task may
// still be in another process's writer.
const LOST_AFTER_MS = 60_000;

const DEFAULT_DEDUPE_WINDOW_MS = 24 * 3600 * 1000;

export class WebhookIntake {
  readonly #deps: IntakeDeps;

  constructor(deps: IntakeDeps) {
    this.#deps = deps;
  }

  get rejections(): RejectionLog {
    return this.#deps.rejections;
  }

  async #neverWritten(claim: { taskId: string; claimedAtMs: number }): Promise<boolean> {
    const written = this.#deps.taskWasWritten;
    if (written === undefined || Date.now() - claim.claimedAtMs <= LOST_AFTER_MS || written(claim.taskId))
      return false;
    // a job the queue still holds (a Redis backlog; its web process killed before its writer wrote the folder) runs
    // later and writes the task: a new task now would run the agent twice
    const { queue } = this.#deps;
    if (queue.holdsJob === undefined) return true;
    try {
      return !(await queue.holdsJob(claim.taskId));
    } catch {
      return false; // the queue cannot say: a duplicate, as before the claim could be given up
    }
  }

  /** signedBody: the exact bytes whose signature was checked; their digest dedupes deliveries whatever the headers */
  async process(delivery: Delivery, timings: IntakeTimings, signedBody?: Buffer): Promise<IntakeOutcome> {
    const { tasks, commands, deliveries, queue, rejections } = this.#deps;
    const matchStart = Date.now();
    const match = commands.match(delivery.text);
    const matchEnd = Date.now();
    const refuse = (reason: string, status: number) =>
      rejections.record({
        provider: delivery.provider,
        reason,
        status,
        delivery_id: delivery.deliveryId,
        event_type: delivery.eventType,
      });
    if (match === undefined) {
      refuse('no_command', 200);
      return { kind: 'ignored', reason: 'no command in the text' };
    }
    const prompt = [match.command.prompt, match.request || delivery.text, delivery.context]
      .filter(Boolean)
      .join('\n\n');
    // refused here, before any folder: a job this large would be refused by every worker and stay queued forever
    if (prompt.length > MAX_PROMPT_CHARS) {
      throw Object.assign(
        new TaskLogsError(
          'PAYLOAD_TOO_LARGE',
          `the prompt would be ${prompt.length} characters; the queue takes at most ${MAX_PROMPT_CHARS}`,
        ),
        { reason: 'prompt_too_large' },
      );
    }
    const taskId = newTaskId();
    const digest =
      signedBody === undefined ? undefined : createHash('sha256').update(signedBody).digest('hex');
    const window = this.#deps.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS;
    const claimNew = (lostTaskId?: string): Claim => {
      try {
        return deliveries.claimNew(
          delivery.provider,
          delivery.deliveryId,
          digest === undefined ? undefined : { digest, windowMs: window },
          taskId,
          lostTaskId,
        );
      } catch (error) {
        // nothing was claimed: the provider's redelivery, once the disk has room, is processed as new
        throw Object.assign(error as TaskLogsError, {
          reason: 'storage_unavailable',
          retryAfterSeconds: this.#deps.retryAfterSeconds ?? 30,
        });
      }
    };
    let claim = claimNew();
    if (!claim.claimed && (await this.#neverWritten(claim))) claim = claimNew(claim.taskId);
    if (!claim.claimed) return { kind: 'duplicate', taskId: claim.taskId };
    const release = () => {
      deliveries.release(delivery.provider, delivery.deliveryId, taskId); // a redelivery may try again
      if (digest !== undefined) deliveries.releaseBody(delivery.provider, digest, taskId);
    };
    // a full in-process queue refuses before the task exists: a flood costs no folder
    if (queue.isFull?.() === true) {
      release();
      throw this.#queueError('queue_full', 'the task queue is full; deliver again later');
    }

    const conversationId = conversationIdOf(delivery.provider, delivery.sourceMetadata);
    const task = tasks.start({
      taskId,
      source: 'webhook',
      provider: delivery.provider,
      ...(conversationId === undefined ? {} : { conversationId }),
      input: { message: delivery.text, source_metadata: delivery.sourceMetadata },
      startTime: new Date(timings.receivedAt),
    });
    task.recordStage(
      'received',
      { event_type: delivery.eventType, delivery_id: delivery.deliveryId, bytes: timings.bytes },
      { startTime: timings.receivedAt, endTime: timings.bodyReadAt },
    );
    task.recordStage(
      'validation',
      { status: 'passed', method: timings.method },
      { startTime: timings.bodyReadAt, endTime: timings.validatedAt },
    );
    task.recordStage(
      'command_matching',
      { command: match.command.name, phrase: match.phrase, matched: true },
      { startTime: matchStart, endTime: matchEnd },
    );
    const ack = await task.runStage('immediate_response', undefined, async (stage) => {
      const ackMs = this.#deps.ackTimeoutMs ?? 2000;
      const result = await withTimeout(
        delivery.acknowledge(taskId, match),
        ackMs,
        (): AckResult => ({
          action: 'acknowledge',
          status: 'timeout',
          detail: `no answer in ${ackMs} ms`,
        }),
      );
      stage.set({ ...result });
      return result;
    });
    task.recordStage('task_created', {
      assigned_agent: match.command.agent,
      agent_type: match.command.agent_type,
      model: match.command.model,
      command: match.command.name,
    });
    try {
      await task.runStage('queue_push', { queue: queue.kind }, async () => {
        try {
          await queue.push({
            message: task.toQueueMessage(),
            prompt,
            agent: {
              name: match.command.agent,
              ...(match.command.agent_type ? { type: match.command.agent_type } : {}),
              ...(match.command.model ? { model: match.command.model } : {}),
            },
          });
        } catch (error) {
          // marked before the queue_push stage ends (its end closes the task's trace): the folder says rejected,
          // never a queued task that nothing will run
          task.reject(`the task could not be queued: ${String(error)}`);
          throw error;
        }
      });
    } catch (error) {
      release();
      const full = (error as { code?: unknown }).code === 'QUEUE_FULL';
      throw this.#queueError(
        full ? 'queue_full' : 'queue_unavailable',
        full
          ? 'the task queue is full; deliver again later'
          : 'the task queue is unavailable; deliver again later',
        error,
      );
    }
    return { kind: 'queued', taskId, ack };
  }

  #queueError(reason: string, message: string, cause?: unknown): TaskLogsError {
    return Object.assign(new TaskLogsError('QUEUE_UNAVAILABLE', message, { cause }), {
      reason,
      retryAfterSeconds: this.#deps.retryAfterSeconds ?? 30,
    });
  }
}

/** POSTs JSON to a provider's API for an acknowledgement; any failure becomes a result, never an exception. */
export async function postAck(
  action: string,
  url: string,
  headers: Record<string, string>,
  body: unknown,
  isOk: (status: number, json: unknown) => boolean = (status) => status >= 200 && status < 300,
): Promise<AckResult> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined; // not JSON: judged by the status alone
    }
    if (isOk(response.status, json)) return { action, status: 'sent' };
    return { action, status: 'failed', detail: `HTTP ${response.status} ${text.slice(0, 200)}` };
  } catch (error) {
    return { action, status: 'failed', detail: fetchFailure(error) };
  }
}
