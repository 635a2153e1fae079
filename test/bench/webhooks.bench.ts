// Webhooks per second end to end (a signed GitHub issue_comment through every stage to queue_push) with logging on,
// against the same server with TASK_LOGS_ENABLED=false, each in its own process, rounds interleaved.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { hubSignature } from '../../src/intake/signatures.ts';
import { benchDir, fmt, median, report } from './bench-kit.ts';

const SECRET = 'bench-secret-0123456789';
const SECONDS = 3;
const CONNECTIONS = 16;

async function startServer(dir: string, enabled: boolean) {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'webhook-server.ts')], {
    env: {
      ...process.env,
      TASK_LOGS_DIR: dir,
      TASK_LOGS_ENABLED: String(enabled),
      GITHUB_WEBHOOK_SECRET: SECRET,
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const next = async () => JSON.parse((await once(lines, 'line'))[0] as string);
  const { url } = (await next()) as { url: string };
  return {
    child,
    url,
    stats: async () => {
      child.stdin!.write('\n');
      return ((await next()) as { stats: unknown }).stats;
    },
  };
}

let counter = 0;
function signedDelivery(): { body: string; headers: Record<string, string> } {
  const n = counter++;
  const body = JSON.stringify({
    action: 'created',
    issue: { number: 42 },
    comment: { id: n, body: `@agent review change ${n}` },
    repository: { full_name: 'owner/repo' },
    sender: { login: 'octocat', type: 'User' },
  });
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issue_comment',
      'x-github-delivery': `bench-${process.pid}-${n}`,
      'x-hub-signature-256': hubSignature(SECRET, body),
    },
  };
}

/** Requests per second while answering, and sustained: with `drain` (the logging server's flush to disk) counted in. */
async function rate(
  url: string,
  drain?: () => Promise<unknown>,
): Promise<{ answering: number; sustained: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const deliveries = Array.from({ length: 60_000 }, signedDelivery); // signed up front: the client is not measured
  let next = 0;
  let done = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end && next < deliveries.length) {
        const { body, headers } = deliveries[next++]!;
        const status = await new Promise<number>((resolve, reject) => {
          const req = request(`${url}/webhooks/github`, { method: 'POST', headers, agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end(body);
        });
        if (status !== 202) throw new Error(`webhook answered ${status}`);
        done++;
      }
    }),
  );
  agent.destroy();
  const t0 = performance.now();
  await drain?.();
  return { answering: done / SECONDS, sustained: done / (SECONDS + (performance.now() - t0) / 1000) };
}

const on = benchDir('webhooks-on');
const off = benchDir('webhooks-off');
const withLogs = await startServer(on.dir, true);
const withoutLogs = await startServer(off.dir, false);
try {
  await rate(withLogs.url, withLogs.stats); // warm-up
  await rate(withoutLogs.url);
  const a: { answering: number; sustained: number }[] = [];
  const b: number[] = [];
  for (let round = 0; round < 5; round++) {
    a.push(await rate(withLogs.url, withLogs.stats));
    b.push((await rate(withoutLogs.url)).answering);
  }
  const stats = (await withLogs.stats()) as { written: number; dropped: number } | null;
  const answering = median(a.map((r) => r.answering));
  const sustained = median(a.map((r) => r.sustained));
  const offRate = median(b);
  report(
    `webhooks end to end (signed request to queue_push)  logging on ${fmt(answering)}/s  off ${fmt(offRate)}/s  ` +
      `logging costs ${fmt((1 - answering / offRate) * 100, 1)}% (target < 10%)  ` +
      `[sustained with every task folder written: ${fmt(sustained)}/s, ${fmt((1 - sustained / offRate) * 100, 1)}% below; ` +
      `written ${fmt(stats?.written ?? 0)}, dropped ${fmt(stats?.dropped ?? 0)}]`,
  );
} finally {
  withLogs.child.kill();
  withoutLogs.child.kill();
  on.cleanup();
  off.cleanup();
}
