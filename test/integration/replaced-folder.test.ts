// rename(2) replaces an EMPTY folder. A writer that makes a task's folder in place (durable mode, a writer for which
// .new~ cannot be used, an older version in a rolling upgrade) holds it empty until its first file lands; another
// process's new folder renamed into place from .new~ just then replaced it, and the first writer's files went
// nowhere (creates in a removed folder fail), its first lines counted as dropped (review10 on c86afe5).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { type FileSystem, nodeFileSystem } from '../../exporters/file-system.ts';
import { TaskLogsError } from '../../src/contract/errors.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

it.each([
  ['a durable worker', { TASK_LOGS_DURABLE: 'true' }, false],
  ['a worker that cannot use .new~', {}, true],
])('%s and a web process first-flushing one task at once lose nothing', async (_name, env, noNewFolders) => {
  const root = await tempLogsDir();
  const taskDir = join(root, 'task-race');
  let holding = false;
  let heldOpen!: () => void;
  const workerHolds = new Promise<void>((resolve) => (heldOpen = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  // the worker's file system: once it has made and opened the task's folder (still empty), it waits for the web
  // process's flush, whose folder is renamed into place over the empty one
  const workerFs: FileSystem = {
    ...nodeFileSystem,
    async openFolder(path) {
      if (noNewFolders && path.endsWith('.new~')) throw new TaskLogsError('UNSAFE_PATH', `${path} is a link`);
      const folder = await nodeFileSystem.openFolder(path);
      if (path === taskDir && !holding) {
        holding = true;
        heldOpen();
        await released;
      }
      return folder;
    },
  };
  const once = { TASK_LOGS_WRITER_THREAD: 'false', TASK_LOGS_FLUSH_MS: '1000' };
  const web = testTelemetry(root, once);
  const worker = testTelemetry(root, { ...once, ...env }, { fs: workerFs });
  try {
    const task = web.tasks.start({
      taskId: 'task-race',
      source: 'webhook',
      provider: 'github',
      input: { message: 'review this', source_metadata: { provider: 'github' } },
    });
    task.recordStage('received');
    const run = worker.tasks
      .resume(task.toQueueMessage())
      .startAgent({ name: 'brain', type: 'planning', model: 'm-1' });
    run.text('the first line of the run');
    const workerFlush = worker.forceFlush();
    await workerHolds;
    const before = statSync(taskDir).ino;
    await web.forceFlush();
    expect(statSync(taskDir).ino).not.toBe(before); // the web process's folder replaced the worker's empty one
    release();
    await workerFlush;
    run.text('a later line');
    await worker.forceFlush();

    expect(worker.writer!.stats()).toMatchObject({ dropped: 0, errors: 0 });
    const folder = readTaskFolder(taskDir);
    expect(folder.agentOutput.map((line) => line.content)).toEqual([
      'the first line of the run',
      'a later line',
    ]);
    expect(folder.webhookFlow.map((line) => line.stage)).toEqual(['received']);
    expect(folder.metadata).toMatchObject({ status: 'running', started_at: expect.any(String) });
  } finally {
    await web.shutdown();
    await worker.shutdown();
  }
});
