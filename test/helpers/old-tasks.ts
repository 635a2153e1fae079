// Task folders written straight in the seed's format, with whatever age and status a maintenance test needs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WEBHOOK_STAGES } from '../../src/contract/task-files.ts';

const DAY = 86_400_000;

export function writeTask(
  root: string,
  id: string,
  options: { status?: string; endedDaysAgo?: number; lines?: number; provider?: string; cost?: number } = {},
): string {
  const dir = join(root, id);
  mkdirSync(dir, { recursive: true });
  const status = options.status ?? 'completed';
  const ended = new Date(Date.now() - (options.endedDaysAgo ?? 0) * DAY);
  const created = new Date(ended.getTime() - 60_000).toISOString();
  const finished = status === 'completed' || status === 'failed';
  writeFileSync(
    join(dir, 'metadata.json'),
    JSON.stringify({
      task_id: id,
      source: 'webhook',
      provider: options.provider ?? 'github',
      created_at: created,
      started_at: created,
      status,
      assigned_agent: 'brain',
      agent_type: 'planning',
      model: 'claude',
      ...(finished ? { completed_at: ended.toISOString() } : {}),
      updated_at: ended.toISOString(),
    }),
  );
  writeFileSync(
    join(dir, '01-input.json'),
    JSON.stringify({ message: '@agent review', source_metadata: { provider: 'github' } }),
  );
  const stages = WEBHOOK_STAGES;
  writeFileSync(
    join(dir, '02-webhook-flow.jsonl'),
    stages.map((stage) => `${JSON.stringify({ timestamp: created, stage })}\n`).join(''),
  );
  const lines: string[] = [];
  for (let i = 0; i < (options.lines ?? 50); i++) {
    lines.push(
      `${JSON.stringify({ timestamp: created, type: i % 3 ? 'text' : 'tool_call', content: `line ${i}: ${'the agent reads the queue code and explains it. '.repeat(3)}`, seq: i + 1 })}\n`,
    );
  }
  writeFileSync(join(dir, '03-agent-output.jsonl'), lines.join(''));
  if (finished) {
    writeFileSync(
      join(dir, '04-final-result.json'),
      JSON.stringify({
        success: status === 'completed',
        result: 'done',
        error: status === 'failed' ? 'boom' : null,
        metrics: {
          cost_usd: options.cost ?? 0.01,
          input_tokens: 100,
          output_tokens: 50,
          duration_seconds: 60,
        },
        completed_at: ended.toISOString(),
      }),
    );
  }
  return dir;
}
