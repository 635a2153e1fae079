// Plain text output lines are built as strings (a fast path with no object per line); they must be byte for byte what
// the general path, which builds an object and serializes it, writes for the same record, secrets redacted alike.
import type { Attributes } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { TaskChangeSet } from '../../exporters/task-changes.ts';
import type { LogRecordLike } from '../../exporters/telemetry-item.ts';
import { Redactor } from '../../src/contract/redaction/redactor.ts';
import { buildRuleSet } from '../../src/contract/redaction/rule-set.ts';

const redactor = new Redactor(buildRuleSet({ values: ['configured-secret-value-123'] }));

function lineOf(record: LogRecordLike, withRedactor: boolean) {
  const set = new TaskChangeSet(withRedactor ? redactor : undefined);
  expect(set.add(record)).toBe('mapped');
  const changes = set.byTask.get('task-shape')!;
  return { line: changes.outputLines[0]!, redactions: changes.metadata?.redactions };
}

function record(body: unknown, extra: Attributes, context: boolean): LogRecordLike {
  return {
    hrTime: [1_700_000_000, 123_456_789],
    attributes: { 'task.id': 'task-shape', 'task.output.type': 'text', ...extra },
    body,
    spanContext: context ? { traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceFlags: 1 } : undefined,
  };
}

const BODIES: unknown[] = [
  'plain words',
  'quotes " and \\ backslashes\nnew lines\ttabs \u0001 control \u2028 separators',
  'unicode: caf\u00e9 \ud83d\ude80 and a lone surrogate \ud800',
  '',
  undefined,
  { structured: ['body', 1] },
  'a key: configured-secret-value-123, twice: configured-secret-value-123',
];

describe('plain output lines', () => {
  for (const withRedactor of [false, true]) {
    for (const context of [false, true]) {
      for (const seq of [undefined, 7]) {
        it(`match the general path (redaction ${withRedactor}, span context ${context}, seq ${seq})`, () => {
          for (const body of BODIES) {
            const extra: Attributes = seq === undefined ? {} : { 'task.output.seq': seq };
            const plain = lineOf(record(body, extra, context), withRedactor);
            // empty details take the general path and add no field
            const general = lineOf(
              record(body, { ...extra, 'task.output.details': '{}' }, context),
              withRedactor,
            );
            expect(plain).toEqual(general);
            expect(JSON.parse(plain.line)).toMatchObject({
              timestamp: '2023-11-14T22:13:20.123Z',
              type: 'text',
            });
          }
        });
      }
    }
  }

  it('redacts secrets in the content and counts them', () => {
    const { line, redactions } = lineOf(record(BODIES.at(-1), {}, true), true);
    expect(line).not.toContain('configured-secret-value-123');
    expect(Object.values(redactions ?? {}).reduce((a, b) => a + b, 0)).toBe(2);
  });
});
