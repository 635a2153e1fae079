// API benchmarks: metadata requests/s against a bare Koa handler (same run, interleaved), the extra memory of
// streaming a 100 MB agent output, search latency over many tasks, and the time to rebuild their index.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { refreshIndex } from '../../src/store/index-refresh.ts';
import { TaskIndex } from '../../src/store/task-index.ts';
import { atLeast, atMost, benchDir, fmt, median, percentile, QUICK, report } from './bench-kit.ts';

const TASKS = Number(process.env.BENCH_TASKS ?? (QUICK ? 2_000 : 100_000));
const MB = 1024 * 1024;
const { dir, cleanup } = benchDir('api');

function writeTask(root: string, i: number, extra?: (folder: string) => void) {
  const id = `task-${String(i).padStart(6, '0')}`;
  const folder = join(root, id);
  mkdirSync(folder);
  const created = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
  const failed = i % 7 === 0;
  writeFileSync(
    join(folder, 'metadata.json'),
    JSON.stringify({
      task_id: id,
      source: 'webhook',
      provider: ['github', 'jira', 'slack'][i % 3],
      created_at: created,
      started_at: created,
      status: failed ? 'failed' : 'completed',
      assigned_agent: i % 2 ? 'brain' : 'reviewer',
      agent_type: 'planning',
      model: i % 2 ? 'claude-opus-4-5' : 'claude-haiku-4-5',
      completed_at: created,
    }),
  );
  writeFileSync(
    join(folder, '04-final-result.json'),
    JSON.stringify({
      success: !failed,
      result: 'ok',
      error: failed ? 'boom' : null,
      metrics: {
        cost_usd: (i % 1000) / 1000,
        input_tokens: i % 5000,
        output_tokens: i % 3000,
        duration_seconds: i % 600,
      },
      completed_at: created,
    }),
  );
  extra?.(folder);
}

function makeClient(base: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  return (path: string): Promise<{ status: number; bytes: number }> =>
    new Promise((resolve, reject) => {
      const req = request(`${base}${path}`, { agent }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
        // a response cut short by the server ends with 'close' and no 'end': fail rather than wait forever
        res.on('close', () => {
          if (!res.complete) reject(new Error(`${path}: the response was cut short after ${bytes} bytes`));
        });
      });
      req.on('error', reject);
      req.end();
    });
}

async function requestsPerSecond(
  get: (path: string) => Promise<unknown>,
  path: string,
  seconds: number,
): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < end) {
        await get(path);
        done++;
      }
    }),
  );
  return done / seconds;
}

