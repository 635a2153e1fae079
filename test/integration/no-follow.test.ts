import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TASK_FILES } from '../../src/contract/task-files.ts';
import { verifyTasks } from '../../src/ops/verify.ts';
import { TaskStore } from '../../src/store/task-store.ts';
import { checksumTree, plantCanary } from '../helpers/canary.ts';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { writeTask } from '../helpers/old-tasks.ts';
import { recordSampleTask } from '../helpers/sample-task.ts';
import { testServer } from '../helpers/server.ts';
import { tasklogsWith } from '../helpers/tasklogs-cli.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const TORN = '{"timestamp":"2026-01-01T00:00:00.000Z","type":"te';

/** A logs folder and, beside it (outside it), a canary tree. */
async function rootWithCanary() {
  const base = await tempLogsDir();
  const root = join(base, 'tasks');
  mkdirSync(root);
  const canary = plantCanary(join(base, 'canary'));
  return { root, canary, sum: checksumTree(canary) };
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

function tasklogs(dir: string, args: string[], options: { uid?: number } = {}) {
  return tasklogsWith(dir, args, { ...options, timeoutMs: 20_000 });
}

// each hazard is planted in task-x of a fresh logs folder (canary is the folder outside it)
const WRITER_HAZARDS: { name: string; plant: (dir: string, canary: string) => void; report: RegExp }[] = [
  {
    name: 'a task folder that is a symlink to a folder outside the root',
    plant: (dir, canary) => symlinkSync(canary, dir),
    report: /symbolic link/,
  },
  {
    name: 'a task folder that is a symlink to a file outside the root',
    plant: (dir, canary) => symlinkSync(join(canary, 'secret.txt'), dir),
    report: /symbolic link/,
  },
  {
    name: 'a 03-agent-output.jsonl that is a symlink to a file outside the root',
    plant: (dir, canary) => {
      mkdirSync(dir);
      symlinkSync(join(canary, TASK_FILES.agentOutput), join(dir, TASK_FILES.agentOutput));
    },
    report: /03-agent-output\.jsonl" is a symbolic link/,
  },
  {
    name: 'a metadata.json that is a symlink to a file outside the root',
    plant: (dir, canary) => {
      mkdirSync(dir);
      symlinkSync(join(canary, TASK_FILES.metadata), join(dir, TASK_FILES.metadata));
    },
    report: /could not write/,
  },
  {
    name: 'a FIFO named 03-agent-output.jsonl',
    plant: (dir) => {
      mkdirSync(dir);
      mkfifo(join(dir, TASK_FILES.agentOutput));
    },
    report: /03-agent-output\.jsonl" is a FIFO/,
  },
  {
    name: 'a folder named 02-webhook-flow.jsonl',
    plant: (dir) => {
      mkdirSync(join(dir, TASK_FILES.webhookFlow), { recursive: true });
    },
    report: /02-webhook-flow\.jsonl" is a directory/,
  },
];

describe('the task writer, facing links and special files in the logs folder', () => {
  for (const hazard of WRITER_HAZARDS) {
    it(`never writes through ${hazard.name}, and reports it`, async () => {
      const { root, canary, sum } = await rootWithCanary();
      hazard.plant(join(root, 'task-x'), canary);
      const telemetry = testTelemetry(root);
      await recordSampleTask(telemetry.tasks, { taskId: 'task-x' });
      await recordSampleTask(telemetry.tasks, { taskId: 'task-ok' });
      await telemetry.forceFlush(); // returns: a FIFO never blocks the writer
      expect(checksumTree(canary)).toBe(sum);
      expect(telemetry.writer!.stats().errors).toBeGreaterThan(0);
      expect(telemetry.reports.join('\n')).toMatch(hazard.report);
      expect(telemetry.reports.join('\n')).not.toContain('/proc/self/fd');
      // the other task is written as usual
      expect(JSON.parse(readFileSync(join(root, 'task-ok', TASK_FILES.metadata), 'utf8')).status).toBe(
        'completed',
      );
    });
  }
});

describe('the API, facing links and special files in the logs folder', () => {
  it('answers 404 or an empty list, never blocks on a FIFO, and never reads through a link', async () => {
    const { root, canary } = await rootWithCanary();
    writeTask(root, 'task-fifo');
    rmSync(join(root, 'task-fifo', TASK_FILES.metadata));
    rmSync(join(root, 'task-fifo', TASK_FILES.agentOutput));
    mkfifo(join(root, 'task-fifo', TASK_FILES.metadata));
    mkfifo(join(root, 'task-fifo', TASK_FILES.agentOutput));
    symlinkSync(canary, join(root, 'task-link'));
    writeTask(root, 'task-filelink');
    rmSync(join(root, 'task-filelink', TASK_FILES.input));
    symlinkSync(join(canary, TASK_FILES.input), join(root, 'task-filelink', TASK_FILES.input));
    const server = await testServer(root);
    const get = async (path: string) => {
      const response = await freshFetch(`${server.url}${path}`);
      return { status: response.status, text: await response.text() };
    };
    expect(await get('/api/tasks/task-fifo/logs/metadata')).toMatchObject({ status: 404 });
    expect(await get('/api/tasks/task-fifo/logs/agent-output')).toEqual({ status: 200, text: '[]' });
    expect((await get('/api/tasks/task-fifo/logs/full')).status).toBe(200);
    for (const path of ['metadata', 'input', 'agent-output', 'full']) {
      const answer = await get(`/api/tasks/task-link/logs/${path}`);
      expect(answer.status).toBe(404);
      expect(answer.text).not.toContain('canary');
    }
    const input = await get('/api/tasks/task-filelink/logs/input');
    expect(input.status).toBe(404);
    expect(input.text).not.toContain('canary');
    expect((await get('/healthz')).status).toBe(200);
  });

  it('keeps the JSON cache bounded by bytes, and never caches a large file', async () => {
    const root = await tempLogsDir();
    const store = new TaskStore(root);
    const big = 'x'.repeat(2 * 1024 * 1024);
    for (let i = 0; i < 12; i++) {
      const dir = writeTask(root, `task-${i}`);
      writeFileSync(join(dir, TASK_FILES.input), JSON.stringify({ message: big, source_metadata: {} }));
      expect((await store.readJson<{ message: string }>(`task-${i}`, TASK_FILES.input))?.message.length).toBe(
        big.length,
      );
      await store.readJson(`task-${i}`, TASK_FILES.metadata);
    }
    expect(store.cachedBytes).toBeGreaterThan(0); // the small metadata files are cached
    expect(store.cachedBytes).toBeLessThan(64 * 1024);
  });
});

describe('tasklogs verify --repair, facing links, special files and unreadable files', () => {
  it('never cuts a file outside the root through a symlinked 03-agent-output.jsonl, and reports it', async () => {
    const { root, canary, sum } = await rootWithCanary();
    const dir = writeTask(root, 'task-x');
    rmSync(join(dir, TASK_FILES.agentOutput));
    symlinkSync(join(canary, TASK_FILES.agentOutput), join(dir, TASK_FILES.agentOutput));
    const result = await verifyTasks({ root, repair: true });
    expect(checksumTree(canary)).toBe(sum);
    expect(result.broken).toEqual([
      {
        task_id: 'task-x',
        problems: ['03-agent-output.jsonl: is a symbolic link: skipped'],
        repaired: [],
      },
    ]);
  });

  it('reports a folder named like a JSONL file, a FIFO and a socket-free special file, with no stack trace', async () => {
    const { root } = await rootWithCanary();
    const dir = writeTask(root, 'task-x');
    rmSync(join(dir, TASK_FILES.agentOutput));
    mkdirSync(join(dir, TASK_FILES.agentOutput));
    rmSync(join(dir, TASK_FILES.webhookFlow));
    mkfifo(join(dir, TASK_FILES.webhookFlow));
    const run = tasklogs(root, ['verify', '--repair']);
    expect(run.err).not.toMatch(/\n\s+at /);
    expect(run.code).toBe(1);
    expect(run.out).toContain('task-x: 02-webhook-flow.jsonl: is a FIFO: skipped');
    expect(run.out).toContain('task-x: 03-agent-output.jsonl: is a directory: skipped');
    expect(lstatSync(join(dir, TASK_FILES.webhookFlow)).isFIFO()).toBe(true);
  });

  it('never empties a file it could not read (EACCES), and reports it', async () => {
    const { root } = await rootWithCanary();
    chmodSync(join(root, '..'), 0o755);
    chmodSync(root, 0o777);
    const dir = writeTask(root, 'task-x');
    chmodSync(dir, 0o777);
    const file = join(dir, TASK_FILES.agentOutput);
    const before = readFileSync(file);
    chmodSync(file, 0o222); // writable, not readable, by anyone but root
    for (const name of [
      TASK_FILES.metadata,
      TASK_FILES.input,
      TASK_FILES.finalResult,
      TASK_FILES.webhookFlow,
    ])
      chmodSync(join(dir, name), 0o644);
    const run = tasklogs(root, ['verify', '--repair'], { uid: 65534 });
    expect(run.err).not.toMatch(/\n\s+at /);
    expect(run.out).toContain('task-x: 03-agent-output.jsonl: unreadable (EACCES)');
    expect(run.code).toBe(1);
    expect(readFileSync(file)).toEqual(before);
  });

  it('cuts a torn line at its exact byte after invalid UTF-8', async () => {
    const root = await tempLogsDir();
    const dir = writeTask(root, 'task-x');
    const file = join(dir, TASK_FILES.agentOutput);
    // a line holding bytes that are not UTF-8 (each decodes to a 3-byte replacement character)
    appendFileSync(
      file,
      Buffer.concat([
        Buffer.from('{"type":"text","content":"'),
        Buffer.from([0xff, 0xfe, 0xfd]),
        Buffer.from('","timestamp":"2026-01-01T00:00:00Z"}\n'),
      ]),
    );
    const whole = readFileSync(file);
    appendFileSync(file, TORN);
    const result = await verifyTasks({ root, repair: true });
    expect(result.broken[0]?.repaired).toEqual([
      `03-agent-output.jsonl: cut a torn last line (${TORN.length} bytes)`,
    ]);
    expect(readFileSync(file)).toEqual(whole);
  });

  it('never cuts the torn line of a task that is still running', async () => {
    const root = await tempLogsDir();
    const dir = writeTask(root, 'task-x', { status: 'running' });
    const file = join(dir, TASK_FILES.agentOutput);
    appendFileSync(file, TORN);
    const before = readFileSync(file);
    const result = await verifyTasks({ root, repair: true });
    expect(result.broken[0]?.repaired).toEqual([]);
    expect(result.broken[0]?.problems).toContain(
      '03-agent-output.jsonl: torn last line (the task may still be writing: not repaired)',
    );
    expect(readFileSync(file)).toEqual(before);
  });

  it('reports temp files left by failed atomic writes', async () => {
    const root = await tempLogsDir();
    const dir = writeTask(root, 'task-x');
    const temp = join(dir, '.metadata.json.123.abcdef.0.tmp');
    writeFileSync(temp, '{"half":');
    utimesSync(temp, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    const result = await verifyTasks({ root });
    expect(result.broken[0]?.problems).toEqual([
      '.metadata.json.123.abcdef.0.tmp: a temporary file left by a failed write (removed by maintenance once stale)',
    ]);
  });
});
