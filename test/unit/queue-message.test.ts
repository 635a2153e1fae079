import { type Context, propagation, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import {
  CompositePropagator,
  suppressTracing,
  TraceState,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { describe, expect, it } from 'vitest';
import { extractTaskContext, injectTaskContext } from '../../src/instrumentation/queue-message.ts';

const PARENT = trace.setSpanContext(ROOT_CONTEXT, {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: 1,
});
const FIELDS = {
  task_id: 'task-1',
  source: 'webhook',
  provider: 'github',
  created_at: '2024-01-01T00:00:00.000Z',
};

describe('queue messages', () => {
  it('carry the trace context and task id through JSON', () => {
    const message = JSON.parse(JSON.stringify(injectTaskContext(PARENT, FIELDS)));
    expect(message).toMatchObject({
      ...FIELDS,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      baggage: 'task.id=task-1',
    });
    const { context, message: parsed } = extractTaskContext(message);
    expect(parsed.task_id).toBe('task-1');
    expect(trace.getSpanContext(context)).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      isRemote: true,
    });
  });

  it.each([
    ['a hostile task id', { task_id: '../etc' }],
    ['a broken traceparent', { traceparent: '00-xyz' }],
    ['an all-zero trace id', { traceparent: `00-${'0'.repeat(32)}-b7ad6b7169203331-01` }],
    ['baggage naming another task', { baggage: 'task.id=task-2' }],
  ])('refuses %s', (_name, change) => {
    const message = { ...injectTaskContext(PARENT, FIELDS), ...change };
    expect(() => extractTaskContext(message)).toThrow(
      expect.objectContaining({ code: 'QUEUE_MESSAGE_INVALID' }),
    );
  });

  it('refuses something that is not a message at all, quoting it', () => {
    expect(() => extractTaskContext('hello')).toThrow(/queue message "hello" is not a task context/);
  });
});

describe('a queue message from a producer that records nothing', () => {
  it('has no traceparent, and a worker takes it as the start of a new trace', () => {
    const message = injectTaskContext(ROOT_CONTEXT, FIELDS);
    expect(message).not.toHaveProperty('traceparent');
    const { context } = extractTaskContext(JSON.parse(JSON.stringify(message)));
    expect(trace.getSpanContext(context)).toBeUndefined();
  });
});

describe('the headers of a queue message', () => {
  // what the W3C propagators write for a context, with the task id added to its baggage
  function byPropagators(ctx: Context, fields: typeof FIELDS & { conversation_id?: string }) {
    const propagator = new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    });
    const baggage = (propagation.getBaggage(ctx) ?? propagation.createBaggage()).setEntry('task.id', {
      value: fields.task_id,
    });
    const carrier: Record<string, string> = {};
    propagator.inject(propagation.setBaggage(ctx, baggage), carrier, {
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
  const span = (traceFlags: number, traceState?: TraceState) =>
    trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags,
      ...(traceState === undefined ? {} : { traceState }),
    });

  it.each([
    ['a sampled span', span(TraceFlags.SAMPLED)],
    ['an unsampled span', span(TraceFlags.NONE)],
    ['a span with trace state', span(TraceFlags.SAMPLED, new TraceState('vendor=a1,other=b2'))],
    ['a span with an empty trace state', span(TraceFlags.SAMPLED, new TraceState(''))],
    ['no span', ROOT_CONTEXT],
    [
      'an invalid span',
      trace.setSpanContext(ROOT_CONTEXT, { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 1 }),
    ],
    [
      'baggage of its own',
      propagation.setBaggage(span(1), propagation.createBaggage({ tenant: { value: 'a b' } })),
    ],
    [
      'baggage naming the task already',
      propagation.setBaggage(span(1), propagation.createBaggage({ 'task.id': { value: 'old' } })),
    ],
    ['tracing suppressed', suppressTracing(span(1))],
  ])('are what the W3C propagators write, for %s', (_name, ctx) => {
    for (const fields of [FIELDS, { ...FIELDS, task_id: 'task é/1', conversation_id: 'github:o/r#1' }]) {
      // the same keys in the same order
      expect(JSON.stringify(injectTaskContext(ctx, fields))).toBe(JSON.stringify(byPropagators(ctx, fields)));
    }
  });
});
