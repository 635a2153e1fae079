import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OUTPUT_TYPES, WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const CHECKER = resolve(ROOT, '../shared/tools/check-task.py');

describe('npm run example', () => {
  it('writes one complete task with 100+ output events of every type and prints its folder', async () => {
    const dir = await tempLogsDir();
    const stdout = execFileSync(process.execPath, ['src/example.ts', '--task-id', 'task-abc123'], {
      cwd: ROOT,
      env: { ...process.env, TASK_LOGS_DIR: dir },
      encoding: 'utf8',
    });
    const folder = join(dir, 'task-abc123');
    expect(stdout).toContain(`task task-abc123 written to ${folder}`);
    const files = readTaskFolder(folder);
    expect(files.metadata?.status).toBe('completed');
    expect(files.webhookFlow.map((line) => line.stage)).toEqual([...WEBHOOK_STAGES]);
    expect(files.agentOutput.length).toBeGreaterThanOrEqual(100);
    expect(new Set(files.agentOutput.map((line) => line.type))).toEqual(new Set(OUTPUT_TYPES));
    expect(files.finalResult?.success).toBe(true);

    // the contract checker shipped beside the project, when it is there
    if (existsSync(CHECKER)) {
      const check = spawnSync('python3', [CHECKER, folder, 'completed'], { encoding: 'utf8' });
      expect(check.stdout + check.stderr).not.toMatch(/^(?!types=).+$/m);
      expect(check.status).toBe(0);
    } else {
      console.warn(`SKIPPED: ${CHECKER} not found, so the example was not run through check-task.py`);
    }
  });

  it('refuses a hostile --task-id with a clear message and exit code 2, writing nothing', async () => {
    const dir = await tempLogsDir();
    const result = spawnSync(process.execPath, ['src/example.ts', '--task-id', '../escape'], {
      cwd: ROOT,
      env: { ...process.env, TASK_LOGS_DIR: join(dir, 'tasks') },
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('example: task id "../escape" is not 1-128 characters');
    expect(existsSync(join(dir, 'escape'))).toBe(false);

    // a mistyped option: the usage, not a parser stack trace
    const bogus = spawnSync(process.execPath, ['src/example.ts', '--task', 'x'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect({ status: bogus.status, stderr: bogus.stderr }).toEqual({
      status: 2,
      stderr: "example: Unknown option '--task'\nusage: npm run example [-- --task-id ID] [--fail]\n",
    });
  });

  it('refuses a --task-id that already exists, leaving the first task as it was', async () => {
    const dir = await tempLogsDir();
    const run = () =>
      spawnSync(process.execPath, ['src/example.ts', '--task-id', 'task-abc123'], {
        cwd: ROOT,
        env: { ...process.env, TASK_LOGS_DIR: dir },
        encoding: 'utf8',
      });
    // the first run's reader has closed the pipe before the example prints (as `npm run example | head -1` may):
    // success, without a stack trace (walk9: an unhandled EPIPE, exit 1)
    const first = spawnSync(
      'sh',
      ['-c', '( "$0" src/example.ts --task-id task-abc123; echo "exit $?" >&2 ) | true', process.execPath],
      { cwd: ROOT, env: { ...process.env, TASK_LOGS_DIR: dir }, encoding: 'utf8' },
    );
    expect(first.stderr).toBe('exit 0\n');
    const before = readFileSync(join(dir, 'task-abc123', '03-agent-output.jsonl'), 'utf8');
    const second = run();
    expect(second.status).toBe(2);
    expect(second.stderr).toContain('example: task "task-abc123" already exists in');
    expect(readFileSync(join(dir, 'task-abc123', '03-agent-output.jsonl'), 'utf8')).toBe(before);
    const files = readTaskFolder(join(dir, 'task-abc123'));
    expect(new Set(files.agentOutput.map((line) => line.trace_id)).size).toBe(1);
  }, 120_000);

  it('exits 0 and reports the export error when the OTLP endpoint refuses connections', async () => {
    const dir = await tempLogsDir();
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const result = spawnSync(process.execPath, ['src/example.ts', '--task-id', 'task-otlp-down'], {
      cwd: ROOT,
      env: {
        ...process.env,
        TASK_LOGS_DIR: dir,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        // the exporters retry a refused connection with backoff until their timeout (10 s by default); a refusal on
        // loopback is immediate, so 3 s still ends on one, and the file waits ~8 s less
        OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
      },
      encoding: 'utf8',
    });
    expect(result.stderr).toMatch(
      /telemetry could not (flush|shut down) cleanly \(OTLP export\): .*ECONNREFUSED/,
    );
    expect(result.status).toBe(0);
    expect(readTaskFolder(join(dir, 'task-otlp-down')).metadata?.status).toBe('completed');
  }, 120_000);
});
