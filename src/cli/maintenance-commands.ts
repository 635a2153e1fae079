// The CLI's maintenance commands: prune (retention and the size cap), compress, reindex, verify.
import type { Config } from '../config.ts';
import { NEW_FOLDERS_DIR } from '../contract/new-folders.ts';
import { compressTasks } from '../ops/compression.ts';
import { tasksCount } from '../ops/count-words.ts';
import type { MaintenanceError } from '../ops/maintenance-error.ts';
import { pruneTasks } from '../ops/retention.ts';
import { verifyTasks } from '../ops/verify.ts';
import { refreshIndex } from '../store/index-refresh.ts';
import { openCliIndex, openCliIndexIfCan } from './cli-index.ts';
import type { Flags } from './flags.ts';
import { bytes, type Out, paint, plain, progress, table } from './terminal.ts';
import { UsageError } from './usage-error.ts';

function days(flag: string | boolean | undefined, fallback: number, name: string): number {
  if (flag === undefined) return fallback;
  const n = Number(flag);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`--${name} ${JSON.stringify(flag)} is not a whole number of days`);
  return n;
}

export async function prune(config: Config, flags: Flags, out: Out): Promise<number> {
  const bar = progress('reading tasks', out.err);
  // a full disk is what prune frees: it deletes without the index when there is no room to open it
  const index = flags['dry-run']
    ? undefined
    : openCliIndexIfCan(
        config,
        out.err,
        "pruning without it (the server's next refresh or tasklogs reindex forgets the deleted tasks)",
      );
  try {
    const result = await pruneTasks({
      root: config.logsDir,
      retentionDays: days(flags.days, config.retentionDays, 'days'),
      maxTotalBytes: config.maxTotalBytes,
      dryRun: flags['dry-run'] === true,
      index,
      onProgress: bar.update,
    });
    bar.done();
    if (flags.json) {
      out.json(result);
      return result.errors.length > 0 ? 1 : 0;
    }
    const verb = result.dry_run ? 'would delete' : 'deleted';
    if (result.deleted.length > 0) {
      table(
        out,
        ['TASK', 'WHY', 'ENDED', 'SIZE'],
        result.deleted.map((d) => [d.task_id, d.reason, d.ended_at, bytes(d.bytes)]),
      );
    }
    // what is kept for not being known to have ended, in words for what prune read of it
    const kept = [
      result.kept_running > 0 ? `${result.kept_running} queued or running` : '',
      result.kept_no_metadata > 0 ? `${result.kept_no_metadata} with no readable metadata.json yet` : '',
      result.kept_other > 0 ? `${result.kept_other} with no status or end time to count from` : '',
    ].filter(Boolean);
    out.line(
      `${verb} ${result.deleted.length} of ${tasksCount(result.scanned)} (${bytes(result.deleted.reduce((s, d) => s + d.bytes, 0))})` +
        (kept.length > 0 ? `; kept, not known to have ended: ${kept.join(', ')}` : ''),
    );
    if (result.leftover_new_folders_removed > 0)
      out.line(
        `${result.dry_run ? 'would remove' : 'removed'} ${result.leftover_new_folders_removed} new task folders left in ${NEW_FOLDERS_DIR} by killed writers`,
      );
    if (result.over_cap)
      out.line(
        paint(
          out,
          'yellow',
          'still over TASK_LOGS_MAX_TOTAL_BYTES: only tasks not known to have ended are left',
        ),
      );
    return printErrors(out, result.errors);
  } finally {
    index?.close();
  }
}

export async function compress(config: Config, flags: Flags, out: Out): Promise<number> {
  const bar = progress('reading tasks', out.err);
  const result = await compressTasks({
    root: config.logsDir,
    afterDays: days(flags.days, config.compressAfterDays, 'days'),
    dryRun: flags['dry-run'] === true,
    onProgress: bar.update,
  });
  bar.done();
  if (flags.json) {
    out.json(result);
    return result.errors.length > 0 ? 1 : 0;
  }
  const verb = result.dry_run ? 'would compress' : 'compressed';
  out.line(
    `${verb} ${result.compressed.length} of ${tasksCount(result.scanned)}` +
      (result.dry_run ? '' : `: ${bytes(result.bytes_before)} -> ${bytes(result.bytes_after)}`),
  );
  return printErrors(out, result.errors);
}

// a step that failed left its task as it was; the exit status says the run was not complete
function printErrors(out: Out, errors: readonly MaintenanceError[]): number {
  for (const e of errors)
    out.line(
      paint(
        out,
        'red',
        plain(`${e.task_id ?? 'logs folder'}: ${e.error} (left as it was; the next run tries again)`),
      ),
    );
  return errors.length > 0 ? 1 : 0;
}

export async function reindex(config: Config, flags: Flags, out: Out): Promise<number> {
  // a rebuild from the files, which are the truth, in place: never unlinks the database a running server holds open,
  // and the webhook deliveries live in a file of their own (.deliveries.sqlite), so redeliveries stay recognised
  const index = openCliIndex(config, out.err);
  const bar = progress('indexing', out.err);
  try {
    const result = await refreshIndex(index, config.logsDir, bar.update, { full: true });
    bar.done();
    if (flags.json) out.json({ indexed: result.updated, ms: Math.round(result.ms), index: config.indexPath });
    else
      out.line(
        `indexed ${tasksCount(result.updated)} in ${(result.ms / 1000).toFixed(2)} s (${config.indexPath})`,
      );
    return 0;
  } finally {
    index.close();
  }
}

export async function verify(config: Config, flags: Flags, out: Out): Promise<number> {
  const bar = progress('verifying', out.err);
  const result = await verifyTasks({
    root: config.logsDir,
    repair: flags.repair === true,
    onProgress: bar.update,
  });
  bar.done();
  const unrepaired = result.broken.filter((b) => b.problems.length > 0);
  if (flags.json) out.json(result);
  else {
    for (const task of result.broken) {
      // a problem can quote what it found (an error's message): plain() before paint()
      // a problem of the logs folder itself (no task id) is said on its own
      const id = task.task_id === '' ? '' : `${plain(task.task_id)}: `;
      for (const problem of task.problems) out.line(`${id}${paint(out, 'red', plain(problem))}`);
      for (const fix of task.repaired) out.line(`${id}${paint(out, 'green', plain(`repaired: ${fix}`))}`);
    }
    if (result.new_folder_leftovers > 0)
      out.line(
        paint(
          out,
          'yellow',
          `${result.new_folder_leftovers} new task folders left in ${NEW_FOLDERS_DIR} by killed writers (not tasks: the next writer or prune removes them)`,
        ),
      );
    const ofFolder = unrepaired.filter((b) => b.task_id === '').length;
    out.line(
      `${tasksCount(result.scanned)} checked, ${unrepaired.length - ofFolder} with problems` +
        (ofFolder > 0 ? `, ${ofFolder} problem${ofFolder === 1 ? '' : 's'} of the logs folder` : ''),
    );
  }
  return unrepaired.length > 0 ? 1 : 0;
}
