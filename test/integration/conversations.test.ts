// A task's conversation (the GitHub issue or PR, Jira issue or Slack thread it came from): derived by the webhook
// intake, written as metadata.conversation_id, set as gen_ai.conversation.id on every span, and searchable.
import { join } from 'node:path';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { ATTR } from '../../src/contract/attributes.ts';
import { TaskRecorder } from '../../src/instrumentation/task-recorder.ts';
import { conversationIdOf } from '../../src/intake/conversation-id.ts';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { getJson, testServer } from '../helpers/server.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { githubComment, githubRequest, SECRETS } from '../helpers/webhook-requests.ts';

describe('conversationIdOf', () => {
  it('names the GitHub issue or PR, the Jira issue and the Slack thread', () => {
    expect(conversationIdOf('github', { repo: 'owner/repo', issue_number: 42 })).toBe('github:owner/repo#42');
    expect(conversationIdOf('jira', { issue_key: 'PROJ-7', issue_number: null })).toBe('jira:PROJ-7');
    expect(conversationIdOf('slack', { channel: 'C0DEPLOY', thread_ts: '1700000000.000100' })).toBe(
      'slack:C0DEPLOY/1700000000.000100',
    );
  });

  it('gives none for missing or malformed parts', () => {
    expect(conversationIdOf('github', { repo: 'owner/repo', issue_number: null })).toBeUndefined();
    expect(conversationIdOf('github', { repo: '../../etc', issue_number: 1 })).toBeUndefined();
    expect(conversationIdOf('jira', { issue_key: 'proj-7<script>' })).toBeUndefined();
    expect(conversationIdOf('slack', { channel: 'C1' })).toBeUndefined();
    expect(conversationIdOf('gitlab', { repo: 'a/b', issue_number: 1 })).toBeUndefined();
  });
});

describe('a task in a conversation', () => {
  it('carries gen_ai.conversation.id on every span, in the web process and after the queue', () => {
    const spans = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
    const tasks = new TaskRecorder({ tracer: provider.getTracer('test') });
    const task = tasks.start({ provider: 'github', conversationId: 'github:owner/repo#42' });
    task.recordStage('received');
    task.recordStage('task_created', { assigned_agent: 'brain' });
    const message = task.runStage('queue_push', undefined, () => task.toQueueMessage());
    const worker = tasks.resume(JSON.parse(JSON.stringify(message)));
    const run = worker.startAgent({ name: 'brain' });
    run.toolResult(run.toolCall({ name: 'Read', input: { file_path: 'a.ts' } }), 'ok');
    run.finish({ result: 'done' });
    task.end();
    const finished = spans.getFinishedSpans();
    expect(finished.map((s) => s.name).sort()).toEqual(
      ['task', 'received', 'task_created', 'queue_push', 'invoke_agent brain', 'execute_tool Read'].sort(),
    );
    for (const span of finished) {
      expect(span.attributes[ATTR.genAiConversationId], span.name).toBe('github:owner/repo#42');
    }
  });

  it('is written to metadata.json by the webhook intake and found by the conversation filter', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir, { ...SECRETS, AGENT_RUNNER: 'replay', AGENT_REPLAY_DELAY_MS: '0' });
    const first = await freshFetch(`${server.url}/webhooks/github`, githubRequest(githubComment()));
    const other = await freshFetch(
      `${server.url}/webhooks/github`,
      githubRequest(githubComment('@agent review', { issue: { number: 7, title: 'x' } })),
    );
    expect([first.status, other.status]).toEqual([202, 202]);
    const { task_id: taskId } = (await first.json()) as { task_id: string };
    await expect
      .poll(() => readTaskFolder(join(dir, taskId)).metadata?.status, { timeout: 60_000 })
      .toMatch(/completed|failed/);
    expect(readTaskFolder(join(dir, taskId)).metadata?.conversation_id).toBe('github:owner/repo#42');

    await server.telemetry.forceFlush();
    const search = await getJson(
      `${server.url}/api/tasks?conversation=${encodeURIComponent('github:owner/repo#42')}`,
    );
    const rows = (search.body as { tasks: { task_id: string; conversation_id: string }[] }).tasks;
    expect(rows.map((r) => [r.task_id, r.conversation_id])).toEqual([[taskId, 'github:owner/repo#42']]);
  });
});
