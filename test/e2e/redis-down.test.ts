import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { startStoppableRedis } from '../helpers/redis.ts';
import { testServer } from '../helpers/server.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { githubComment, githubRequest, SECRETS } from '../helpers/webhook-requests.ts';

describe('a webhook that cannot be queued because Redis is down', () => {
  it('leaves no live-looking folder, and its redelivery once Redis is back is one task', async () => {
    const redis = await startStoppableRedis();
    if (redis === undefined) return;
    const port = Number(new URL(redis.url).port);
    const dir = await tempLogsDir();
    const server = await testServer(dir, {
      ...SECRETS,
      REDIS_URL: redis.url,
      TASK_QUEUE_NAME: `down-${process.pid}`,
      AGENT_RUNNER: 'replay',
    });
    const statuses = async () => {
      await server.telemetry.forceFlush();
      return readdirSync(dir)
        .filter((name) => name.startsWith('task-'))
        .map((name) => readTaskFolder(join(dir, name)).metadata?.status)
        .sort();
    };
    const delivery = 'delivery-during-outage';
    const send = () =>
      freshFetch(`${server.url}/webhooks/github`, githubRequest(githubComment(), { delivery }));

    await redis.stop();
    const refused = await send();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refused.json()).toMatchObject({ error: { code: 'QUEUE_UNAVAILABLE' } });
    // whatever was written says the task will never run; nothing is left "queued"
    expect((await statuses()).every((status) => status === 'rejected')).toBe(true);
    const rejected = (await statuses()).length;
    const listed = (await (await freshFetch(`${server.url}/api/tasks?status=queued`)).json()) as {
      tasks: unknown[];
    };
    expect(listed.tasks).toEqual([]);

    const again = await startStoppableRedis(port);
    if (again === undefined) return;
    // the provider redelivers (the same delivery id) until the queue takes it
    let taskId: string | undefined;
    await expect
      .poll(
        async () => {
          const response = await send();
          if (response.status === 202) taskId = ((await response.json()) as { task_id: string }).task_id;
          return response.status;
        },
        { timeout: 60_000, interval: 200 },
      )
      .toBe(202);
    const duplicate = await send();
    expect(await duplicate.json()).toEqual({ task_id: taskId, status: 'duplicate' });
    const after = await statuses();
    expect(after.filter((status) => status !== 'rejected')).toEqual(['queued']);
    expect(after.length).toBeGreaterThanOrEqual(rejected + 1);
  });
});
