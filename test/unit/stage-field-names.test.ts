// The stage mapping remembers the names of the first stage field keys it sees (a speed-up for the few names a service
// uses). Keys come from clients too (OTLP ingest), and a key may be megabytes long: what is remembered must stay small
// however long the keys are. The mapping is imported as a module instance of its own, so the names it remembers start
// empty (the unit files share a worker and its modules: another file's 600 names would have filled them).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Attributes } from '@opentelemetry/api';
import { SpanStatusCode } from '@opentelemetry/api';
import { expect, it } from 'vitest';
import type * as TaskChanges from '../../exporters/task-changes.ts';
import type { SpanLike } from '../../exporters/telemetry-item.ts';
import { ATTR } from '../../src/contract/attributes.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function stageWithField(name: string): SpanLike {
  const attributes: Attributes = {
    [ATTR.taskId]: 'task-long-names',
    [ATTR.stageName]: 'received',
    [`${ATTR.stageFieldPrefix}${name}`]: 'x',
  };
  return {
    name: 'received',
    attributes,
    startTime: [1_700_000_000, 0],
    endTime: [1_700_000_000, 1_000_000],
    status: { code: SpanStatusCode.OK },
    spanContext: () => ({ traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceFlags: 1 }),
  };
}

it('keeps nothing of long stage field keys once their lines are mapped', async () => {
  const fresh = '../../exporters/task-changes.ts?fresh-stage-field-names';
  const { TaskChangeSet } = (await import(fresh)) as typeof TaskChanges;
  const before = heapUsed();
  const long = 'k'.repeat(256 * 1024);
  for (let i = 0; i < 8; i++) {
    const set = new TaskChangeSet();
    expect(set.add(stageWithField(`${i}${long}`))).toBe('mapped');
    expect(set.byTask.get('task-long-names')!.webhookLines[0]!.length).toBeGreaterThan(256 * 1024);
  }
  // 8 keys of 256 KiB: remembered, they held 4 MiB (each key and its name) for the life of the process
  expect(heapUsed() - before).toBeLessThan(1024 * 1024);
});

it("the recorder's stage field keys: the same keys as before, and nothing kept of long or countless names", async () => {
  // stage-span.ts remembers the attribute key of the first field names it sees (stage.field.<name>); fields also come
  // from services using the recorder, so what it remembers must stay bounded by count and by length
  const fresh = '../../src/instrumentation/stage-span.ts?fresh-stage-field-keys';
  const { stageAttributes } = (await import(
    fresh
  )) as typeof import('../../src/instrumentation/stage-span.ts');
  expect(stageAttributes({ event_type: 'push', bytes: 12, ok: true, gone: null, nested: { a: 1 } })).toEqual({
    [`${ATTR.stageFieldPrefix}event_type`]: 'push',
    [`${ATTR.stageFieldPrefix}bytes`]: 12,
    [`${ATTR.stageFieldPrefix}ok`]: true,
    [`${ATTR.stageFieldPrefix}nested`]: '{"a":1}',
  });
  const before = heapUsed();
  const long = 'k'.repeat(256 * 1024);
  for (let i = 0; i < 8; i++) {
    const attributes = stageAttributes({ [`${i}${long}`]: 'x' });
    expect(Object.keys(attributes)).toEqual([`${ATTR.stageFieldPrefix}${i}${long}`]);
  }
  for (let i = 0; i < 2_000; i++) stageAttributes({ [`name-${i}-${'n'.repeat(100)}`]: 'x' });
  // 8 keys of 256 KiB remembered would hold 2 MiB (the key); 2,000 names of ~120 characters, ~0.5 MiB more
  expect(heapUsed() - before).toBeLessThan(512 * 1024);
});
