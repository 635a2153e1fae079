// Maintenance rates over many tasks: reindex (full rebuild), prune (retention deleting half of them), and the size of
// a typical task before and after compression.
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { compressTasks } from '../../src/ops/compression.ts';
import { pruneTasks } from '../../src/ops/retention.ts';
import { refreshIndex } from '../../src/store/index-refresh.ts';
import { TaskIndex } from '../../src/store/task-index.ts';
import { benchDir, fmt, QUICK, report } from './bench-kit.ts';

const TASKS = Number(process.env.BENCH_TASKS ?? (QUICK ? 2_000 : 100_000));
const DAY = 86_400_000;
const { dir, cleanup } = benchDir('maintenance');

// a typical task: the seed's files with 6 stages and 100 output lines of a real-looking mix
function writeTypicalTask(root: string, id: string, endedDaysAgo: number) {
  const folder = join(root, id);
  mkdirSync(folder);
  const ended = new Date(Date.now() - endedDaysAgo * DAY).toISOString();
  const meta = {
    task_id: id,
    source: 'webhook',
    provider: 'github',
    created_at: ended,
    started_at: ended,
    status: 'completed',
    assigned_agent: 'brain',
    agent_type: 'planning',
    model: 'claude-opus-4-5-20251101',
    trace_id: 'a'.repeat(32),
    completed_at: ended,
    updated_at: ended,
  };
  writeFileSync(join(folder, 'metadata.json'), JSON.stringify(meta));
  writeFileSync(
    join(folder, '01-input.json'),
    JSON.stringify({
      message: '@agent review the retry logic',
      source_metadata: {
        provider: 'github',
        event_type: 'issue_comment.created',
        webhook_id: 'wh',
        repo: 'acme/agent-platform',
        issue_number: 42,
      },
    }),
  );
  const stages = WEBHOOK_STAGES;
  writeFileSync(
    join(folder, '02-webhook-flow.jsonl'),
    stages
      .map(
        (stage) =>
          `${JSON.stringify({ timestamp: ended, stage, duration_ms: 0.4, trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16) })}\n`,
      )
      .join(''),
  );
  const kinds = ['thinking', 'text', 'tool_call', 'tool_result'];
  const out: string[] = [];
  for (let i = 0; i < 100; i++) {
    const type = kinds[i % 4]!;
    const content =
      type === 'tool_result'
        ? `src/queue.ts:${i}: const attempts = job.attemptsMade + ${i};\n${'    return nextDelay(attempt);\n'.repeat(8)}`
        : `Step ${i}: reading how the retry loop computes its delay before the next attempt.`;
    out.push(
      `${JSON.stringify({ timestamp: ended, type, content, seq: i + 1, trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16), ...(type.startsWith('tool') ? { tool_name: 'Read', tool_call_id: `toolu_${i}` } : {}) })}\n`,
    );
  }
  writeFileSync(join(folder, '03-agent-output.jsonl'), out.join(''));
  writeFileSync(
    join(folder, '04-final-result.json'),
    JSON.stringify({
      success: true,
      result: 'Review: ...',
      error: null,
      metrics: { cost_usd: 0.02, input_tokens: 1500, output_tokens: 800, duration_seconds: 45.2 },
      completed_at: ended,
    }),
  );
}

try {
  let started = performance.now();
  for (let i = 0; i < TASKS; i++)
    writeTypicalTask(dir, `task-${String(i).padStart(6, '0')}`, i % 2 ? 40 : 10);
  process.stderr.write(
    `(generated ${fmt(TASKS)} typical task folders in ${fmt((performance.now() - started) / 1000, 1)} s)\n`,
  );

  const index = new TaskIndex(join(dir, '.index.sqlite'));
  const rebuilt = await refreshIndex(index, dir);
  report(
    `reindex  ${fmt(rebuilt.updated)} tasks in ${fmt(rebuilt.ms / 1000, 2)} s  (${fmt(rebuilt.updated / (rebuilt.ms / 1000))} tasks/s)`,
  );

  started = performance.now();
  const pruned = await pruneTasks({ root: dir, retentionDays: 30, index });
  const pruneSeconds = (performance.now() - started) / 1000;
  report(
    `prune  scanned ${fmt(pruned.scanned)} tasks, deleted ${fmt(pruned.deleted.length)} in ${fmt(pruneSeconds, 2)} s  ` +
      `(${fmt(pruned.scanned / pruneSeconds)} tasks scanned/s, ${fmt(pruned.deleted.length / pruneSeconds)} deleted/s)`,
  );
  index.close();

  const sample = benchDir('typical');
  writeTypicalTask(sample.dir, 'task-typical', 30);
  const folderBytes = () =>
    readdirSync(join(sample.dir, 'task-typical')).reduce(
      (sum, name) => sum + statSync(join(sample.dir, 'task-typical', name)).size,
      0,
    );
  const before = folderBytes();
  const result = await compressTasks({ root: sample.dir, afterDays: 7 });
  const after = folderBytes();
  report(
    `typical task (6 stages, 100 output lines)  ${fmt(before)} B -> ${fmt(after)} B compressed (${fmt(before / after, 1)}x; ` +
      `the JSONL files alone ${fmt(result.bytes_before)} B -> ${fmt(result.bytes_after)} B)`,
  );
  sample.cleanup();
} finally {
  cleanup();
}
