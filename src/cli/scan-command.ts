// `tasklogs scan`: finds secrets in stored tasks (plain and compressed files), and with --redact rewrites them.
import { type Config, withSecrets } from '../config.ts';
import { configuredRedactor } from '../instrumentation/redactor-for-config.ts';
import { existingDevSecret } from '../intake/dev-secret.ts';
import { tasksCount } from '../ops/count-words.ts';
import { scanTasks } from '../ops/secret-scan.ts';
import type { Flags } from './flags.ts';
import { type Out, paint, plain, progress, table } from './terminal.ts';

/** Exit 1 when any secret was found (redacted or not), 0 when none. */
export async function scan(config: Config, flags: Flags, out: Out): Promise<number> {
  const bar = progress('scanning tasks', out.err);
  const result = await scanTasks({
    root: config.logsDir,
    // the development webhook secret, when a loopback server made one, is looked for like the configured ones
    redactor: configuredRedactor(withSecrets(config, [existingDevSecret(config.logsDir)])),
    redact: flags.redact === true,
    onProgress: bar.update,
  });
  bar.done();
  if (flags.json) {
    out.json(result);
    return result.secrets > 0 ? 1 : 0;
  }
  if (result.tasks.length > 0) {
    table(
      out,
      ['TASK', 'FILE', 'SECRETS', 'REDACTED'],
      result.tasks.flatMap((task) =>
        Object.entries(task.files).map(([file, counts]) => [
          task.task_id,
          file,
          Object.entries(counts)
            .map(([rule, n]) => `${rule} ${n}`)
            .join(', '),
          task.redacted ? 'yes' : 'no',
        ]),
      ),
    );
  }
  const rules = Object.entries(result.by_rule)
    .sort((a, b) => b[1] - a[1])
    .map(([rule, n]) => `${rule} ${n}`)
    .join(', ');
  out.line(
    `scanned ${tasksCount(result.scanned)}: ${result.tasks.length} with secrets` +
      (result.secrets > 0 ? ` (${result.secrets}: ${rules})` : ''),
  );
  if (flags.redact) {
    const rewritten = result.tasks.filter((t) => t.redacted).length;
    out.line(`rewrote ${tasksCount(rewritten)} redacted`);
    for (const skipped of result.skipped) {
      const why = skipped.reason === 'running' ? 'not finished yet' : 'a writer is updating it';
      out.line(paint(out, 'yellow', `left ${plain(skipped.task_id)} as it is: ${why}; scan again later`));
    }
  } else if (result.secrets > 0) {
    out.line('run tasklogs scan --redact to rewrite them');
  }
  return result.secrets > 0 ? 1 : 0;
}
