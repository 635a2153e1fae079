// startTelemetry registered as the process's SDK (npm start, the worker): its own AgentRuns' lines go straight into
// the writer's queue (TaskFilesLogger), and the other loggers on the global API still reach the files through the
// SDK's pipeline, as docs/telemetry-contract.md says ("or let startTelemetry do it"). Each line is written once and,
// with OTLP log export on, exported once and redacted.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { logs } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { ATTR } from '../../src/contract/attributes.ts';
import { TaskRecorder } from '../../src/instrumentation/task-recorder.ts';
import { fakeCollector, stringsIn } from '../helpers/fake-collector.ts';
import { secretSamples } from '../helpers/secret-samples.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { withEnv } from '../helpers/with-env.ts';

function lines(dir: string, taskId: string): Record<string, unknown>[] {
  return readFileSync(join(dir, taskId, '03-agent-output.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

function rawLine(taskId: string, content: string): void {
  logs.getLogger('raw').emit({
    body: content,
    attributes: { [ATTR.taskId]: taskId, [ATTR.outputType]: 'text', [ATTR.outputSeq]: 2 },
  });
}

describe('output lines with the SDK registered', () => {
  it('writes the lines of a TaskRecorder on the global logger and of raw logs API calls', async () => {
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir, {}, { register: true });
    const run = new TaskRecorder().start({ taskId: 'task-global' }).startAgent({ name: 'brain' });
    run.text('a line through the global logger');
    rawLine('task-global', 'a raw log record');
    run.finish({ result: 'done' });
    await telemetry.forceFlush();
    expect(lines(dir, 'task-global')).toMatchObject([
      { type: 'text', seq: 1, content: 'a line through the global logger' },
      { type: 'text', seq: 2, content: 'a raw log record' },
    ]);
  });

  it('with OTLP log export on: each line once in the files and once in the export, redacted in both', async () => {
    const collector = await fakeCollector();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
    withEnv(env);
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir, env, { register: true });
    const secret = secretSamples()[0]!;
    const own = telemetry.tasks.start({ taskId: 'task-own' }).startAgent({ name: 'brain' });
    own.text(`own line ${secret.text}`);
    const other = new TaskRecorder().start({ taskId: 'task-other' }).startAgent({ name: 'brain' });
    other.text(`global line ${secret.text}`);
    own.finish({ result: 'done' });
    other.finish({ result: 'done' });
    await telemetry.forceFlush();

    for (const [taskId, word] of [
      ['task-own', 'own'],
      ['task-other', 'global'],
    ] as const) {
      const written = lines(dir, taskId);
      expect(written, taskId).toHaveLength(1);
      expect(written[0]!.content).toBe(`${word} line export GH_TOKEN=[REDACTED:${secret.rule}]`);
    }
    const exported = collector.received
      .filter((r) => r.path === '/v1/logs')
      .flatMap((r) => stringsIn(JSON.parse(r.body.toString())));
    expect(
      exported.filter((s) => s.endsWith(`line export GH_TOKEN=[REDACTED:${secret.rule}]`)).sort(),
    ).toEqual([
      `global line export GH_TOKEN=[REDACTED:${secret.rule}]`,
      `own line export GH_TOKEN=[REDACTED:${secret.rule}]`,
    ]);
    expect(exported.some((s) => s.includes(secret.secret))).toBe(false);
  });
});
