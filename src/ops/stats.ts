// stats: counts, failure rate, cost, tokens, durations and disk use, overall, per provider and per day.
import { listTaskFolders, summarizeAll } from './task-folders.ts';

export interface Totals {
  tasks: number;
  completed: number;
  failed: number;
  running: number;
  queued: number;
  rejected: number;
  failure_rate: number;
  cost_usd: number;
  avg_cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  avg_duration_seconds: number;
  bytes: number;
}

export interface Stats {
  total: Totals;
  bytes_per_task: number;
  by_provider: Record<string, Totals>;
  by_day: Record<string, Totals>;
}

function empty(): Totals & { durations: number } {
  return {
    tasks: 0,
    completed: 0,
    failed: 0,
    running: 0,
    queued: 0,
    rejected: 0,
    failure_rate: 0,
    cost_usd: 0,
    avg_cost_usd: 0,
    input_tokens: 0,
    output_tokens: 0,
    avg_duration_seconds: 0,
    bytes: 0,
    durations: 0,
  };
}

export async function taskStats(options: {
  root: string;
  onProgress?: (done: number, total: number) => void;
}): Promise<Stats> {
  const summaries = await summarizeAll(await listTaskFolders(options.root), options.onProgress);
  const total = empty();
  const byProvider = new Map<string, ReturnType<typeof empty>>();
  const byDay = new Map<string, ReturnType<typeof empty>>();
  for (const s of summaries) {
    const provider = s.metadata?.provider ?? 'unknown';
    const day = (s.metadata?.created_at ?? '').slice(0, 10) || 'unknown';
    for (const bucket of [total, get(byProvider, provider), get(byDay, day)]) {
      bucket.tasks++;
      const status = s.status ?? 'queued';
      if (status in bucket) (bucket as unknown as Record<string, number>)[status]!++;
      const metrics = s.finalResult?.metrics;
      bucket.cost_usd += num(metrics?.cost_usd);
      bucket.input_tokens += num(metrics?.input_tokens);
      bucket.output_tokens += num(metrics?.output_tokens);
      if (typeof metrics?.duration_seconds === 'number') {
        bucket.durations++;
        bucket.avg_duration_seconds += metrics.duration_seconds;
      }
      bucket.bytes += s.bytes;
    }
  }
  const finish = (t: ReturnType<typeof empty>): Totals => {
    const { durations, ...rest } = t;
    const ended = t.completed + t.failed;
    return {
      ...rest,
      cost_usd: round(t.cost_usd, 6),
      failure_rate: ended ? round(t.failed / ended, 4) : 0,
      avg_cost_usd: ended ? round(t.cost_usd / ended, 6) : 0,
      avg_duration_seconds: durations ? round(t.avg_duration_seconds / durations, 3) : 0,
    };
  };
  return {
    total: finish(total),
    bytes_per_task: total.tasks ? Math.round(total.bytes / total.tasks) : 0,
    by_provider: Object.fromEntries([...byProvider].sort().map(([k, v]) => [k, finish(v)])),
    by_day: Object.fromEntries([...byDay].sort().map(([k, v]) => [k, finish(v)])),
  };
}

function get<K>(map: Map<K, ReturnType<typeof empty>>, key: K) {
  let bucket = map.get(key);
  if (bucket === undefined) {
    bucket = empty();
    map.set(key, bucket);
  }
  return bucket;
}

const num = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
