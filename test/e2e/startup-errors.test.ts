import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { mountTmpfs, remount } from '../helpers/tmpfs.ts';

const ROOT = resolve(import.meta.dirname, '../..');

// npm start with the environment; a server that starts by mistake (it says where it listens) is killed, so the test
// fails rather than hangs. No time limit: on a loaded machine (load 20 on 2 cores) a start took 20-30 s, and a
// spawnSync timeout of 30 s killed starts that were about to print the expected line.
async function start(env: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
    if (stdout.includes(' listening on ')) child.kill('SIGKILL');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  const [status] = (await once(child, 'close')) as [number | null];
  return { status, stderr: stderr.trim() };
}

// each case starts a Node process (seconds on a loaded machine)
describe('npm start with a bad environment', { timeout: 240_000 }, () => {
  it('refuses a TASK_LOGS_DIR under /proc with one line and exit 2', async () => {
    const result = await start({ TASK_LOGS_DIR: '/proc/x' });
    expect(result).toEqual({
      status: 2,
      stderr: 'task-logs: TASK_LOGS_DIR=/proc/x is under /proc, a kernel file system',
    });
  });

  it('names the port when it is already in use, and exits 2', async () => {
    const dir = await tempLogsDir();
    const busy = createServer();
    await new Promise<void>((done) => busy.listen(0, '127.0.0.1', done));
    onTestFinished(() => new Promise<void>((done) => busy.close(() => done())));
    const { port } = busy.address() as { port: number };
    const result = await start({ TASK_LOGS_DIR: dir, PORT: String(port), HOST: '127.0.0.1' });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      `task-logs: PORT=${port} is already in use on 127.0.0.1: stop the other server or set PORT (0 picks a free port)`,
    );
  });

  it('names OTLP_INGEST_PORT when the ingest port is in use, and exits 2', async () => {
    const dir = await tempLogsDir();
    const busy = createServer();
    await new Promise<void>((done) => busy.listen(0, '127.0.0.1', done));
    onTestFinished(() => new Promise<void>((done) => busy.close(() => done())));
    const { port } = busy.address() as { port: number };
    const result = await start({ TASK_LOGS_DIR: dir, HOST: '127.0.0.1', OTLP_INGEST_PORT: String(port) });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      `task-logs: OTLP_INGEST_PORT=${port} is already in use on 127.0.0.1: stop the other server or set OTLP_INGEST_PORT (0 picks a free port)`,
    );
  });

  it('says in one line that the logs disk is full, exit 2, and starts once there is room again', async () => {
    const mounted = await mountTmpfs('1m');
    if (mounted === undefined) {
      console.warn('SKIPPED: mounting a tmpfs was refused (needs root)');
      return;
    }
    const dir = join(mounted, 'tasks');
    await mkdir(dir);
    // fill it to the last block
    await writeFile(join(mounted, 'filler'), Buffer.alloc(2 * 1024 * 1024)).catch(() => undefined);
    const full =
      /^task-logs: no space left for the task logs \(\w+\): free space on the disk of TASK_LOGS_DIR=\S+ and the index \S+, then start again$/;
    // with the development secret to make (no provider secret set): it was Node's stack for the write, and an empty
    // .dev-webhook-secret left behind that refused every later start, with room or not
    const dev = await start({ TASK_LOGS_DIR: dir });
    expect(dev.status).toBe(2);
    expect(dev.stderr).toMatch(full);
    expect(existsSync(join(dir, '.dev-webhook-secret'))).toBe(false);
    // with every provider's secret set: the index cannot be opened (it was Node's stack for SQLite's error)
    const secrets = {
      GITHUB_WEBHOOK_SECRET: 'full-disk-secret-0123456789',
      SLACK_SIGNING_SECRET: 'full-disk-secret-0123456789',
      JIRA_WEBHOOK_SECRET: 'full-disk-secret-0123456789',
    };
    const set = await start({ TASK_LOGS_DIR: dir, ...secrets });
    expect(set.status).toBe(2);
    expect(set.stderr).toMatch(full);

    await rm(join(mounted, 'filler'));
    const roomy = await start({ TASK_LOGS_DIR: dir });
    // killed by start() once it says where it listens
    expect(roomy).toEqual({ status: null, stderr: '' });
  });

  it('refuses an unwritable TASK_LOGS_DIR and a read-only index with one line each, exit 2', async () => {
    const mounted = await mountTmpfs('1m');
    if (mounted === undefined) {
      console.warn('SKIPPED: mounting a read-only tmpfs was refused (needs root)');
      return;
    }
    await mkdir(join(mounted, 'tasks'));
    remount(mounted, 'ro');
    const dir = await start({ TASK_LOGS_DIR: join(mounted, 'tasks') });
    expect(dir.status).toBe(2);
    expect(dir.stderr).toBe(
      `task-logs: TASK_LOGS_DIR=${join(mounted, 'tasks')} is not writable by this user (EROFS)`,
    );

    const logs = await tempLogsDir();
    remount(mounted, 'rw');
    await writeFile(join(mounted, 'index.sqlite'), '');
    remount(mounted, 'ro');
    const index = await start({ TASK_LOGS_DIR: logs, TASK_LOGS_INDEX_PATH: join(mounted, 'index.sqlite') });
    expect(index.status).toBe(2);
    expect(index.stderr).toMatch(
      /^task-logs: TASK_LOGS_INDEX_PATH=\S+ is not (writable by this user|readable and writable) \(EROFS\)$/,
    );
  });
});
