// OTLP ingest over HTTP: spans/s and log records/s the server (pinned to one core, its decode worker included) takes
// as protobuf and as JSON from 10 keep-alive clients (the Collector's default number of sending_queue consumers),
// every item unique and valid, with its largest RSS and the writer's drops; then /healthz p99 while 16 clients flood
// it for as long with gzip requests that expand to about 20 MB each (each sent again after its Retry-After).
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import { OTLP } from '../../src/ingest/otlp-schema.ts';
import { atLeast, atMost, benchDir, fmt, percentile, QUICK, report } from './bench-kit.ts';

const SECONDS = QUICK ? 2 : 6;
const CLIENTS = Number(process.env.BENCH_OTLP_CLIENTS ?? 10);
const SPANS_PER_REQUEST = 512;
const LOGS_PER_REQUEST = 1024;
const TASKS = 200;
const MB = 1024 * 1024;

async function startServer(dir: string) {
  const pin = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  const args = [
    // as `npm start` runs it: a young generation of 8 MB semi-spaces (V8's default grows to 128 MB under load)
    '--max-semi-space-size=8',
    // more Node flags for an A/B of the server alone (for example BENCH_NODE_FLAGS=--heap-growing-percent=100)
    ...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []),
    ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/otlp-prof'] : []),
    join(import.meta.dirname, 'otlp-server.ts'),
  ];
  const child = pin
    ? spawn('taskset', ['-c', '0', process.execPath, ...args], {
        env: { ...process.env, TASK_LOGS_DIR: dir },
        stdio: ['pipe', 'pipe', 'inherit'],
      })
    : spawn(process.execPath, args, {
        env: { ...process.env, TASK_LOGS_DIR: dir },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
  const lines = createInterface({ input: child.stdout! });
  const next = async () => JSON.parse((await once(lines, 'line'))[0] as string);
  const { url } = (await next()) as { url: string };
  return {
    url,
    pinned: pin,
    pid: child.pid!,
    stop: () => child.kill(),
    stats: async () => {
      child.stdin!.write('\n');
      return (await next()) as {
        stats: { dropped: number; written: number };
        maxRss: number;
        breakdown: Record<string, number>;
        cpuMs: number;
        threadCpuMs: Record<string, number>;
        gc: { maxMs: number; over20ms: number; byKind: Record<string, { maxMs: number; over20ms: number }> };
        stalls: { maxWallMs: number; maxCpuMs: number; cpuOver20ms: number };
      };
    },
  };
}

/** Involuntary context switches of all a process's threads (how often they were preempted), from /proc; NaN without. */
function preemptions(pid: number): number {
  try {
    let sum = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
        sum += Number(/\nnonvoluntary_ctxt_switches:\s*(\d+)/.exec(status)?.[1] ?? 0);
      } catch {
        // a thread that ended meanwhile
      }
    }
    return sum;
  } catch {
    return Number.NaN;
  }
}

/** The core this process's main thread last ran on, from /proc (undefined without). */
function lastCore(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[36]);
  } catch {
    return undefined;
  }
}

let counter = 0;
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const kv = (key: string, value: string | number) => ({
  key,
  value: typeof value === 'number' ? { intValue: value } : { stringValue: value },
});

function spans(n: number) {
  const base = 1_700_000_000_000_000_000n + BigInt(counter) * 1_000_000n;
  return Array.from({ length: n }, (_, i) => {
    const id = counter++;
    const task = `task-bench-${id % TASKS}`;
    return {
      traceId: hex(id % TASKS, 32),
      spanId: hex(id + 1, 16),
      name: 'validation',
      kind: 1,
      startTimeUnixNano: String(base + BigInt(i) * 1000n),
      endTimeUnixNano: String(base + BigInt(i) * 1000n + 500n),
      attributes: [
        kv('task.id', task),
        kv('task.stage', 'validation'),
        kv('task.stage.status', 'passed'),
        kv('task.stage.signature', 'sha256'),
        kv('task.provider', 'github'),
        kv('task.source', 'webhook'),
      ],
      status: { code: 1 },
    };
  });
}

function logRecords(n: number, bodySize = 120) {
  const base = 1_700_000_000_000_000_000n + BigInt(counter) * 1_000_000n;
  const text = 'agent output line, '.repeat(Math.ceil(bodySize / 19)).slice(0, bodySize);
  return Array.from({ length: n }, (_, i) => {
    const id = counter++;
    return {
      timeUnixNano: String(base + BigInt(i) * 1000n),
      observedTimeUnixNano: String(base + BigInt(i) * 1000n),
      severityNumber: 9,
      body: { stringValue: `${text} ${id}` },
      attributes: [
        kv('task.id', `task-bench-${id % TASKS}`),
        kv('task.output.type', 'text'),
        kv('task.output.seq', id),
      ],
      traceId: hex(id % TASKS, 32),
      spanId: hex((id % TASKS) + 1, 16),
    };
  });
}

