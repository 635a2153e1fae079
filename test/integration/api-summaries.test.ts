import { describe, expect, it } from 'vitest';
import { recordSampleTask } from '../helpers/sample-task.ts';
import { getJson, testServer } from '../helpers/server.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

async function serverWithTasks() {
  const server = await testServer(await tempLogsDir());
  const { tasks } = server.telemetry;
  // 0.0734 + 0.0234 is 0.09680000000000001 in floating point: sums must not show that noise
  await recordSampleTask(tasks, { taskId: 'task-a', costUsd: 0.0734 });
  await recordSampleTask(tasks, { taskId: 'task-b', costUsd: 0.0234 });
  await recordSampleTask(tasks, { taskId: 'task-c', fail: true, costUsd: 0.5 });
  await server.telemetry.forceFlush();
  return server;
}

describe('GET /api/tasks/counts', () => {
  it('counts the matching tasks per status, leaving the status filter out', async () => {
    const server = await serverWithTasks();
    const all = await getJson(`${server.url}/api/tasks/counts?status=failed`);
    expect(all.status).toBe(200);
    expect(all.body).toEqual({
      counts: { queued: 0, running: 0, completed: 2, failed: 1, rejected: 0 },
      total: 3,
    });
    const cheap = await getJson(`${server.url}/api/tasks/counts?max_cost=0.05`);
    expect(cheap.body).toMatchObject({ counts: { completed: 1, failed: 0 }, total: 1 });
  });

  it('answers a bad filter with a 400 that names it', async () => {
    const server = await testServer(await tempLogsDir());
    const { status, body } = await getJson(`${server.url}/api/tasks/counts?min_cost=lots`);
    expect(status).toBe(400);
    expect(JSON.stringify(body)).toContain('min_cost');
  });
});

describe('GET /api/tasks/aggregate', () => {
  it('sums tasks, failures, cost and tokens per provider and per day', async () => {
    const server = await serverWithTasks();
    const byProvider = await getJson(`${server.url}/api/tasks/aggregate?by=provider`);
    expect(byProvider.body).toEqual({
      by: 'provider',
      groups: [
        {
          key: 'github',
          tasks: 3,
          completed: 2,
          failed: 1,
          cost_usd: 0.5968,
          input_tokens: 3000,
          output_tokens: 1600,
          duration_seconds: expect.any(Number),
        },
      ],
    });
    const byDay = await getJson(`${server.url}/api/tasks/aggregate?by=day&success=true`);
    const groups = (byDay.body as { groups: { key: string; tasks: number }[] }).groups;
    expect(groups).toEqual([
      expect.objectContaining({ key: new Date().toISOString().slice(0, 10), tasks: 2, cost_usd: 0.0968 }),
    ]);
  });

  it('refuses a grouping it does not know', async () => {
    const server = await testServer(await tempLogsDir());
    const { status, body } = await getJson(`${server.url}/api/tasks/aggregate?by=task_id;drop`);
    expect(status).toBe(400);
    expect(JSON.stringify(body)).toContain('by');
  });
});
