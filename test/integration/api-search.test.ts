import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usageFromAnthropic } from '../../src/instrumentation/agent-usage.ts';
import type { TaskRecorder } from '../../src/instrumentation/task-recorder.ts';
import type { TaskRow } from '../../src/store/task-index.ts';
import { getJson, testServer } from '../helpers/server.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const PROVIDERS = ['github', 'jira', 'slack'];

/** 30 finished tasks: provider cycles, every 4th fails, cost 0.01 * i, model alternates, tokens 100 * i. */
async function seed(tasks: TaskRecorder, count = 30) {
  for (let i = 0; i < count; i++) {
    const task = tasks.start({
      taskId: `task-${String(i).padStart(3, '0')}`,
      source: i % 5 === 0 ? 'api' : 'webhook',
      provider: PROVIDERS[i % 3]!,
    });
    task.recordStage('task_created', {
      assigned_agent: i % 2 ? 'brain' : 'reviewer',
      agent_type: 'planning',
    });
    const run = task.startAgent({
      name: i % 2 ? 'brain' : 'reviewer',
      model: i % 2 ? 'claude-opus' : 'claude-haiku',
    });
    const outcome = {
      costUsd: 0.01 * i,
      usage: usageFromAnthropic({ input_tokens: 50 * i, output_tokens: 50 * i }),
    };
    if (i % 4 === 3) run.fail(new Error('boom'), outcome);
    else run.finish({ result: 'ok', ...outcome });
    await new Promise((resolve) => setTimeout(resolve, 2)); // distinct created_at
  }
}

