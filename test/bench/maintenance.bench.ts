// Maintenance rates over many tasks: reindex (full rebuild), prune (retention deleting half of them), and the size of
// a typical task before and after compression.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compressTasks } from '../../src/ops/compression.ts';
import { pruneTasks } from '../../src/ops/retention.ts';
import { refreshIndex } from '../../src/store/index-refresh.ts';
import { TaskIndex } from '../../src/store/task-index.ts';
import { benchDir, fmt, QUICK, report } from './bench-kit.ts';
import { writeTypicalTask } from './typical-task.ts';

const TASKS = Number(process.env.BENCH_TASKS ?? (QUICK ? 2_000 : 100_000));
const { dir, cleanup } = benchDir('maintenance');

try {
  let started = performance.now();
  for (let i = 0; i < TASKS; i++)
    writeTypicalTask(dir, `task-${String(i).padStart(6, '0')}`, { endedDaysAgo: i % 2 ? 40 : 10 });
  process.stderr.write(
    `(generated ${fmt(TASKS)} typical task folders in ${fmt((performance.now() - started) / 1000, 1)} s)\n`,
  );

  const index = new TaskIndex(join(dir, '.index.sqlite'));
  const rebuilt = await refreshIndex(index, dir);
  report(
    `reindex  ${fmt(rebuilt.updated)} tasks in ${fmt(rebuilt.ms / 1000, 2)} s  (${fmt(rebuilt.updated / (rebuilt.ms / 1000))} tasks/s)`,
  );

  started = performance.now();
  const pruned = await pruneTasks({ root: dir, retentionDays: 30, index });
  const pruneSeconds = (performance.now() - started) / 1000;
  report(
    `prune  scanned ${fmt(pruned.scanned)} tasks, deleted ${fmt(pruned.deleted.length)} in ${fmt(pruneSeconds, 2)} s  ` +
      `(${fmt(pruned.scanned / pruneSeconds)} tasks scanned/s, ${fmt(pruned.deleted.length / pruneSeconds)} deleted/s)`,
  );
  index.close();

  const sample = benchDir('typical');
  writeTypicalTask(sample.dir, 'task-typical', { endedDaysAgo: 30 });
  const folderBytes = () =>
    readdirSync(join(sample.dir, 'task-typical')).reduce(
      (sum, name) => sum + statSync(join(sample.dir, 'task-typical', name)).size,
      0,
    );
  const before = folderBytes();
  const result = await compressTasks({ root: sample.dir, afterDays: 7 });
  const after = folderBytes();
  report(
    `typical task (6 stages, 100 output lines)  ${fmt(before)} B -> ${fmt(after)} B compressed (${fmt(before / after, 1)}x; ` +
      `the JSONL files alone ${fmt(result.bytes_before)} B -> ${fmt(result.bytes_after)} B)`,
  );
  sample.cleanup();
} finally {
  cleanup();
}
