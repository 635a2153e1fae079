// Whether a queued or running task's owner process is known to be gone (killed, crashed): then nothing more will be
// written by it, and a live follow ends instead of waiting for a status that only the interrupted-task check writes.
import type { TaskMetadata } from '../contract/task-files.ts';
import { ownerState } from '../instrumentation/process-owner.ts';

export function ownerIsGone(metadata: Partial<TaskMetadata>): boolean {
  const owner = metadata.owner as unknown;
  if (owner === null || typeof owner !== 'object') return false;
  const o = owner as Record<string, unknown>;
  if (typeof o.host !== 'string' || typeof o.pid !== 'number') return false;
  return ownerState(owner as NonNullable<TaskMetadata['owner']>) === 'gone';
}
