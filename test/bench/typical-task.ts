// A typical finished task for the benchmarks that read stored tasks: the seed's five files, 6 stages and 100 output
// lines of a real-looking mix (thinking, text, tool calls and their results).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WEBHOOK_STAGES } from '../../src/contract/task-files.ts';

const DAY = 24 * 60 * 60 * 1000;
/** a line the secret scan must find, put at output line 50 when asked */
const SECRET_LINE = 'export GH_TOKEN=ghp_Qm7Kx2Vn9Lp4Rt6Yw8Za1Bc3De5Fg7Hj9Ks2L';

export function writeTypicalTask(
  root: string,
  id: string,
  options: { endedDaysAgo?: number; secret?: boolean } = {},
): void {
  const folder = join(root, id);
  mkdirSync(folder);
  const at = new Date(Date.now() - (options.endedDaysAgo ?? 0) * DAY).toISOString();
  const trace = { trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16) };
  const meta = {
    task_id: id,
    source: 'webhook',
    provider: 'github',
    created_at: at,
    started_at: at,
    status: 'completed',
    assigned_agent: 'brain',
    agent_type: 'planning',
    model: 'claude-opus-4-5-20251101',
    trace_id: trace.trace_id,
    completed_at: at,
    updated_at: at,
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
  writeFileSync(
    join(folder, '02-webhook-flow.jsonl'),
    WEBHOOK_STAGES.map(
      (stage) => `${JSON.stringify({ timestamp: at, stage, duration_ms: 0.4, ...trace })}\n`,
    ).join(''),
  );
  const kinds = ['thinking', 'text', 'tool_call', 'tool_result'];
  const out: string[] = [];
  for (let i = 0; i < 100; i++) {
    const type = kinds[i % 4]!;
    let content =
      type === 'tool_result'
        ? `src/queue.ts:${i}: const attempts = job.attemptsMade + ${i};\n${'    return nextDelay(attempt);\n'.repeat(8)}`
        : `Step ${i}: reading how the retry loop computes its delay before the next attempt.`;
    if (options.secret && i === 50) content = SECRET_LINE;
    const tool = type.startsWith('tool') ? { tool_name: 'Read', tool_call_id: `toolu_${i}` } : {};
    out.push(`${JSON.stringify({ timestamp: at, type, content, seq: i + 1, ...trace, ...tool })}\n`);
  }
  writeFileSync(join(folder, '03-agent-output.jsonl'), out.join(''));
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
