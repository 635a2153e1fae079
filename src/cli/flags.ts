// The command line's flags that need no module of their own to be parsed: kept apart from the commands, so that
// `--help` and bad usage answer without loading the store, the index or the settings.
import { TaskLogsError } from '../contract/errors.ts';

export type Flags = Record<string, string | boolean | undefined>;

export const SEARCH_FLAGS = [
  'status',
  'provider',
  'source',
  'agent',
  'agent-type',
  'model',
  'conversation',
  'success',
  'created-after',
  'created-before',
  'completed-after',
  'completed-before',
  'min-cost',
  'max-cost',
  'min-tokens',
  'max-tokens',
  'sort',
  'order',
  'limit',
  'cursor',
];
export const LS_OPTIONS = Object.fromEntries(SEARCH_FLAGS.map((f) => [f, { type: 'string' as const }]));

export function notFoundExit(error: unknown): error is TaskLogsError {
  return (
    error instanceof TaskLogsError && (error.code === 'TASK_NOT_FOUND' || error.code === 'FILE_NOT_FOUND')
  );
}
