// Webhooks per second end to end (a signed GitHub issue_comment through every stage to queue_push) with logging on,
// against the same server with TASK_LOGS_ENABLED=false, each in its own process, in pairs of 3 s rounds (the ratio
// taken per pair, its median and spread printed); then the latency each adds at a steady 100 signed webhooks/s (p99
// with logging on minus p99 with it off) on two new servers, sent to in turns of a second. The saturation rounds send prebuilt requests over raw keep-alive sockets (raw-http-client.ts):
// the client shares the server's two cores, and node:http's client used as much CPU per webhook as the server's whole
// request path. Each round's CPU per webhook is printed by thread, for both servers and for the client. The saturation
// rounds run twice: with the task folders on the disk (the temp folder) and on tmpfs (/dev/shm), as the lifecycles
// benchmark does, since this machine's ext4 makes the kernel's time per created file swing several times over.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
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
import { RawConnection, rawPost } from './raw-http-client.ts';
import { threadGroup } from './thread-cpu.ts';

const SECRET = 'bench-secret-0123456789';
/**
 * seconds per saturation round, and pairs of rounds (on and off). A logging server's last flush of a round is written
 * after the round's window (the drain: awaited before the next round, and not in the answering rate), so a short round
 * leaves more of its work uncounted: 3-15% of the on server's CPU on tmpfs with 1 s rounds, 0-7% with 3 s (review10).
 */
const SECONDS = QUICK ? 0.5 : 3;
const PAIRS = QUICK ? 3 : 8;
/** warm-up rounds per server: at least, at most; and webhooks at least (a new server's CPU per webhook came within
 * the noise of an old one's after 2,500-5,000 webhooks, measured beside it) */
const WARM_MIN = 2;
const WARM_WEBHOOKS = QUICK ? 500 : 5000;
const WARM_MAX = QUICK ? 2 : 10;
const STEADY_SECONDS = QUICK ? 2 : 10;
const STEADY_RATE = 100;
const STEADY_WARM_UP = QUICK ? 1000 : 5000;
const CONNECTIONS = 16;

