// The server's scheduled upkeep: retention (and the size cap), then compression. Reports what it did, and warns when
// the size cap forced the deletion of tasks that were still within retention.
import type { Config } from '../config.ts';
import type { TaskIndex } from '../store/task-index.ts';
import { compressTasks } from './compression.ts';
import { tasksCount } from './count-words.ts';
import { pruneTasks } from './retention.ts';

export async function runMaintenance(
  config: Config,
  index: TaskIndex,
  log: (line: string) => void,
): Promise<void> {
  const pruned = await pruneTasks({
    root: config.logsDir,
    retentionDays: config.retentionDays,
    maxTotalBytes: config.maxTotalBytes,
    index,
  });
  const expired = pruned.deleted.filter((d) => d.reason === 'expired');
  const capped = pruned.deleted.filter((d) => d.reason === 'over_size_cap');
  if (expired.length > 0)
    log(`retention: deleted ${tasksCount(expired.length)} finished over ${config.retentionDays} days ago`);
  if (capped.length > 0) {
    log(
      `WARNING: task logs over TASK_LOGS_MAX_TOTAL_BYTES (${config.maxTotalBytes} bytes): deleted the ${capped.length} ` +
        `oldest finished tasks (${capped.reduce((s, d) => s + d.bytes, 0)} bytes) although within retention`,
    );
  }
  for (const e of pruned.errors)
    log(`retention: ${e.task_id ?? 'logs folder'}: ${e.error} (tried again next run)`);
  if (pruned.over_cap)
    log(
      'WARNING: task logs still over TASK_LOGS_MAX_TOTAL_BYTES: only tasks not known to have ended are left',
    );
  const compressed = await compressTasks({ root: config.logsDir, afterDays: config.compressAfterDays });
  for (const e of compressed.errors)
    log(`compression: ${e.task_id ?? 'logs folder'}: ${e.error} (tried again next run)`);
  if (compressed.compressed.length > 0) {
    log(
      `compression: ${tasksCount(compressed.compressed.length)}, ${compressed.bytes_before} -> ${compressed.bytes_after} bytes`,
    );
  }
}
