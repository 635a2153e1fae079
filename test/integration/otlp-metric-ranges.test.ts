// Metrics that arrive over OTLP are counts and amounts: a negative token count, a count past the safe integers or a
// negative cost is not one, and must not reach 04-final-result.json, the index or the sums of /api/tasks/aggregate
// (two tasks with -5 input tokens summed to -10; output tokens of 2^63 were written as 9223372036854776000).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getJson, testServer } from '../helpers/server.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const text = (key: string, value: string) => ({ key, value: { stringValue: value } });
const int = (key: string, value: string) => ({ key, value: { intValue: value } });
const double = (key: string, value: number) => ({ key, value: { doubleValue: value } });

function agentSpan(taskId: string, metrics: object[]) {
  const start = BigInt(Date.now()) * 1_000_000n;
  return {
    resourceSpans: [
      {
        resource: { attributes: [] },
        scopeSpans: [
          {
            scope: {},
            spans: [
              {
                traceId: randomBytes(16).toString('hex'),
                spanId: randomBytes(8).toString('hex'),
                name: 'invoke_agent brain',
                kind: 1,
                startTimeUnixNano: String(start),
                endTimeUnixNano: String(start + 2_000_000_000n),
                attributes: [
                  text('task.id', taskId),
                  text('gen_ai.operation.name', 'invoke_agent'),
                  text('gen_ai.agent.name', 'brain'),
                  ...metrics,
                ],
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('OTLP metrics out of range', () => {
  it('are written as unknown (the defaults), never as negative or imprecise numbers', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir);
    const send = async (taskId: string, metrics: object[]) => {
      const answer = await fetch(`${server.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(agentSpan(taskId, metrics)),
      });
      expect(answer.status).toBe(200);
    };
    const hostile = [
      int('gen_ai.usage.input_tokens', '-5'),
      int('gen_ai.usage.output_tokens', '9223372036854775807'),
      int('gen_ai.usage.cache_read.input_tokens', '-1'),
      double('gen_ai.usage.cache_creation.input_tokens', 2.5),
      double('task.cost_usd', -0.5),
      double('task.duration_seconds', -3),
    ];
    await send('task-hostile-a', hostile);
    await send('task-hostile-b', hostile);
    await send('task-fine', [
      int('gen_ai.usage.input_tokens', '1200'),
      int('gen_ai.usage.output_tokens', '300'),
      int('gen_ai.usage.cache_read.input_tokens', '1000'),
      double('task.cost_usd', 0.25),
      double('task.duration_seconds', 1.5),
    ]);
    await server.telemetry.forceFlush();

    for (const id of ['task-hostile-a', 'task-hostile-b']) {
      expect(readTaskFolder(join(dir, id)).finalResult!.metrics).toEqual({
        cost_usd: 0,
        input_tokens: 0,
        output_tokens: 0,
        // the span's own duration, as when the attribute is absent
        duration_seconds: 2,
      });
    }
    expect(readTaskFolder(join(dir, 'task-fine')).finalResult!.metrics).toEqual({
      cost_usd: 0.25,
      input_tokens: 1200,
      output_tokens: 300,
      cache_read_input_tokens: 1000,
      duration_seconds: 1.5,
    });
    const { body } = await getJson(`${server.url}/api/tasks/aggregate?by=agent`);
    expect(body).toMatchObject({
      groups: [{ key: 'brain', tasks: 3, cost_usd: 0.25, input_tokens: 1200, output_tokens: 300 }],
    });
  });
});
