import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { testServer } from '../helpers/server.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

// values that are sometimes right and often wrong, where OTLP/JSON expects them
const anything = fc.oneof(
  { depthSize: 'small' },
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    null,
    '',
    '-1',
    '99999999999999999999999',
    '1700000000000000000',
    'a'.repeat(32),
    'b'.repeat(16),
  ),
  fc.integer(),
  fc.double(),
);
const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ stringValue: fc.oneof(fc.string(), anything) }, { requiredKeys: [] }),
    fc.record({ intValue: fc.oneof(fc.bigInt().map(String), anything) }, { requiredKeys: [] }),
    fc.record({ doubleValue: anything, boolValue: anything, bytesValue: anything }, { requiredKeys: [] }),
    fc.record({
      arrayValue: fc.record({
        values: fc.array(fc.oneof(tie('value'), fc.constant(null)), { maxLength: 3 }),
      }),
    }),
    fc.record({
      kvlistValue: fc.record({
        values: fc.array(fc.record({ key: fc.string(), value: tie('value') }, { requiredKeys: [] }), {
          maxLength: 3,
        }),
      }),
    }),
    anything,
  ),
})).value;
const attributes = fc.array(
  fc.oneof(
    fc.record(
      {
        key: fc.constantFrom(
          'task.id',
          'task.output.type',
          'task.stage',
          'gen_ai.operation.name',
          'task.tool.input',
        ),
        value: anyValue,
      },
      { requiredKeys: [] },
    ),
    fc.record({
      key: fc.constant('task.id'),
      value: fc.record({ stringValue: fc.constantFrom('task-p', '../x', '', 'task-p2') }),
    }),
    anything,
  ),
  { maxLength: 5 },
);
const logRecord = fc.record(
  {
    timeUnixNano: anything,
    observedTimeUnixNano: anything,
    body: anyValue,
    attributes,
    traceId: anything,
    spanId: anything,
    unknownField: anything,
  },
  { requiredKeys: [] },
);
const span = fc.record(
  {
    traceId: anything,
    spanId: anything,
    name: anything,
    startTimeUnixNano: anything,
    endTimeUnixNano: anything,
    attributes,
    status: fc.oneof(fc.record({ code: anything, message: anything }, { requiredKeys: [] }), anything),
  },
  { requiredKeys: [] },
);
const wrap = <T>(items: fc.Arbitrary<T>, outer: string, inner: string, field: string) =>
  fc.oneof(
    fc.array(items, { maxLength: 4 }).map((list) => ({ [outer]: [{ [inner]: [{ [field]: list }] }] })),
    fc.record(
      {
        [outer]: fc.oneof(
          anything,
          fc.array(fc.record({ [inner]: anything }, { requiredKeys: [] }), { maxLength: 2 }),
        ),
      },
      { requiredKeys: [] },
    ),
    anything,
  );

describe('the OTLP ingest under generated bodies', () => {
  it('always answers 2xx or 4xx, never 5xx, and keeps serving', { timeout: 120_000 }, async () => {
    const server = await testServer(await tempLogsDir());
    const bodies = fc.oneof(
      fc.tuple(fc.constant('/v1/logs'), wrap(logRecord, 'resourceLogs', 'scopeLogs', 'logRecords')),
      fc.tuple(fc.constant('/v1/traces'), wrap(span, 'resourceSpans', 'scopeSpans', 'spans')),
    );
    await fc.assert(
      fc.asyncProperty(bodies, async ([path, body]) => {
        const response = await freshFetch(`${server.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body) ?? 'null',
        });
        await response.arrayBuffer();
        expect(response.status).toBeLessThan(500);
        expect([200, 400]).toContain(response.status);
      }),
      { numRuns: 150 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom('/v1/logs', '/v1/traces'),
        async (bytes, path) => {
          const response = await freshFetch(`${server.url}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-protobuf' },
            body: bytes,
          });
          await response.arrayBuffer();
          expect([200, 400]).toContain(response.status);
        },
      ),
      { numRuns: 100 },
    );
    await server.telemetry.forceFlush();
    expect((await freshFetch(`${server.url}/healthz`)).status).toBe(200);
    expect(server.telemetry.writer?.stats().errors).toBe(0);
  });
});
