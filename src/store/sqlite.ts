// node:sqlite, loaded when a database is opened rather than when the package is imported: on a Node.js without it
// (before 22.16), `import 'task-logs'` still loads (the exporters and the instrumentation need no database), and
// opening the task index or the deliveries store says what is missing instead of a loader error naming a module.
import type { DatabaseSync } from 'node:sqlite';
import { TaskLogsError } from '../contract/errors.ts';

export function openDatabase(path: string, options: { timeout: number }): DatabaseSync {
  const sqlite = process.getBuiltinModule?.('node:sqlite') as typeof import('node:sqlite') | undefined;
  if (sqlite === undefined) {
    throw new TaskLogsError(
      'CONFIG_INVALID',
      `the task index needs Node.js 22.16 or newer (for node:sqlite); this is Node.js ${process.version}`,
    );
  }
  return new sqlite.DatabaseSync(path, options);
}