try {
  // 1. the tasks: TASKS small folders (metadata + result), and one task with 100 MB of agent output
  const started = performance.now();
  for (let i = 0; i < TASKS; i++) writeTask(dir, i);
  const line = JSON.stringify({
    timestamp: '2026-01-01T00:00:00.000Z',
    type: 'text',
    content: 'x'.repeat(440),
    seq: 1,
  });
  writeTask(dir, TASKS, (folder) => {
    const block = `${line}\n`.repeat(Math.ceil(MB / (line.length + 1)));
    const parts: string[] = [];
    for (let i = 0; i < 100; i++) parts.push(block);
    writeFileSync(join(folder, '03-agent-output.jsonl'), parts.join(''));
  });
  const bigId = `task-${String(TASKS).padStart(6, '0')}`;
  process.stderr.write(
    `(generated ${TASKS + 1} task folders in ${fmt((performance.now() - started) / 1000, 1)} s)\n`,
  );

  // 2. index rebuild from the files
  const indexPath = join(dir, '.index.sqlite');
  const index = new TaskIndex(indexPath);
  const rebuild = await refreshIndex(index, dir);
  index.close();
  report(
    `index rebuild  ${fmt(rebuild.updated)} tasks in ${fmt(rebuild.ms / 1000, 2)} s  (${fmt(rebuild.updated / (rebuild.ms / 1000))} tasks/s)`,
  );

  // 3. the servers
  const child = spawn(process.execPath, ['--expose-gc', join(import.meta.dirname, 'api-server.ts'), dir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const next = async () => JSON.parse((await once(lines, 'line'))[0] as string);
  const { ours, bare } = (await next()) as { ours: string; bare: string };
  const rss = async () => {
    child.stdin!.write('\n');
    return ((await next()) as { rss: number }).rss;
  };
  const getOurs = makeClient(ours);
  const getBare = makeClient(bare);

  const metadataPath = '/api/tasks/task-000042/logs/metadata';
  if ((await getOurs(metadataPath)).status !== 200) throw new Error('metadata endpoint failed');
  await requestsPerSecond(getOurs, metadataPath, 1);
  await requestsPerSecond(getBare, '/', 1);
  const oursRps: number[] = [];
  const bareRps: number[] = [];
  for (let round = 0; round < 3; round++) {
    oursRps.push(await requestsPerSecond(getOurs, metadataPath, 2));
    bareRps.push(await requestsPerSecond(getBare, '/', 2));
  }
  const a = median(oursRps);
  const b = median(bareRps);
  report(
    `GET metadata  ours ${fmt(a)} req/s  bare Koa constant ${fmt(b)} req/s`,
    atLeast('ours/bare', a / b, 0.5, 'x'),
  );

  // 4. streaming 100 MB: the server's peak RSS over its idle RSS, sampled while the body flows
  for (const path of [
    `/api/tasks/${bigId}/logs/agent-output`,
    `/api/tasks/${bigId}/logs/agent-output?format=jsonl`,
    `/api/tasks/${bigId}/logs/full`,
  ]) {
    const idle = await rss();
    let peak = idle;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
        peak = Math.max(peak, kb * 1024);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const t0 = performance.now();
    const { status, bytes } = await getOurs(path);
    sampling = false;
    await sampler;
    if (status !== 200) throw new Error(`${path} answered ${status}`);
    report(
      `stream ${path.replace(bigId, '<100 MB task>')}  ${fmt(bytes / MB, 0)} MB in ${fmt((performance.now() - t0) / 1000, 2)} s  ` +
        `extra RSS ${fmt((peak - idle) / MB, 1)} MB`,
      atMost('extra RSS', (peak - idle) / MB, 64, ' MB', 1),
    );
  }

  // 5. search latency over HTTP, a mix of filters, sorts and pages
  const queries = [
    '',
    '?status=failed',
    '?provider=jira',
    '?provider=slack&status=completed',
    '?created_after=2026-02-01&created_before=2026-02-15',
    '?min_cost=0.5&max_cost=0.6',
    '?sort=cost_usd&order=desc',
    '?model=claude-opus-4-5&success=false',
    '?agent=brain&provider=github&limit=1000',
    '?min_tokens=7000',
    '?sort=duration_seconds&order=asc&limit=50',
  ];
  const cursor = ((await (await fetch(`${ours}/api/tasks?provider=jira`)).json()) as { next_cursor: string })
    .next_cursor;
  queries.push(`?provider=jira&cursor=${cursor}`);
  const laps: number[] = [];
  for (let round = 0; round < 40; round++) {
    for (const query of queries) {
      const t0 = performance.now();
      const { status } = await getOurs(`/api/tasks${query}`);
      laps.push(performance.now() - t0);
      if (status !== 200) throw new Error(`search ${query} answered ${status}`);
    }
  }
  report(
    `search over ${fmt(TASKS + 1)} tasks  p50 ${fmt(percentile(laps, 50), 1)} ms  p95 ${fmt(percentile(laps, 95), 1)} ms  ` +
      `max ${fmt(Math.max(...laps), 1)} ms  (${laps.length} requests, ${queries.length} query shapes)`,
    atMost('p95', percentile(laps, 95), 50, ' ms', 1),
  );
  child.kill();
} finally {
  cleanup();
}