function body(signal: 'traces' | 'logs', encoding: 'protobuf' | 'json', items: unknown[]): Buffer {
  const request =
    signal === 'traces'
      ? {
          resourceSpans: [
            {
              resource: { attributes: [kv('service.name', 'bench')] },
              scopeSpans: [{ scope: { name: 'task-logs' }, spans: items }],
            },
          ],
        }
      : {
          resourceLogs: [
            {
              resource: { attributes: [kv('service.name', 'bench')] },
              scopeLogs: [{ scope: { name: 'task-logs' }, logRecords: items }],
            },
          ],
        };
  if (encoding === 'json') return Buffer.from(JSON.stringify(request));
  const type = signal === 'traces' ? OTLP.traceRequest : OTLP.logsRequest;
  const message = type.fromObject(
    JSON.parse(JSON.stringify(request), (key, value) =>
      (key === 'traceId' || key === 'spanId') && typeof value === 'string'
        ? Buffer.from(value, 'hex')
        : value,
    ),
  );
  return Buffer.from(type.encode(message).finish());
}

const agent = new Agent({ keepAlive: true, maxSockets: 32 });
// /healthz is probed on connections of its own, as a load balancer does
const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
// a request left unanswered this long fails the benchmark, rather than hanging it
const ANSWER_TIMEOUT_MS = 60_000;

function post(
  url: string,
  path: string,
  payload: Buffer,
  headers: Record<string, string>,
  method = 'POST',
  via = agent,
) {
  const attempt = () =>
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const req = request(
        `${url}${path}`,
        { method, agent: via, headers: { ...headers, 'content-length': String(payload.length) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
          // an answer cut off mid-body ends in 'close' without 'end' (and no 'error' without a listener)
          res.on('close', () => {
            if (!res.complete) reject(Object.assign(new Error('answer cut off'), { code: 'ECONNRESET' }));
          });
        },
      );
      req.setTimeout(ANSWER_TIMEOUT_MS, () =>
        req.destroy(new Error(`no answer to ${method} ${path} within ${ANSWER_TIMEOUT_MS} ms`)),
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        // a kept-alive connection the server closed as the request went out (its idle timeout): sent again once,
        // as Node's documentation advises and as the Collector's HTTP client does
        reject(
          req.reusedSocket && error.code === 'ECONNRESET' ? Object.assign(error, { retry: true }) : error,
        );
      });
      req.end(payload);
    });
  return attempt().catch((error: { retry?: boolean }) => {
    if (error.retry) return attempt();
    throw error;
  });
}

