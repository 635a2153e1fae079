import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { testServer } from '../helpers/server.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const WORKER = join(import.meta.dirname, '../fixtures/processes/worker.ts');

interface SseEvent {
  id?: string;
  event?: string;
  data: string;
  at: number;
}

/** Reads a Server-Sent Events stream to its end. */
async function readEvents(url: string, headers: Record<string, string> = {}): Promise<SseEvent[]> {
  const response = await freshFetch(url, { headers: { Accept: 'text/event-stream', ...headers } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body!) {
    buffer += decoder.decode(chunk, { stream: true });
    let split = buffer.indexOf('\n\n');
    while (split !== -1) {
      const block = buffer.slice(0, split);
      buffer = buffer.slice(split + 2);
      const event: SseEvent = { data: '', at: Date.now() };
      for (const line of block.split('\n')) {
        const [field, ...rest] = line.split(': ');
        const value = rest.join(': ');
        if (field === 'id') event.id = value;
        else if (field === 'event') event.event = value;
        else if (field === 'data') event.data += value;
      }
      if (event.data !== '' || event.event !== undefined) events.push(event);
      split = buffer.indexOf('\n\n');
    }
  }
  return events;
}

describe('GET /api/tasks/{id}/logs/agent-output/stream', () => {
  it('follows a task written by another process live, then ends; Last-Event-ID resumes', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir);
    const task = server.telemetry.tasks.start({
      taskId: 'task-follow',
      source: 'webhook',
      provider: 'github',
    });
    task.recordStage('task_created', { assigned_agent: 'brain' });
    const message = task.runStage('queue_push', undefined, () => task.toQueueMessage());
    await server.telemetry.forceFlush();
    const url = `${server.url}/api/tasks/task-follow/logs/agent-output/stream`;

    const following = readEvents(url);
    const worker = spawn(process.execPath, [WORKER, JSON.stringify(message)], {
      env: { ...process.env, TASK_LOGS_DIR: dir, WORKER_LINES: '40', WORKER_INTERVAL_MS: '15' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    worker.stdout.resume(); // how soon each line reaches a follower is npm run bench's (live), not a test's
    const events = await following;
    expect(worker.exitCode ?? (await once(worker, 'exit'))[0]).toBe(0);

    const lines = events.filter((e) => e.event === undefined);
    const end = events.at(-1)!;
    expect(end.event).toBe('end');
    expect(JSON.parse(end.data)).toEqual({ status: 'completed', last_line: 50 });
    expect(lines.map((e) => Number(e.id))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const types = lines.map((e) => JSON.parse(e.data).type);
    expect(types[0]).toBe('system');
    expect(types.at(-1)).toBe('final');
    const resumed = await readEvents(url, { 'Last-Event-ID': '45' });
    expect(resumed.filter((e) => e.event === undefined).map((e) => e.id)).toEqual([
      '46',
      '47',
      '48',
      '49',
      '50',
    ]);
    expect(resumed.at(-1)?.event).toBe('end');
    const fromQuery = await readEvents(`${url}?after=48`);
    expect(fromQuery.filter((e) => e.event === undefined).map((e) => e.id)).toEqual(['49', '50']);
    // resumed at or past the end: no line, and the end names the task's last line, not 0 (walk8: a client taking
    // its cursor from it went back to the start)
    for (const cursor of ['50', '70']) {
      const past = await readEvents(url, { 'Last-Event-ID': cursor });
      expect(past.filter((e) => e.event === undefined)).toEqual([]);
      expect(JSON.parse(past.at(-1)!.data)).toEqual({ status: 'completed', last_line: 50 });
    }
  });

  it('refuses a Last-Event-ID that is not a line number, and an unknown task', async () => {
    const server = await testServer(await tempLogsDir());
    const bad = await freshFetch(`${server.url}/api/tasks/task-x/logs/agent-output/stream`, {
      headers: { 'Last-Event-ID': 'abc' },
    });
    expect(bad.status).toBe(400);
    const missing = await freshFetch(`${server.url}/api/tasks/task-x/logs/agent-output/stream`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'TASK_NOT_FOUND' } });
  });
});
