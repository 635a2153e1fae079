// Without Redis the interrupted-task check ends a task whose owner on this host is gone at once, and one whose owner
// is on another host (an OTLP ingest's tasks, held by the services that emit them) once its folder has gone
// TASK_LOGS_INTERRUPTED_AFTER_MINUTES without a write. It read every such task's metadata.json every
// TASK_LOGS_OWNER_CHECK_SECONDS: 5,000 running tasks of remote services cost 2.1 s of CPU a check. The index keeps
// each task's owner host: a task of another host whose folder is fresh is left unread.
import { spawnSync } from 'node:child_process';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { TASK_FILES } from '../../src/contract/task-files.ts';
import { startServer } from '../../src/http/server.ts';
import { refreshIndex } from '../../src/store/index-refresh.ts';
import { TaskIndex } from '../../src/store/task-index.ts';
import { recordReads } from '../helpers/recorded-reads.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

it('an in-process server reads no fresh task of another host, and ends an old one and a gone local owner’s', async () => {
  const root = await tempLogsDir();
  const index = new TaskIndex(join(root, '.index.sqlite'));
  const telemetry = testTelemetry(root, {}, { index });
  const remote = Array.from({ length: 50 }, (_, i) => `task-remote${String(i).padStart(3, '0')}`);
  const all = [...remote, 'task-remote-old', 'task-local-gone'];
  for (const taskId of all) {
    const task = telemetry.tasks.start({ taskId, source: 'webhook', provider: 'github' });
    task.recordStage('received', { event_type: 'issue_comment' });
    task.recordStage('task_created', { assigned_agent: 'brain' });
    task.startAgent({ name: 'brain' });
  }
  await telemetry.forceFlush();
  // running in services on another host (their spans came in over OTLP), and one here whose process is gone
  const gone = spawnSync(process.execPath, ['-e', '0']).pid;
  const old = new Date(Date.now() - 2 * 3_600_000);
  for (const taskId of all) {
    const dir = join(root, taskId);
    const path = join(dir, TASK_FILES.metadata);
    const metadata = JSON.parse(await readFile(path, 'utf8'));
    const owner =
      taskId === 'task-local-gone'
        ? { ...metadata.owner, pid: gone }
        : { ...metadata.owner, host: 'agent-host-7.remote', pid: 4242 };
    await writeFile(path, JSON.stringify({ ...metadata, owner }));
    if (taskId === 'task-remote-old') {
      for (const name of [
        TASK_FILES.metadata,
        TASK_FILES.input,
        TASK_FILES.webhookFlow,
        TASK_FILES.agentOutput,
      ])
        await utimes(join(dir, name), old, old).catch(() => undefined);
      await utimes(dir, old, old);
    }
  }
  // the index learns the owners and mtimes (the files were rewritten in place: a full refresh, as `tasklogs reindex`)
  await refreshIndex(index, root, undefined, { full: true });
  await telemetry.shutdown();
  index.close();

  const recording = recordReads('/src/ops/interrupted-tasks.ts');
  let checked!: (line: string) => void;
  const ended = new Promise<string>((resolve) => {
    checked = resolve;
  });
  const server = await startServer(
    loadConfig({ env: { TASK_LOGS_DIR: root, PORT: '0', TASK_LOGS_FLUSH_MS: '10' } }),
    { log: (line) => (line.startsWith('ended ') ? checked(line) : undefined) },
  );
  onTestFinished(() => server.close());
  expect(await ended).toMatch(
    /^ended 2 interrupted tasks: (task-remote-old, task-local-gone|task-local-gone, task-remote-old)$/,
  );
  recording.stop();
  const read = new Set(
    recording.paths
      .filter((path) => path.startsWith(root + sep))
      .map((path) => path.slice(root.length + 1).split(sep)[0]),
  );
  expect(remote.filter((id) => read.has(id))).toEqual([]);
  await server.telemetry.forceFlush();
  const status = async (id: string) =>
    JSON.parse(await readFile(join(root, id, TASK_FILES.metadata), 'utf8')).status as string;
  expect(await status('task-remote-old')).toBe('failed');
  expect(await status('task-local-gone')).toBe('failed');
  expect(await status('task-remote000')).toBe('running');
}, 60_000);
