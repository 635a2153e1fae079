// Webhooks per second end to end (a signed GitHub issue_comment through every stage to queue_push) with logging on,
// against the same server with TASK_LOGS_ENABLED=false, each in its own process, rounds interleaved; then the latency
// each adds at a steady 100 signed webhooks/s (p99 with logging on minus p99 with it off).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { hubSignature } from '../../src/intake/signatures.ts';
import {
  atLeast,
  atMost,
  benchDir,
  fmt,
  median,
  percentile,
  progress,
  progressDone,
  QUICK,
  report,
} from './bench-kit.ts';

const SECRET = 'bench-secret-0123456789';
const SECONDS = QUICK ? 1 : 3;
const STEADY_SECONDS = QUICK ? 2 : 10;
const STEADY_RATE = 100;
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
    comment: { id: n + 1, body: `@agent review change ${n}` }, // ids are positive (the intake checks them)
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

function post(url: string, agent: Agent, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = request(`${url}/webhooks/github`, { method: 'POST', headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Latencies (ms) of webhooks sent at a steady rate, one every 1/STEADY_RATE s, each timed from send to answer. */
async function steadyLatencies(url: string): Promise<Float64Array> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const count = STEADY_SECONDS * STEADY_RATE;
  const deliveries = Array.from({ length: count }, signedDelivery);
  const laps = new Float64Array(count);
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / STEADY_RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const { body, headers } = deliveries[i]!;
    const t0 = performance.now();
    pending.push(
      post(url, agent, body, headers).then((status) => {
        if (status !== 202) throw new Error(`webhook answered ${status}`);
        laps[i] = performance.now() - t0;
      }),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return laps;
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
        const status = await post(url, agent, body, headers);
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
    progress(`webhooks at saturation: round ${round + 1} of 5`);
    a.push(await rate(withLogs.url, withLogs.stats));
    b.push((await rate(withoutLogs.url)).answering);
  }
  const stats = (await withLogs.stats()) as { written: number; dropped: number } | null;
  const answering = median(a.map((r) => r.answering));
  const sustained = median(a.map((r) => r.sustained));
  const offRate = median(b);
  report(
    `webhooks end to end at saturation (signed request to queue_push)  logging on ${fmt(answering)}/s  off ${fmt(offRate)}/s  ` +
      `[sustained with every task folder written: ${fmt(sustained)}/s; ` +
      `written ${fmt(stats?.written ?? 0)}, dropped ${fmt(stats?.dropped ?? 0)}]`,
    atLeast('on/off', answering / offRate, 0.8, 'x'),
  );
  progress(`webhooks at ${STEADY_RATE}/s: logging on`);
  const steadyOn = await steadyLatencies(withLogs.url);
  progress(`webhooks at ${STEADY_RATE}/s: logging off`);
  const steadyOff = await steadyLatencies(withoutLogs.url);
  progressDone();
  const p99On = percentile(steadyOn, 99);
  const p99Off = percentile(steadyOff, 99);
  report(
    `webhooks at ${STEADY_RATE}/s for ${STEADY_SECONDS} s  p50 on ${fmt(median(steadyOn), 2)} ms off ${fmt(median(steadyOff), 2)} ms  ` +
      `p99 on ${fmt(p99On, 2)} ms off ${fmt(p99Off, 2)} ms`,
    atMost('p99 added by logging', p99On - p99Off, 2, ' ms'),
  );
} finally {
  withLogs.child.kill();
  withoutLogs.child.kill();
  on.cleanup();
  off.cleanup();
}
