// Tasks for the dashboard tests, written through the real instrumentation and exporters: a Jira task with its own
// agent, model and cost, a running one to follow live, and a hostile one whose every field tries to run script.
import { usageFromAnthropic } from '../../src/instrumentation/agent-usage.ts';
import type { TaskRecorder } from '../../src/instrumentation/task-recorder.ts';

export function startJiraTask(tasks: TaskRecorder, taskId: string) {
  const task = tasks.start({
    taskId,
    source: 'webhook',
    provider: 'jira',
    conversationId: 'jira:PROJ-7',
    input: {
      message: '@agent fix the flaky login test',
      source_metadata: {
        provider: 'jira',
        event_type: 'comment_created',
        webhook_id: 'j-1',
        repo: 'PROJ',
        issue_number: null,
        issue_key: 'PROJ-7',
      },
    },
  });
  task.recordStage('received', { event_type: 'comment_created' });
  task.recordStage('task_created', { assigned_agent: 'fixer', agent_type: 'coding' });
  const run = task.startAgent({ name: 'fixer', type: 'coding', model: 'claude-sonnet-4-5-20250929' });
  return { task, run };
}

export function recordJiraTask(tasks: TaskRecorder, taskId: string) {
  const { run } = startJiraTask(tasks, taskId);
  const call = run.toolCall({
    name: 'Bash',
    input: { command: 'npm test -- login', description: 'run the test' },
  });
  run.toolResult(call, 'FAIL login.test.ts\n  expected 200, got 500', { isError: true });
  const edit = run.toolCall({
    name: 'Edit',
    input: {
      file_path: 'src/login.ts',
      old_string: 'const retries = 1;\nlogin();',
      new_string: 'const retries = 3;\nlogin();',
    },
  });
  run.toolResult(edit, 'The file src/login.ts has been updated.');
  run.finish({
    result: 'Fixed: **retries** raised to 3.',
    costUsd: 1.5,
    usage: usageFromAnthropic({ input_tokens: 50_000, output_tokens: 9000 }),
    durationSeconds: 120,
  });
}

export const HOSTILE = {
  text: '<script>window.__pwned = 1</script><img src=x onerror="alert(1)"> plain text after',
  command: '<img src=x onerror=alert(2)> && echo "<script>alert(3)</script>"',
  result: '<script>alert(4)</script><a href="javascript:alert(5)">click me</a>',
  thinking: '<svg onload=alert(6)>thinking</svg>',
  markdown: [
    '# Review',
    '',
    '<script>alert(7)</script>',
    '<img src=x onerror="alert(8)">',
    '<div onclick="alert(9)">raw html block</div>',
    '',
    'A [harmless link](https://example.com) and a [bad one](javascript:alert(10)) and **bold** text.',
  ].join('\n'),
};

export function recordHostileTask(tasks: TaskRecorder, taskId: string) {
  const task = tasks.start({
    taskId,
    source: 'webhook',
    provider: 'github',
    input: {
      message: '<script>alert(11)</script>',
      source_metadata: { provider: 'github', repo: 'javascript:alert(12)', issue_number: 1 },
    },
  });
  task.recordStage('received', { event_type: '<img src=x onerror=alert(13)>' });
  const run = task.startAgent({ name: '<b>brain</b>', type: 'planning', model: '<i>model</i>' });
  run.thinking(HOSTILE.thinking);
  run.text(HOSTILE.text);
  const call = run.toolCall({ name: 'Bash', input: { command: HOSTILE.command } });
  run.toolResult(call, HOSTILE.result);
  run.final(HOSTILE.markdown);
  run.finish({
    result: HOSTILE.markdown,
    costUsd: 0.01,
    usage: usageFromAnthropic({ input_tokens: 10, output_tokens: 10 }),
  });
}
