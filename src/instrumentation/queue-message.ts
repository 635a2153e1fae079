// The task's context as a plain object any queue can carry: W3C traceparent/tracestate, baggage with task.id, and the
// task fields a worker needs to keep writing the same folder.
import {
  type Context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import {
  CompositePropagator,
  isTracingSuppressed,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { z } from 'zod';
import { ATTR } from '../contract/attributes.ts';
import { quote, TaskLogsError } from '../contract/errors.ts';
import { tryParseTaskId } from '../contract/task-id.ts';

// our own W3C propagator, not the global one: the hand-over works the same whether or not an SDK registered globals
const PROPAGATOR = new CompositePropagator({
  propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
});

export const TaskQueueMessageSchema = z.object({
  task_id: z.string().refine((raw) => tryParseTaskId(raw) !== undefined, {
    message: 'task_id must be 1-128 characters of [A-Za-z0-9._-], not "." or ".."',
  }),
  source: z.string().nullable(),
  provider: z.string().nullable(),
  created_at: z.iso.datetime(),
  conversation_id: z.string().min(1).max(512).optional(),
  // absent when the producer records nothing (TASK_LOGS_ENABLED=false): the worker then starts a trace of its own
  traceparent: z
    .string()
    .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/, 'not a W3C traceparent')
    .optional(),
  tracestate: z.string().max(512).optional(),
  baggage: z.string().max(8192).optional(),
});
export type TaskQueueMessage = z.infer<typeof TaskQueueMessageSchema>;

// W3C Baggage's bound on one name=value pair (the propagator leaves a longer one out)
const MAX_BAGGAGE_PAIR = 4096;

export function injectTaskContext(
  ctx: Context,
  fields: Omit<TaskQueueMessage, 'traceparent' | 'tracestate' | 'baggage'>,
): TaskQueueMessage {
  // The common case, a task's context with no baggage of its own, is written here as the propagators write it: going
  // through them made a context, a baggage and arrays of its entries per webhook for the same two strings. Any other
  // context (baggage to carry along, tracing suppressed) goes through them (queue-message.test.ts compares the two).
  if (propagation.getBaggage(ctx) === undefined && !isTracingSuppressed(ctx)) {
    const message: TaskQueueMessage = { ...fields };
    const span = trace.getSpanContext(ctx);
    if (span !== undefined && isSpanContextValid(span)) {
      message.traceparent = `00-${span.traceId}-${span.spanId}-0${Number(span.traceFlags || TraceFlags.NONE).toString(16)}`;
      const state = span.traceState?.serialize();
      if (state) message.tracestate = state;
    }
    const pair = `${encodeURIComponent(ATTR.taskId)}=${encodeURIComponent(fields.task_id)}`;
    if (pair.length <= MAX_BAGGAGE_PAIR) message.baggage = pair;
    return message;
  }
  const withBaggage = propagation.setBaggage(
    ctx,
    (propagation.getBaggage(ctx) ?? propagation.createBaggage()).setEntry(ATTR.taskId, {
      value: fields.task_id,
    }),
  );
  const carrier: Record<string, string> = {};
  PROPAGATOR.inject(withBaggage, carrier, {
    set: (c, key, value) => {
      c[key] = value;
    },
  });
  return {
    ...fields,
    ...(carrier.traceparent ? { traceparent: carrier.traceparent } : {}),
    ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}),
    ...(carrier.baggage ? { baggage: carrier.baggage } : {}),
  };
}

/** Checks a message taken off a queue and returns its fields and the remote parent context. */
export function extractTaskContext(raw: unknown): { message: TaskQueueMessage; context: Context } {
  const parsed = TaskQueueMessageSchema.safeParse(raw);
  if (!parsed.success) {
    throw new TaskLogsError(
      'QUEUE_MESSAGE_INVALID',
      `queue message ${quote(raw)} is not a task context: ${z.prettifyError(parsed.error)}`,
    );
  }
  const message = parsed.data;
  const carrier: Record<string, string | undefined> = {
    traceparent: message.traceparent,
    tracestate: message.tracestate,
    baggage: message.baggage,
  };
  const context = PROPAGATOR.extract(ROOT_CONTEXT, carrier, {
    get: (c, key) => c[key],
    keys: (c) => Object.keys(c),
  });
  if (message.traceparent !== undefined && trace.getSpanContext(context) === undefined) {
    throw new TaskLogsError(
      'QUEUE_MESSAGE_INVALID',
      `traceparent ${quote(message.traceparent)} is not valid`,
    );
  }
  const baggageTask = propagation.getBaggage(context)?.getEntry(ATTR.taskId)?.value;
  if (baggageTask !== undefined && baggageTask !== message.task_id) {
    throw new TaskLogsError(
      'QUEUE_MESSAGE_INVALID',
      `queue message names task ${quote(message.task_id)} but its baggage says ${quote(baggageTask)}`,
    );
  }
  return { message, context };
}
