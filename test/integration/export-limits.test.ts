// The attribute limits an operator sets for the OTLP export (OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT and
// OTEL_ATTRIBUTE_COUNT_LIMIT, which NodeSDK applies to its providers) must not cut what the files keep: they are the
// task's audit trail. Registered as `npm start` and the worker run it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { withEnv } from '../helpers/with-env.ts';

const INPUT = { path: '/srv/app/src/queue/retry-loop.ts', reason: 'the fixed delay between attempts' };

describe('the export limits and the files', () => {
  it('an output line keeps every attribute and its whole tool input in 03, with tight export limits set', async () => {
    withEnv({ OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '10', OTEL_ATTRIBUTE_COUNT_LIMIT: '2' });
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir, {}, { register: true });
    const run = telemetry.tasks.start({ taskId: 'task-limits' }).startAgent({ name: 'brain' });
    run.text('Reading the retry loop before changing it.');
    run.toolCall({ name: 'Read', callId: 'call-read-1', input: INPUT });
    run.toolResult('call-read-1', 'export async function retry() { /* ... */ }');
    await telemetry.forceFlush();

    const lines = readFileSync(join(dir, 'task-limits', '03-agent-output.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toMatchObject([
      { type: 'text', seq: 1, content: 'Reading the retry loop before changing it.' },
      { type: 'tool_call', seq: 2, tool_name: 'Read', tool_call_id: 'call-read-1', input: INPUT },
      { type: 'tool_result', seq: 3, tool_name: 'Read', tool_call_id: 'call-read-1', is_error: false },
    ]);
  });
});