async function startServer(dir: string, enabled: boolean) {
  const args = [
    // as `npm start` runs it: a young generation of 8 MB semi-spaces (V8's default grows to 128 MB under load)
    '--max-semi-space-size=8',
    // more Node flags for an A/B of the server alone (for example BENCH_NODE_FLAGS=--max-semi-space-size=16)
    ...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []),
    join(import.meta.dirname, 'webhook-server.ts'),
  ];
  const child = spawn(process.execPath, args, {
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
    /** flushes the writer; the writer's stats and the ms of CPU each thread used since the last call */
    stats: async () => {
      child.stdin!.write('\n');
      return (await next()) as {
        stats: { written: number; dropped: number } | null;
        threadCpuMs: Record<string, number>;
        eventLoopDelayMs: { p99: number; max: number };
        /** the main thread's involuntary context switches */
        preempted: number;
      };
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

/**
 * Latencies (ms) of webhooks sent at a steady rate, one every 1/STEADY_RATE s, each timed from send to answer, to
 * two servers in turn, a second each (a, b, b, a, a, b, ...: each goes first in half of the pairs), so both answer
 * under the same load on the machine; each gets STEADY_SECONDS seconds in all. Each server is told when its turns
 * start and end (its event-loop delay counts only then).
 */
async function steadyLatenciesInTurns(
  servers: Awaited<ReturnType<typeof startServer>>[],
): Promise<Float64Array[]> {
  const perServer = STEADY_SECONDS * STEADY_RATE;
  const sides = servers.map((server) => ({
    server,
    agent: new Agent({ keepAlive: true, maxSockets: CONNECTIONS }),
    deliveries: Array.from({ length: perServer }, signedDelivery),
    laps: new Float64Array(perServer),
    sent: 0,
  }));
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let second = 0; second < STEADY_SECONDS * sides.length; second++) {
    const side = sides[(second + (second >> 1)) % sides.length]!;
    for (const other of sides) other.server.child.stdin!.write(other === side ? 'turn\n' : 'rest\n');
    for (let k = 0; k < STEADY_RATE; k++) {
      const wait = start + second * 1000 + (k * 1000) / STEADY_RATE - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const i = side.sent++;
      const { body, headers } = side.deliveries[i]!;
      const t0 = performance.now();
      pending.push(
        post(side.server.url, side.agent, body, headers).then((status) => {
          if (status !== 202) throw new Error(`webhook answered ${status}`);
          side.laps[i] = performance.now() - t0;
        }),
      );
    }
  }
  await Promise.all(pending);
  for (const side of sides) side.agent.destroy();
  return sides.map((side) => side.laps);
}

interface Round {
  answering: number;
  sustained: number;
  /** µs of client CPU per webhook (this process, while sending) */
  clientUs: number;
  done: number;
  /** cores the machine's other processes (not this benchmark's) used during the round */
  others: number;
}

/** ms of CPU a process used (user and system), from /proc; NaN where there is none. */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** ms of CPU the whole machine used (every core, steal left out: this VM reports none), from /proc/stat. */
function machineBusyMs(): number {
  try {
    const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8')
      .slice(0, 200)
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return (user! + nice! + system! + irq! + softirq!) * 10;
  } catch {
    return Number.NaN;
  }
}

type Server = Awaited<ReturnType<typeof startServer>>;

/**
 * One round at saturation: as many prebuilt webhooks as the server answers in SECONDS over CONNECTIONS keep-alive
 * sockets, then `drain` (the logging server's flush, counted in `sustained`). Also measured: the CPU the machine's
 * other processes used meanwhile (the machine's load moves every figure here).
 */
async function rate(
  server: Server,
  servers: Server[],
  drain?: () => Promise<unknown>,
  /** this many webhooks, however long they take, instead of SECONDS */
  count?: number,
): Promise<Round> {
  // signed and built up front: the client is not measured (a server answers ~1,000-5,000 a second here)
  const requests = Array.from({ length: count ?? Math.ceil(SECONDS * 12_000) }, () => {
    const { body, headers } = signedDelivery();
    return rawPost(server.url, '/webhooks/github', body, headers);
  });
  const connections = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => RawConnection.open(server.url)),
  );
  let next = 0;
  let done = 0;
  const busy = machineBusyMs();
  const ours = servers.map((s) => processCpuMs(s.child.pid!));
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = count === undefined ? start + SECONDS * 1000 : Number.POSITIVE_INFINITY;
  await Promise.all(
    connections.map(async (connection) => {
      while (performance.now() < end && next < requests.length) {
        const status = await connection.send(requests[next++]!);
        if (status !== 202) throw new Error(`webhook answered ${status}`);
        done++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const oursMs = servers.reduce((sum, s, i) => sum + processCpuMs(s.child.pid!) - ours[i]!, 0);
  const others = (machineBusyMs() - busy - oursMs - (used.user + used.system) / 1000) / 1000 / seconds;
  for (const connection of connections) connection.close();
  const t0 = performance.now();
  await drain?.();
  return {
    answering: done / seconds,
    sustained: done / (seconds + (performance.now() - t0) / 1000),
    clientUs: (used.user + used.system) / done,
    done,
    others: Math.max(0, others),
  };
}

/** µs of CPU per webhook by thread group, from a server's per-thread ms over `done` webhooks. */
function perWebhook(threadCpuMs: Record<string, number>, done: number): Record<string, number> {
  const us: Record<string, number> = { main: 0, writer: 0, v8: 0, other: 0 };
  for (const [name, ms] of Object.entries(threadCpuMs)) {
    us[threadGroup(name)]! += (ms * 1000) / done;
  }
  us.total = us.main! + us.writer! + us.v8! + us.other!;
  return us;
}

const cpuLine = (rounds: Record<string, number>[], client: number[]) => {
  const threads = ['main', 'writer', 'v8', 'other', 'total'].map(
    (k) =>
      `${k === 'v8' ? 'V8 helpers' : k === 'writer' ? 'writer thread' : k} ${fmt(median(rounds.map((r) => r[k]!)))}`,
  );
  return `${threads.join(', ')}; client ${fmt(median(client))}`;
};

/** `median (IQR a-b, min-max c-d)` of a figure over rounds. */
const spread = (values: number[], digits: number, unit = '') =>
  `${fmt(median(values), digits)}${unit} (IQR ${fmt(percentile(values, 25), digits)}-${fmt(percentile(values, 75), digits)}, ` +
  `min-max ${fmt(Math.min(...values), digits)}-${fmt(Math.max(...values), digits)})`;

/**
 * Warm-up: rounds for each server in turn until its main thread's CPU per webhook has stopped falling (V8 compiles
 * the request path's functions over the first few thousand webhooks): a round that is not 5% below the lowest
 * before it, after at least WARM_MIN rounds and WARM_WEBHOOKS webhooks, and at most WARM_MAX rounds. Returns the
 * webhooks each server answered.
 */
async function warmUp(servers: Server[]): Promise<number[]> {
  const lowest = servers.map(() => Number.POSITIVE_INFINITY);
  const warm = servers.map(() => false);
  const answered = servers.map(() => 0);
  for (let round = 0; round < WARM_MAX && warm.includes(false); round++) {
    for (const [i, server] of servers.entries()) {
      if (warm[i]) continue;
      let stats: Awaited<ReturnType<Server['stats']>> | undefined;
      await server.stats(); // the CPU counts start here
      // flushed before its CPU is read, so that the writer thread's work is done
      const r = await rate(server, servers, async () => {
        stats = await server.stats();
      });
      answered[i] = answered[i]! + r.done;
      const main = perWebhook(stats!.threadCpuMs, r.done).main!;
      if (round + 1 >= WARM_MIN && answered[i]! >= WARM_WEBHOOKS && main > lowest[i]! * 0.95) warm[i] = true;
      lowest[i] = Math.min(lowest[i]!, main);
    }
  }
  return answered;
}

/**
 * Both servers at saturation with their task folders under `parent`, in PAIRS pairs of rounds (on then off, then
 * off then on, ...): the on/off ratio is taken per pair, whose two rounds ran seconds apart under nearly the same
 * load on the machine, and the line gives the median of those ratios with their spread. (The machine's other load
 * moves both servers' CPU per webhook by up to half between rounds, mostly by preempting their main threads; a
 * ratio of two medians taken over different seconds carried that into the line.) The servers are stopped at the
 * end.
 */
async function saturation(parent: string, where: string): Promise<void> {
  const on = benchDir('webhooks-on', parent);
  const off = benchDir('webhooks-off', parent);
  const withLogs = await startServer(on.dir, true);
  const withoutLogs = await startServer(off.dir, false);
  const both = [withLogs, withoutLogs];
  const stop = () => {
    withLogs.child.kill();
    withoutLogs.child.kill();
    on.cleanup();
    off.cleanup();
  };
  try {
    progress(`webhooks at saturation ${where}: warm-up`);
    const [warmOn, warmOff] = (await warmUp(both)) as [number, number];
    const a: Round[] = [];
    const b: Round[] = [];
    const cpuOn: Record<string, number>[] = [];
    const cpuOff: Record<string, number>[] = [];
    const preemptedOn: number[] = [];
    const preemptedOff: number[] = [];
    let lastOn: Awaited<ReturnType<typeof withLogs.stats>> | undefined;
    const roundOn = async () => {
      await withLogs.stats(); // the CPU counts start here
      const r = await rate(withLogs, both, async () => {
        lastOn = await withLogs.stats();
      });
      a.push(r);
      cpuOn.push(perWebhook(lastOn!.threadCpuMs, r.done));
      preemptedOn.push(lastOn!.preempted / r.done);
    };
    const roundOff = async () => {
      await withoutLogs.stats();
      const r = await rate(withoutLogs, both);
      const stats = await withoutLogs.stats();
      b.push(r);
      cpuOff.push(perWebhook(stats.threadCpuMs, r.done));
      preemptedOff.push(stats.preempted / r.done);
    };
    for (let pair = 0; pair < PAIRS; pair++) {
      progress(`webhooks at saturation ${where}: pair ${pair + 1} of ${PAIRS}`);
      if (pair % 2 === 0) {
        await roundOn();
        await roundOff();
      } else {
        await roundOff();
        await roundOn();
      }
    }
    const stats = lastOn?.stats ?? null;
    const answering = median(a.map((r) => r.answering));
    const sustained = median(a.map((r) => r.sustained));
    const offRate = median(b.map((r) => r.answering));
    const ratios = a.map((r, i) => r.answering / b[i]!.answering);
    const others = [...a, ...b].map((r) => r.others);
    report(
      `webhooks end to end at saturation ${where} (signed request to queue_push)  logging on ${fmt(answering)}/s  off ${fmt(offRate)}/s  ` +
        `on/off per pair of rounds: ${spread(ratios, 2, 'x')} over ${PAIRS} pairs of ${SECONDS} s ` +
        `(in order: ${ratios.map((r) => fmt(r, 2)).join(' ')}) ` +
        `[ratio of the medians ${fmt(answering / offRate, 2)}x; warm-up ${fmt(warmOn)} webhooks on, ${fmt(warmOff)} off; ` +
        `other processes on the machine used ${fmt(median(others), 2)} cores (max ${fmt(Math.max(...others), 2)}); ` +
        `sustained with every task folder written: ${fmt(sustained)}/s; ` +
        `written ${fmt(stats?.written ?? 0)}, dropped ${fmt(stats?.dropped ?? 0)}]`,
      atLeast('on/off (median of the pairs)', median(ratios), 0.8, 'x'),
    );
    // the same rounds by CPU time: the request path is the main thread
    const mainOn = median(cpuOn.map((r) => r.main!));
    const mainOff = median(cpuOff.map((r) => r.main!));
    report(
      `webhooks at saturation ${where}, CPU µs per webhook (median of ${PAIRS} rounds)  logging on: ${cpuLine(
        cpuOn,
        a.map((r) => r.clientUs),
      )}  ` +
        `off: ${cpuLine(
          cpuOff,
          b.map((r) => r.clientUs),
        )}  ` +
        `[main thread on ${spread(
          cpuOn.map((r) => r.main!),
          0,
        )}, off ${spread(
          cpuOff.map((r) => r.main!),
          0,
        )}; its preemptions per webhook on ${fmt(median(preemptedOn), 2)} off ${fmt(median(preemptedOff), 2)}; ` +
        `request path (main thread) off/on ${fmt(mainOff / mainOn, 2)}x: the on/off rate with a free core for the writer thread and the client]`,
    );
  } finally {
    stop();
  }
}

// On the disk (the temp folder), as a server is usually run; then on tmpfs, where the disk's kernel time (which moves
// several times over between runs on this machine's ext4, for the same code) no longer hides the CPU logging costs.
await saturation(tmpdir(), `on disk (${tmpdir()})`);
if (existsSync('/dev/shm')) await saturation('/dev/shm', 'on tmpfs (/dev/shm)');

// The latency each adds at 100/s, on the disk, on two new servers: the saturation rounds leave tens of thousands of
// tasks queued forever (this benchmark's queue takes jobs and never runs them; the product's own queue refuses a
// webhook beyond 1,000 waiting), and the logging server's check for interrupted tasks pages through every queued task
// every 30 s (the off server has no task files, so no check): with the saturation servers, the phase measured that
// check over an impossible backlog (9 ms added with ~500,000 queued). Each first answers STEADY_WARM_UP webhooks at
// saturation, which compiles the request path as the saturation warm-up does. The two servers take turns of a second
// so that both see the same load on the machine (one after the other, a change of load between the two windows moved
// the difference by tens of ms), and the event loop's delay in each is measured while it answers.
const onDir = benchDir('webhooks-steady-on');
const offDir = benchDir('webhooks-steady-off');
const withLogs = await startServer(onDir.dir, true);
const withoutLogs = await startServer(offDir.dir, false);
try {
  progress(`webhooks at ${STEADY_RATE}/s: warm-up`);
  for (const server of [withLogs, withoutLogs])
    await rate(server, [withLogs, withoutLogs], server.stats, STEADY_WARM_UP);
  progress(`webhooks at ${STEADY_RATE}/s: logging on and off in turns of a second`);
  await withLogs.stats();
  await withoutLogs.stats();
  const [steadyOn, steadyOff] = (await steadyLatenciesInTurns([withLogs, withoutLogs])) as [
    Float64Array,
    Float64Array,
  ];
  const delayOn = (await withLogs.stats()).eventLoopDelayMs;
  const delayOff = (await withoutLogs.stats()).eventLoopDelayMs;
  progressDone();
  const p99On = percentile(steadyOn, 99);
  const p99Off = percentile(steadyOff, 99);
  report(
    `webhooks at ${STEADY_RATE}/s, ${STEADY_SECONDS} s each in turns of a second, after ${fmt(STEADY_WARM_UP)} each at saturation  ` +
      `p50 on ${fmt(median(steadyOn), 2)} ms off ${fmt(median(steadyOff), 2)} ms  ` +
      `p99 on ${fmt(p99On, 2)} ms off ${fmt(p99Off, 2)} ms  ` +
      `[event-loop delay p99/max: on ${fmt(delayOn.p99, 1)}/${fmt(delayOn.max, 1)} ms, off ${fmt(delayOff.p99, 1)}/${fmt(delayOff.max, 1)} ms]`,
    atMost('p99 added by logging', p99On - p99Off, 2, ' ms'),
  );
} finally {
  withLogs.child.kill();
  withoutLogs.child.kill();
  onDir.cleanup();
  offDir.cleanup();
}
