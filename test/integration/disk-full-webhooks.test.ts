import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/http/server.ts';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { mountTmpfs } from '../helpers/tmpfs.ts';
import { githubComment, githubRequest, SECRETS } from '../helpers/webhook-requests.ts';

describe('webhooks while the logs disk is full', () => {
  it('answer 503 with Retry-After and log one line, and the redelivery after the disk has room is a new task', async ({
    skip,
  }) => {
    const mounted = await mountTmpfs('1m');
    if (mounted === undefined) return skip('mounting a tmpfs needs root');
    const dir = join(mounted, 'tasks');
    const logged: unknown[] = [];
    const config = loadConfig({
      env: { TASK_LOGS_DIR: dir, PORT: '0', ...SECRETS, AGENT_RUNNER: 'replay', AGENT_REPLAY_DELAY_MS: '0' },
    });
    const server = await startServer(config, {
      log: () => undefined,
      logError: (error) => logged.push(error),
    });
    try {
      const filler = join(mounted, 'filler');
      expect(() => writeFileSync(filler, Buffer.alloc(2 << 20))).toThrow(/ENOSPC/);
      const send = () =>
        freshFetch(
          `${server.url}/webhooks/github`,
          githubRequest(githubComment(), { delivery: 'during-disk-full' }),
        );

      const refused = await send();
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await refused.json()).toMatchObject({ error: { code: 'STORAGE_UNAVAILABLE' } });
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatch(/^POST \/webhooks\/github answered 503: STORAGE_UNAVAILABLE: .*disk is full/);
      expect(logged[0]).not.toMatch(/\n/);

      rmSync(filler);
      const again = await send();
      expect(again.status).toBe(202);
      expect(await again.json()).toMatchObject({ status: 'queued' });
    } finally {
      await server.close();
    }
  });
});
