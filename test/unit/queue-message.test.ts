import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
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
