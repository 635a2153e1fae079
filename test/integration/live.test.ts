import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TaskMetadata } from '../../src/contract/task-files.ts';
import { parseJsonl } from '../../src/store/jsonl-read.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

describe('a running task', () => {
  it('says running and has each output line on disk within the live bound (default flush settings)', async () => {
    const dir = await tempLogsDir();
    // the shipped default flush window, not the test helper's shorter one
    const telemetry = testTelemetry(dir, { TASK_LOGS_FLUSH_MS: '50' });
    const task = telemetry.tasks.start({ taskId: 'task-live', source: 'api', provider: 'cli' });
    const run = task.startAgent({ name: 'brain', model: 'claude' });
    const folder = join(dir, 'task-live');

    await expect
      .poll(() => existsSync(join(folder, 'metadata.json')) && readMetadata(folder).status, {
        timeout: 1000,
        interval: 5,
      })
      .toBe('running');
    expect(readMetadata(folder).started_at).toMatch(/Z$/);

    const emittedAt: number[] = [];
    const seenAt: number[] = [];
    const path = join(folder, '03-agent-output.jsonl');
    let seen = 0;
    const watch = setInterval(() => {
      if (!existsSync(path)) return;
      const count = parseJsonl(readFileSync(path, 'utf8')).lines.length;
      const now = performance.now();
      for (; seen < count; seen++) seenAt[seen] = now;
    }, 2);
    for (let i = 0; i < 150; i++) {
      emittedAt.push(performance.now());
      run.text(`line ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    await expect.poll(() => seen, { timeout: 1000, interval: 5 }).toBe(150);
    clearInterval(watch);
    expect(readMetadata(folder).status).toBe('running');

    const latencies = emittedAt.map((at, i) => seenAt[i]! - at);
    const p99 = percentile(latencies, 99);
    console.info(
      `live output latency: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`,
    );
    // the contract: 250 ms p99, 1 s at most
    expect(p99).toBeLessThan(250);
    expect(Math.max(...latencies)).toBeLessThan(1000);

    run.finish({ result: 'ok' });
    await expect.poll(() => readMetadata(folder).status, { timeout: 1000, interval: 5 }).toBe('completed');
  });
});

function readMetadata(folder: string): TaskMetadata {
  return JSON.parse(readFileSync(join(folder, 'metadata.json'), 'utf8')) as TaskMetadata;
}
