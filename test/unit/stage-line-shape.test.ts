// A stage line is the span's start, the stage, the caller's fields (task.stage.*) as a copy of them would have them,
// then status/error, duration and ids. The mapping puts the fields straight into the line (and remembers the names
// of the first keys it sees): the bytes must be what copying them did, whatever the caller names its fields.
import { type Attributes, SpanStatusCode } from '@opentelemetry/api';
import { expect, it } from 'vitest';
import type * as TaskChanges from '../../exporters/task-changes.ts';
import type { SpanLike } from '../../exporters/telemetry-item.ts';
import { ATTR } from '../../src/contract/attributes.ts';
import { Redactor } from '../../src/contract/redaction/redactor.ts';
import { buildRuleSet } from '../../src/contract/redaction/rule-set.ts';

// a module instance of its own, so the names the mapping remembers start empty: the unit files share a worker and its
// modules, and names another file left there (up to the 512 remembered) would leave the remembered path unchecked
const fresh = '../../exporters/task-changes.ts?fresh-stage-line-shape';
const { TaskChangeSet } = (await import(fresh)) as typeof TaskChanges;

const redactor = new Redactor(buildRuleSet({ values: ['configured-secret-value-123'] }));

function span(stage: string, fields: Record<string, unknown>, error?: string): SpanLike {
  const attributes: Attributes = { [ATTR.taskId]: 'task-shape', [ATTR.stageName]: stage };
  for (const [name, value] of Object.entries(fields))
    attributes[`${ATTR.stageFieldPrefix}${name}`] = value as Attributes[string];
  return {
    name: stage,
    attributes,
    startTime: [1_700_000_000, 123_456_789],
    endTime: [1_700_000_000, 125_000_000],
    status:
      error === undefined ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.ERROR, message: error },
    spanContext: () => ({ traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceFlags: 1 }),
  };
}

/**
 * the line as the mapping built it before: an object of the fields, copied into the line (a field named __proto__
 * defined as a field, as JSON.parse would read it back: it was left out before fix9)
 */
function expected(s: SpanLike): string {
  const fields: Record<string, unknown> = {};
  for (const key in s.attributes)
    if (key.startsWith(ATTR.stageFieldPrefix))
      Object.defineProperty(fields, key.slice(ATTR.stageFieldPrefix.length), {
        value: s.attributes[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
  const line: Record<string, unknown> = {
    timestamp: '2023-11-14T22:13:20.123Z',
    stage: s.attributes[ATTR.stageName],
  };
  for (const [key, value] of Object.entries(fields))
    Object.defineProperty(line, key, { value, enumerable: true, writable: true, configurable: true });
  if (s.status.code === SpanStatusCode.ERROR) {
    if (line.status === undefined) line.status = 'failed';
    if (line.error === undefined && s.status.message && s.status.message !== line.detail)
      line.error = s.status.message;
  }
  line.duration_ms = 1.543;
  line.trace_id = 'c'.repeat(32);
  line.span_id = 'd'.repeat(16);
  return JSON.stringify(line);
}

function lineOf(s: SpanLike, set = new TaskChangeSet()): string {
  expect(set.add(s)).toBe('mapped');
  return set.byTask.get('task-shape')!.webhookLines.at(-1)!;
}

it('a stage line holds the fields as a copy of them did, whatever their names', () => {
  const cases = [
    span('received', { event_type: 'issue_comment', delivery_id: 'd-1', bytes: 312 }),
    // a field named like the writer's own keeps the writer's place in the line, with the caller's value
    span('validation', { timestamp: 'caller', stage: 'caller', status: 'passed', method: 'hmac' }),
    // integer-like names come first in any object; __proto__ is a field like any other, an array or a string alike
    span('command_matching', { '2': 'two', zeta: true, '1': 'one', ['__proto__']: ['x'] }),
    span('command_matching', { ['__proto__']: 'text', command: 'review' }),
    span('queue_push', { queue: 'memory', error: 'caller said' }, 'push failed'),
    span('queue_push', { queue: 'memory' }, 'push failed'),
    // a failed acknowledgement: its reason is the detail and the status message, said once
    span(
      'immediate_response',
      { action: 'reaction', status: 'failed', detail: 'GitHub answered 500' },
      'GitHub answered 500',
    ),
    span('task_created', { assigned_agent: 'brain', agent_type: 'planning', model: 'm', list: ['a', 'b'] }),
  ];
  for (const s of cases) expect(lineOf(s)).toBe(expected(s));
  // past the names the mapping remembers: 600 fields of new names, twice
  const many = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`field_${i}`, i]));
  for (let round = 0; round < 2; round++)
    expect(lineOf(span('received', many))).toBe(expected(span('received', many)));
});

it('a stage line with a secret in a field is redacted and counted, and the next line counts only its own', () => {
  const set = new TaskChangeSet(redactor);
  const line = lineOf(span('received', { delivery_id: 'configured-secret-value-123' }), set);
  expect(line).not.toContain('configured-secret-value-123');
  lineOf(
    span('validation', { method: 'hmac', note: 'configured-secret-value-123 configured-secret-value-123' }),
    set,
  );
  lineOf(span('command_matching', { command: 'review' }), set);
  const counts = set.byTask.get('task-shape')!.metadata?.redactions ?? {};
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(3);
});

it('the task_created stage gives the task its agent from the stage fields', () => {
  const set = new TaskChangeSet();
  lineOf(span('task_created', { assigned_agent: 'brain', agent_type: 'planning', model: 'claude' }), set);
  expect(set.byTask.get('task-shape')!.metadata).toMatchObject({
    status: 'queued',
    assigned_agent: 'brain',
    agent_type: 'planning',
    model: 'claude',
  });
});
