// `tasklogs scan` over many typical tasks: tasks per second, with one task in a hundred holding a secret.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redactor } from '../../src/contract/redaction/redactor.ts';
import { buildRuleSet } from '../../src/contract/redaction/rule-set.ts';
import { WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { scanTasks } from '../../src/ops/secret-scan.ts';
import { atLeast, benchDir, fmt, QUICK, report } from './bench-kit.ts';

// enough to run in well under a minute here; BENCH_TASKS=100000 for the full count
const TASKS = Number(process.env.BENCH_TASKS ?? (QUICK ? 1_000 : 10_000));
// 100,000 tasks in under ten minutes: a night's scan of a large store
const TARGET = 170;
const { dir, cleanup } = benchDir('scan');

// a typical task: 6 stages and 100 output lines of a real-looking mix (as the maintenance benchmark's)
function writeTypicalTask(id: string, secret: boolean) {
  const folder = join(dir, id);
  mkdirSync(folder);
  const at = new Date().toISOString();
  const trace = { trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16) };
  writeFileSync(
    join(folder, 'metadata.json'),
    JSON.stringify({
      task_id: id,
      source: 'webhook',
      provider: 'github',
      created_at: at,
      started_at: at,
      status: 'completed',
      assigned_agent: 'brain',
      agent_type: 'planning',
      model: 'claude-opus-4-5-20251101',
      completed_at: at,
    }),
  );
  writeFileSync(
    join(folder, '01-input.json'),
    JSON.stringify({
      message: '@agent review the retry logic',
      source_metadata: {
        provider: 'github',
        event_type: 'issue_comment.created',
        repo: 'acme/agent-platform',
      },
    }),
  );
  writeFileSync(
    join(folder, '02-webhook-flow.jsonl'),
    WEBHOOK_STAGES.map(
      (stage) => `${JSON.stringify({ timestamp: at, stage, duration_ms: 0.4, ...trace })}\n`,
    ).join(''),
  );
  const kinds = ['thinking', 'text', 'tool_call', 'tool_result'];
  const lines: string[] = [];
  for (let i = 0; i < 100; i++) {
    const type = kinds[i % 4]!;
    let content =
      type === 'tool_result'
        ? `src/queue.ts:${i}: const attempts = job.attemptsMade + ${i};\n${'    return nextDelay(attempt);\n'.repeat(8)}`
        : `Step ${i}: reading how the retry loop computes its delay before the next attempt.`;
    if (secret && i === 50) content = 'export GH_TOKEN=ghp_Qm7Kx2Vn9Lp4Rt6Yw8Za1Bc3De5Fg7Hj9Ks2L';
    lines.push(`${JSON.stringify({ timestamp: at, type, content, seq: i + 1, ...trace })}\n`);
  }
  writeFileSync(join(folder, '03-agent-output.jsonl'), lines.join(''));
  writeFileSync(
    join(folder, '04-final-result.json'),
    JSON.stringify({
      success: true,
      result:
        'Review: the retry loop uses a fixed delay; an exponential backoff with jitter would spread retries.',
      error: null,
      metrics: { cost_usd: 0.02, input_tokens: 1500, output_tokens: 800, duration_seconds: 45.2 },
      completed_at: at,
    }),
  );
}

try {
  for (let i = 0; i < TASKS; i++) writeTypicalTask(`task-${String(i).padStart(6, '0')}`, i % 100 === 0);
  const redactor = new Redactor(buildRuleSet());
  const started = performance.now();
  const result = await scanTasks({ root: dir, redactor });
  const seconds = (performance.now() - started) / 1000;
  const rate = result.scanned / seconds;
  if (result.tasks.length !== Math.ceil(TASKS / 100))
    throw new Error(`scan found secrets in ${result.tasks.length} tasks, expected ${Math.ceil(TASKS / 100)}`);
  report(
    `tasklogs scan  ${fmt(result.scanned)} typical tasks (one in 100 with a secret) in ${fmt(seconds, 1)} s`,
    atLeast('tasks/s', rate, TARGET, '', 0),
  );
} finally {
  cleanup();
}
