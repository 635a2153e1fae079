import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WriterStats } from '../../exporters/task-file-writer.ts';
import { failingFs, stalledFs } from '../helpers/faulty-fs.ts';
import { checkIntegrity } from '../helpers/integrity.ts';
import { recordSampleTask } from '../helpers/sample-task.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { mountTmpfs, remount } from '../helpers/tmpfs.ts';

function expectBalanced(stats: WriterStats) {
  expect(stats.queued).toBe(0);
  expect(stats.written + stats.dropped + stats.ignored).toBe(stats.emitted);
}

describe('an unwritable logs folder', () => {
  it('never reaches the application, is counted and reported, and recovers when the folder is writable again', async () => {
    let root: string;
    let makeWritable: () => void;
    let fs: ReturnType<typeof failingFs> | undefined;
    const mounted = await mountTmpfs('4m');
    if (mounted !== undefined) {
      console.info('unwritable folder: a read-only tmpfs mount');
      root = join(mounted, 'tasks');
      await mkdir(root);
      remount(mounted, 'ro');
      makeWritable = () => remount(mounted, 'rw');
    } else {
      console.info('unwritable folder: mount refused, EACCES injected at the fs edge');
      root = await tempLogsDir();
      let failing = true;
      fs = failingFs('EACCES', () => failing);
      makeWritable = () => {
        failing = false;
      };
    }
    const telemetry = testTelemetry(root, {}, fs ? { fs } : {});
    await expect(recordSampleTask(telemetry.tasks, { taskId: 'task-ro' })).resolves.toBeDefined();
    await telemetry.forceFlush();
    const during = telemetry.writer!.stats();
    expect(during.written).toBe(0);
    expect(during.errors).toBeGreaterThan(0);
    expect(during.dropReasons.write_failed).toBe(during.emitted);
    expectBalanced(during);
    expect(telemetry.reports.join('\n')).toMatch(/could not write .* task task-ro: E[A-Z]+/);

    makeWritable();
    await recordSampleTask(telemetry.tasks, { taskId: 'task-after' });
    await telemetry.forceFlush();
    const after = telemetry.writer!.stats();
    expect(readTaskFolder(join(root, 'task-after')).metadata?.status).toBe('completed');
    // the failed task's metadata, input and result are rewritten once the disk is back; its lines were lost
    expect(after.recovered).toBeGreaterThan(0);
    expect(readTaskFolder(join(root, 'task-ro')).metadata?.status).toBe('completed');
    expect(readTaskFolder(join(root, 'task-ro')).finalResult?.success).toBe(true);
    expectBalanced(after);
    expect(checkIntegrity(root).problems).toEqual([]);
  });
});

describe('a full disk', () => {
  it('keeps every file whole, counts the loss, and writes again once space is freed', async () => {
    let root: string;
    let freeSpace: () => Promise<void>;
    let fs: ReturnType<typeof failingFs> | undefined;
    const mounted = await mountTmpfs('512k');
    if (mounted !== undefined) {
      console.info('disk full: a 512 KiB tmpfs mount filled up');
      root = join(mounted, 'tasks');
      await mkdir(root);
      await writeFile(join(mounted, 'filler'), Buffer.alloc(380 * 1024));
      freeSpace = () => unlink(join(mounted, 'filler'));
    } else {
      console.info('disk full: mount refused, ENOSPC injected at the fs edge');
      root = await tempLogsDir();
      let full = true;
      fs = failingFs('ENOSPC', () => full);
      freeSpace = async () => {
        full = false;
      };
    }
    const telemetry = testTelemetry(root, {}, fs ? { fs } : {});
    for (let i = 0; i < 6; i++) {
      await recordSampleTask(telemetry.tasks, { taskId: `task-full-${i}`, lines: 400 });
      await telemetry.forceFlush();
    }
    const during = telemetry.writer!.stats();
    expect(during.errors).toBeGreaterThan(0);
    expect(during.dropReasons.write_failed).toBeGreaterThan(0);
    expectBalanced(during);
    expect(telemetry.reports.join('\n')).toMatch(/ENOSPC/);
    const whileFull = checkIntegrity(root);
    expect(whileFull.problems).toEqual([]);
    expect(whileFull.tornTails).toEqual([]);

    await freeSpace();
    await recordSampleTask(telemetry.tasks, { taskId: 'task-after-full', lines: 10 });
    await telemetry.forceFlush();
    expect(readTaskFolder(join(root, 'task-after-full')).metadata?.status).toBe('completed');
    expectBalanced(telemetry.writer!.stats());
    expect(checkIntegrity(root).problems).toEqual([]);
  });
});

