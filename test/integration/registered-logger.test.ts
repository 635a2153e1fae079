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
  // one NodeSDK start (the costly part): the export is on, which is the case where a line could be written twice
  it("writes startTelemetry's own lines, a global TaskRecorder's and raw logs API records, each once, exported once and redacted", async () => {
    const collector = await fakeCollector();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
    withEnv(env);
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir, env, { register: true });
    const secret = secretSamples()[0]!;
    const redacted = `export GH_TOKEN=[REDACTED:${secret.rule}]`;
    const own = telemetry.tasks.start({ taskId: 'task-own' }).startAgent({ name: 'brain' });
    own.text(`own line ${secret.text}`);
    const other = new TaskRecorder().start({ taskId: 'task-other' }).startAgent({ name: 'brain' });
    other.text(`global line ${secret.text}`);
    rawLine('task-other', 'a raw log record');
    own.finish({ result: 'done' });
    other.finish({ result: 'done' });
    await telemetry.forceFlush();

    expect(lines(dir, 'task-own')).toMatchObject([{ type: 'text', seq: 1, content: `own line ${redacted}` }]);
    expect(lines(dir, 'task-other')).toMatchObject([
      { type: 'text', seq: 1, content: `global line ${redacted}` },
      { type: 'text', seq: 2, content: 'a raw log record' },
    ]);
    const exported = collector.received
      .filter((r) => r.path === '/v1/logs')
      .flatMap((r) => stringsIn(JSON.parse(r.body.toString())));
    expect(exported.filter((s) => s.endsWith(redacted)).sort()).toEqual([
      `global line ${redacted}`,
      `own line ${redacted}`,
    ]);
    expect(exported.filter((s) => s === 'a raw log record')).toHaveLength(1);
    expect(exported.some((s) => s.includes(secret.secret))).toBe(false);
  });
});