async function throughput(signal: 'traces' | 'logs', encoding: 'protobuf' | 'json') {
  const { dir, cleanup } = benchDir(`otlp-${signal}-${encoding}`);
  const server = await startServer(dir);
  const type = encoding === 'json' ? 'application/json' : 'application/x-protobuf';
  const perRequest = signal === 'traces' ? SPANS_PER_REQUEST : LOGS_PER_REQUEST;
  const make = () => body(signal, encoding, signal === 'traces' ? spans(perRequest) : logRecords(perRequest));
  // bodies made ahead, so the clients' own encoding does not pace the server
  const bodies = Array.from({ length: QUICK ? 40 : 200 }, make);
  let taken = 0;
  let refusedAnswers = 0;
  let busy = 0;
  let next = 0;
  // warm-up
  for (let i = 0; i < 4; i++)
    await post(server.url, `/v1/${signal}`, bodies[next++]!, { 'content-type': type });
  taken = 0;
  await server.stats(); // starts the CPU count here, after the warm-up
  const preempted = preemptions(server.pid);
  // where the clients (this process) run: the server is pinned to core 0, and a client that shares it preempts it
  const cores = new Map<number, number>();
  const placement = setInterval(() => {
    const core = lastCore();
    if (core !== undefined) cores.set(core, (cores.get(core) ?? 0) + 1);
  }, 50);
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < deadline && next < bodies.length) {
        const payload = bodies[next++]!;
        // a 429/503 is sent again, as the Collector does; after 50 ms rather than its Retry-After (1 s), so the
        // server never idles for want of work and the figure is what it can take
        for (;;) {
          const answer = await post(server.url, `/v1/${signal}`, payload, { 'content-type': type });
          if (answer.status === 200) {
            taken += perRequest;
            if (answer.body.length > 2) refusedAnswers++;
            break;
          }
          busy++;
          if (performance.now() >= deadline) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(placement);
  const preemptedPer1000 = ((preemptions(server.pid) - preempted) * 1000) / Math.max(1, taken);
  const { stats, maxRss, breakdown, cpuMs, threadCpuMs } = await server.stats();
  server.stop();
  cleanup();
  const rate = taken / seconds;
  // what one free core would take: the server's own CPU time per item, unaffected by other load on the machine
  const cpuRate = taken / (cpuMs / 1000);
  const memory = Object.entries(breakdown)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const byThread = Object.entries(threadCpuMs)
    .sort((a, b) => b[1] - a[1])
    .map(([name, ms]) => `${name} ${fmt((ms * 1000) / taken, 1)}`)
    .join(', ');
  const what = signal === 'traces' ? 'spans' : 'log records';
  report(
    `OTLP ${encoding} ${what}: ${fmt(rate)}/s (${fmt(taken)} in ${fmt(seconds, 1)} s, ${server.pinned ? 'server pinned to one core' : 'not pinned'}); by the server's CPU time ${fmt(cpuRate)}/s (${fmt((cpuMs * 1000) / taken, 1)} µs each${byThread === '' ? '' : `; µs by thread: ${byThread}`}), RSS max ${fmt(maxRss / MB)} MB (MB at the peak: ${memory}), server threads preempted ${fmt(preemptedPer1000, 1)} times per 1,000 items, clients on core ${[
      ...cores,
    ]
      .map(
        ([core, n]) =>
          `${core} ${Math.round(
            (100 * n) /
              Math.max(
                1,
                [...cores.values()].reduce((a, b) => a + b, 0),
              ),
          )}%`,
      )
      .join(
        ', ',
      )}, dropped ${stats.dropped}, answers with partial_success ${refusedAnswers}, 429/503 answers (sent again) ${busy}`,
    atLeast(`${what}/s`, rate, signal === 'traces' ? 10_000 : 50_000, '', 0),
    atMost('RSS MB', maxRss / MB, 256, '', 0),
    atMost('dropped', stats.dropped + refusedAnswers, 0, '', 0),
  );
}

async function flood() {
  const { dir, cleanup } = benchDir('otlp-flood');
  const server = await startServer(dir);
  // about 20 MB of OTLP/JSON per request: 2,000 log records of 10 KB, gzipped to a small fraction
  const payload = gzipSync(body('logs', 'json', logRecords(2000, 10_000)));
  const inflated = 2000 * 10_000;
  const latencies: number[] = [];
  let stop = false;
  const probe = (async () => {
    while (!stop) {
      const t0 = performance.now();
      await post(server.url, '/healthz', Buffer.alloc(0), {}, 'GET', probeAgent);
      latencies.push(performance.now() - t0);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const statuses: Record<number, number> = {};
  // a flood held for as long as the throughput runs: each client sends again after a refusal once its Retry-After
  // (1 s) has passed, as the Collector does, so large requests keep arriving while one is decoded and written
  await server.stats(); // starts the server's counts here
  const deadline = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < deadline) {
        const answer = await post(server.url, '/v1/logs', payload, {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        });
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        if (answer.status !== 200) await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }),
  );
  stop = true;
  await probe;
  const { maxRss, gc, stalls } = await server.stats();
  server.stop();
  cleanup();
  const p99 = percentile(latencies, 99);
  report(
    `OTLP flood: 16 clients sending gzip requests of ${fmt(payload.length / 1024)} KB expanding to ${fmt(inflated / MB)} MB for ${SECONDS} s (answers ${JSON.stringify(statuses)}): /healthz p99 ${fmt(p99, 1)} ms over ${latencies.length} probes, max ${fmt(Math.max(...latencies), 1)} ms; the server's longest GC pause ${fmt(gc.maxMs, 1)} ms, ${gc.over20ms} over 20 ms (by kind: ${JSON.stringify(gc.byKind)}); event-loop stalls: longest ${stalls.maxWallMs} ms, longest by its own CPU ${stalls.maxCpuMs} ms, ${stalls.cpuOver20ms} over 20 ms of CPU; RSS max ${fmt(maxRss / MB)} MB`,
    atMost('/healthz p99', p99, 50, ' ms', 1), // #12: under 50 ms p99 during a flood of large requests
  );
}

const only = process.env.BENCH_OTLP_ONLY;
if (!only || only === 'spans') await throughput('traces', 'protobuf');
if (!only || only === 'spans') await throughput('traces', 'json');
// BENCH_OTLP_ONLY=spans|logs|flood and BENCH_OTLP_ENCODING=protobuf|json run a part alone
const enc = process.env.BENCH_OTLP_ENCODING;
if ((!only || only === 'logs') && enc !== 'json') await throughput('logs', 'protobuf');
if ((!only || only === 'logs') && enc !== 'protobuf') await throughput('logs', 'json');
if (!only || only === 'flood') await flood();
agent.destroy();
probeAgent.destroy();