describe('a stalled disk', () => {
  it('never blocks the caller, holds a bounded queue, drops and counts the rest, and catches up after', async () => {
    const root = await tempLogsDir();
    const stalled = stalledFs();
    const telemetry = testTelemetry(root, { TASK_LOGS_MAX_QUEUE: '1000' }, { fs: stalled.fs });
    const task = telemetry.tasks.start({ taskId: 'task-stalled' });
    const run = task.startAgent({ name: 'brain' });
    await expect.poll(() => stalled.stalledCalls(), { timeout: 60_000 }).toBeGreaterThan(0);
    for (let i = 0; i < 10_000; i++) run.text(`line ${i}`);
    // the event loop still runs while the disk hangs
    await new Promise((resolve) => setTimeout(resolve, 30));
    const during = telemetry.writer!.stats();
    expect(during.queued).toBeLessThanOrEqual(1000);
    expect(during.dropReasons.queue_full).toBeGreaterThanOrEqual(9000);
    expect(telemetry.reports.join('\n')).toMatch(/queue full \(1000 items\)/);

    stalled.release();
    run.finish({ result: 'ok' });
    await telemetry.forceFlush();
    await telemetry.forceFlush();
    const after = telemetry.writer!.stats();
    expectBalanced(after);
    const files = readTaskFolder(join(root, 'task-stalled'));
    expect(files.agentOutput.length).toBe(after.written - 2); // every written line is there; 2 items were spans
    expect(files.metadata?.status).toBe('completed');
  });
});

describe('kill -9 of a writing process', () => {
  it('leaves no partial JSON file and no torn line except possibly a last one', async () => {
    const root = await tempLogsDir();
    const child = spawn(process.execPath, [join(import.meta.dirname, '../fixtures/processes/churn.ts')], {
      env: { ...process.env, TASK_LOGS_DIR: root, TASK_LOGS_FLUSH_MS: '5' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // killed after 5 tasks were flushed and then 1-6 more started: mid-write, at a point that differs per run,
    // found by the child's own lines rather than by a time that a loaded machine may not keep
    const killAfter = 1 + Math.floor(Math.random() * 6);
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      child.stdout.on('data', (chunk: Buffer) => {
        seen += chunk;
        if (seen.includes('flushed\n') && (seen.match(/^task /gm)?.length ?? 0) >= killAfter) resolve();
      });
      child.once('exit', (code) => reject(new Error(`churn exited early with ${code}`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const integrity = checkIntegrity(root);
    console.info(
      `after kill -9: ${integrity.tasks} tasks, ${integrity.jsonFiles} JSON files, ${integrity.jsonlLines} lines, ` +
        `${integrity.tornTails.length} torn last lines`,
    );
    expect(integrity.tasks).toBeGreaterThan(3);
    expect(integrity.problems).toEqual([]);
    expect(integrity.tornTails.length).toBeLessThanOrEqual(1);
    // temp files are hidden (.name.pid.rand.tmp) and never read as task files
    for (const task of readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory())) {
      for (const name of readdirSync(join(root, task.name))) {
        if (name.endsWith('.tmp')) expect(name.startsWith('.')).toBe(true);
      }
    }
    expect(existsSync(root)).toBe(true);
  });
});