describe('GET /api/tasks', () => {
  it('lists newest first and filters by every field', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir);
    await seed(server.telemetry.tasks);
    await server.telemetry.forceFlush();
    const list = async (query: string) => {
      const { status, body } = await getJson(`${server.url}/api/tasks${query}`);
      expect(status, query).toBe(200);
      return (body as { tasks: TaskRow[] }).tasks;
    };
    const all = await list('');
    expect(all).toHaveLength(30);
    expect(all[0]!.task_id).toBe('task-029');
    expect(all.map((t) => t.created_at)).toEqual([...all.map((t) => t.created_at)].sort().reverse());
    expect(all[0]).toMatchObject({
      status: 'completed',
      success: true,
      provider: 'slack',
      model: 'claude-opus',
    });

    expect((await list('?provider=jira')).every((t) => t.provider === 'jira')).toBe(true);
    expect(await list('?provider=jira,slack')).toHaveLength(20);
    expect(await list('?provider=jira&provider=slack')).toHaveLength(20);
    expect(await list('?status=failed')).toHaveLength(7);
    expect(await list('?success=false')).toHaveLength(7);
    expect(await list('?success=true&status=completed')).toHaveLength(23);
    expect(await list('?source=api')).toHaveLength(6);
    expect(await list('?agent=brain')).toHaveLength(15);
    expect(await list('?model=claude-haiku')).toHaveLength(15);
    expect((await list('?min_cost=0.1&max_cost=0.2')).map((t) => t.task_id).sort()).toEqual([
      'task-010',
      'task-011',
      'task-012',
      'task-013',
      'task-014',
      'task-015',
      'task-016',
      'task-017',
      'task-018',
      'task-019',
      'task-020',
    ]);
    expect((await list('?min_tokens=2800')).map((t) => t.task_id)).toEqual(['task-029', 'task-028']);
    const middle = all[14]!.created_at!;
    expect(await list(`?created_after=${middle}`)).toHaveLength(15); // at or after: the 14 newer and itself
    expect(await list(`?created_before=${middle}`)).toHaveLength(15); // strictly before
    expect(await list(`?completed_after=2000-01-01&completed_before=2999-01-01`)).toHaveLength(30);
    expect((await list('?sort=cost_usd&order=asc&limit=3')).map((t) => t.task_id)).toEqual([
      'task-000',
      'task-001',
      'task-002',
    ]);
  });

  it('pages with a cursor through every task exactly once, tasks without the sort value last', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir);
    await seed(server.telemetry.tasks);
    // three tasks still running: no cost, no completion time yet
    for (const id of ['task-run-a', 'task-run-b', 'task-run-c']) {
      server.telemetry.tasks.start({ taskId: id, provider: 'github' }).startAgent({ name: 'brain' });
    }
    await server.telemetry.forceFlush();
    for (const sort of ['created_at', 'cost_usd', 'completed_at']) {
      for (const order of ['asc', 'desc']) {
        const seen: TaskRow[] = [];
        let cursor: string | null = null;
        do {
          const query: string = `?sort=${sort}&order=${order}&limit=4${cursor ? `&cursor=${cursor}` : ''}`;
          const { body } = await getJson(`${server.url}/api/tasks${query}`);
          const page = body as { tasks: TaskRow[]; next_cursor: string | null };
          seen.push(...page.tasks);
          cursor = page.next_cursor;
        } while (cursor !== null);
        expect(seen, `${sort} ${order}`).toHaveLength(33);
        expect(new Set(seen.map((t) => t.task_id)).size).toBe(33);
        const values = seen.map((t) => t[sort as keyof TaskRow]);
        const present = values.filter((v) => v !== null);
        expect(
          values.slice(present.length).every((v) => v === null),
          `${sort} ${order}: nulls last`,
        ).toBe(true);
        const sorted = [...present].sort((a, b) => (a! < b! ? -1 : a! > b! ? 1 : 0));
        expect(present).toEqual(order === 'asc' ? sorted : sorted.reverse());
      }
    }
  });

  it.each([
    ['?status=sleeping', 'status'],
    ['?limit=1001', 'limit'],
    ['?limit=0', 'limit'],
    ['?min_cost=cheap', 'min_cost'],
    ['?success=maybe', 'success'],
    ['?created_after=yesterday', 'created_after'],
    ['?sort=task_id%3B%20DROP%20TABLE%20tasks', 'sort'],
    ['?cursor=not-a-cursor', 'cursor'],
  ])('refuses %s naming the parameter', async (query, name) => {
    const server = await testServer(await tempLogsDir());
    const { status, body } = await getJson(`${server.url}/api/tasks${query}`);
    expect(status).toBe(400);
    expect((body as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'REQUEST_INVALID',
    });
    expect((body as { error: { message: string } }).error.message).toContain(name);
  });

  it('rebuilds a missing index from the files, and picks up tasks written by another process', async () => {
    const dir = await tempLogsDir();
    const first = await testServer(dir);
    await seed(first.telemetry.tasks, 5);
    await first.close();
    await rm(join(dir, '.index.sqlite'), { force: true });
    await rm(join(dir, '.index.sqlite-wal'), { force: true });
    await rm(join(dir, '.index.sqlite-shm'), { force: true });

    const server = await testServer(dir, { TASK_LOGS_INDEX_REFRESH_SECONDS: '1' });
    const count = async () =>
      ((await getJson(`${server.url}/api/tasks`)).body as { tasks: unknown[] }).tasks.length;
    expect(await count()).toBe(5);

    // a writer that does not touch the index at all: the refresher finds its task from the files
    const other = testTelemetry(dir, {}, { index: false });
    const task = other.tasks.start({ taskId: 'task-elsewhere', provider: 'slack' });
    task.startAgent({ name: 'brain' }).finish({ result: 'ok', costUsd: 1 });
    await other.forceFlush();
    await expect.poll(count, { timeout: 60_000, interval: 100 }).toBe(6);
    const { body } = await getJson(`${server.url}/api/tasks?provider=slack&min_cost=1`);
    expect((body as { tasks: TaskRow[] }).tasks.map((t) => t.task_id)).toEqual(['task-elsewhere']);
  });
});
