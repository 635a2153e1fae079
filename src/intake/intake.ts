// WebhookIntake: the stages every provider's delivery goes through once its signature is good: command matching,
// the immediate acknowledgement, task creation and the queue push, each a span of the task's trace. Requests that
// never become a task are counted in the rejection log instead of getting a folder.

import { TaskLogsError } from '../contract/errors.ts';
import type { SourceMetadata } from '../contract/task-files.ts';
import { newTaskId } from '../contract/task-id.ts';
import type { TaskRecorder } from '../instrumentation/task-recorder.ts';
import type { TaskQueue } from '../queue/task-job.ts';
import type { CommandMatch, Commands } from './command-phrases.ts';
import type { DeliveryStore } from './delivery-store.ts';
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
}

export class WebhookIntake {
  readonly #deps: IntakeDeps;

  constructor(deps: IntakeDeps) {
    this.#deps = deps;
  }

  get rejections(): RejectionLog {
    return this.#deps.rejections;
  }

  async process(delivery: Delivery, timings: IntakeTimings): Promise<IntakeOutcome> {
    const { tasks, commands, deliveries, queue, rejections } = this.#deps;
    const matchStart = Date.now();
    const match = commands.match(delivery.text);
    const matchEnd = Date.now();
    if (match === undefined) {
      rejections.record({
        provider: delivery.provider,
        reason: 'no_command',
        status: 200,
        delivery_id: delivery.deliveryId,
        event_type: delivery.eventType,
      });
      return { kind: 'ignored', reason: 'no command in the text' };
    }
    const taskId = newTaskId();
    const claim = deliveries.claim(delivery.provider, delivery.deliveryId, taskId);
    if (!claim.claimed) return { kind: 'duplicate', taskId: claim.taskId };

    const task = tasks.start({
      taskId,
      source: 'webhook',
      provider: delivery.provider,
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
      const result = await withTimeout(delivery.acknowledge(taskId, match), this.#deps.ackTimeoutMs ?? 2000);
      stage.set({ ...result });
      return result;
    });
    task.recordStage('task_created', {
      assigned_agent: match.command.agent,
      agent_type: match.command.agent_type,
      model: match.command.model,
      command: match.command.name,
    });
    const prompt = [match.command.prompt, match.request || delivery.text, delivery.context]
      .filter(Boolean)
      .join('\n\n');
    try {
      await task.runStage('queue_push', { queue: queue.kind }, () =>
        queue.push({
          message: task.toQueueMessage(),
          prompt,
          agent: {
            name: match.command.agent,
            ...(match.command.agent_type ? { type: match.command.agent_type } : {}),
            ...(match.command.model ? { model: match.command.model } : {}),
          },
        }),
      );
    } catch (error) {
      task.reject(`the task could not be queued: ${String(error)}`);
      deliveries.release(delivery.provider, delivery.deliveryId, taskId); // a redelivery may try again
      throw new TaskLogsError('QUEUE_UNAVAILABLE', 'the task queue is unavailable; deliver again later', {
        cause: error,
      });
    }
    return { kind: 'queued', taskId, ack };
  }
}

async function withTimeout(ack: Promise<AckResult>, ms: number): Promise<AckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<AckResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ action: 'acknowledge', status: 'timeout', detail: `no answer in ${ms} ms` }),
      ms,
    );
  });
  try {
    return await Promise.race([ack, timeout]);
  } finally {
    clearTimeout(timer);
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
    return { action, status: 'failed', detail: (error as Error).message };
  }
}
