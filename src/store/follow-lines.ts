// The one live follow of a task's JSONL file, used by SSE and `tasklogs tail -f`: the lines already written, then
// each new line as it lands, by byte offset (a poll reads only what was appended). It yields batches and reads on
// only when the consumer asks for more, so a consumer that waits for its client (socket `drain`) holds at most one
// batch. It ends when the task is final (completed, failed, rejected), when its folder is deleted, or when the process
// that owns it is gone (interrupted: the server later marks it failed).
import type { FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipFile } from '../contract/gunzip-file.ts';
import { TASK_FILES, type TaskFileName, type TaskMetadata } from '../contract/task-files.ts';
import { isFinalStatus, type TaskStatus } from '../contract/task-status.ts';
import { type Line, linesOf, readLines } from './line-reader.ts';
import type { OpenedJsonl } from './task-store.ts';

export interface FollowOptions {
  /** start after this line number (a resume) */
  after?: number;
  /** how often to look for new lines */
  pollMs: number;
  /** stops the follow (a client that went away) */
  signal?: AbortSignal;
  /** a batch is yielded once it holds this many bytes of line text (one batch is what a slow consumer costs) */
  batchBytes?: number;
  /** true when a queued or running task's owner process is gone (see src/ops/owner-gone.ts): the follow ends */
  isInterrupted?: (metadata: TaskMetadata) => boolean;
}

export type FollowEvent =
  /** new lines, in order */
  | { type: 'lines'; lines: Line[] }
  /** a poll found nothing new (front ends may send a heartbeat) */
  | { type: 'idle' }
  /** the follow is over: the task's final status, 'deleted' when its folder went away, 'interrupted' when the
   * process running it is gone */
  | { type: 'end'; status: TaskStatus | 'deleted' | 'interrupted'; lastLine: number };

/** What follow needs from the store (kept narrow so the store and the follow do not import each other's class). */
export interface FollowSource {
  readJson<T>(taskId: string, file: TaskFileName): Promise<T | undefined>;
  openJsonl(taskId: string, file: TaskFileName): Promise<OpenedJsonl>;
}

const BATCH_BYTES = 64 * 1024;

export async function* followLines(
  source: FollowSource,
  taskId: string,
  file: TaskFileName,
  options: FollowOptions,
): AsyncGenerator<FollowEvent> {
  const batchBytes = options.batchBytes ?? BATCH_BYTES;
  const after = options.after ?? 0;
  let lastLine = 0;
  // the compressed part seen (by inode) and how many lines it holds; the plain part, and how far it was read
  let gzIno: number | undefined;
  let base = 0;
  let plainIno: number | undefined;
  let offset = 0;
  let plainLast = 0;

  async function* batches(lines: AsyncIterable<Line>): AsyncGenerator<FollowEvent> {
    let batch: Line[] = [];
    let bytes = 0;
    for await (const line of lines) {
      if (line.n <= lastLine) continue;
      batch.push({ n: line.n, text: line.text });
      lastLine = line.n;
      bytes += line.text.length;
      if (bytes >= batchBytes) {
        yield { type: 'lines', lines: batch };
        batch = [];
        bytes = 0;
      }
    }
    if (batch.length > 0) yield { type: 'lines', lines: batch };
  }

  while (!options.signal?.aborted) {
    // metadata first: if the task is final now, every line it wrote is already in the file
    let metadata: TaskMetadata | undefined;
    let opened: OpenedJsonl;
    try {
      metadata = await source.readJson<TaskMetadata>(taskId, TASK_FILES.metadata).catch((error) => {
        if ((error as { code?: string }).code === 'TASK_NOT_FOUND') throw error;
        return undefined; // being rewritten, or hand-broken: the next poll looks again
      });
      opened = await source.openJsonl(taskId, file);
    } catch (error) {
      if ((error as { code?: string }).code === 'TASK_NOT_FOUND') {
        yield { type: 'end', status: 'deleted', lastLine };
        return;
      }
      throw error;
    }
    let sent = false;
    try {
      if (opened.gz !== undefined) {
        const stat = await opened.gz.stat();
        if (stat.ino !== gzIno) {
          // (re)compressed: its lines carry the same numbers; the plain part after it starts a new count
          gzIno = stat.ino;
          const gzLines = gunzipLines(opened.gz, Math.max(after, lastLine), (n) => {
            base = n;
          });
          for await (const event of batches(gzLines)) {
            sent = true;
            yield event;
          }
          plainIno = undefined;
        }
      }
      if (opened.plain !== undefined) {
        const stat = await opened.plain.stat();
        if (stat.ino !== plainIno || stat.size < offset) {
          plainIno = stat.ino;
          offset = 0;
          plainLast = base;
        }
        if (stat.size > offset) {
          const lines = readLines(
            opened.plain,
            {
              start: offset,
              firstLineNumber: plainLast + 1,
              after: Math.max(after, lastLine),
              validJsonOnly: true,
            },
            (end) => {
              offset = end.offset;
              plainLast = end.lastLine;
            },
          );
          for await (const event of batches(lines)) {
            sent = true;
            yield event;
          }
        }
      }
    } finally {
      await opened.close();
    }
    // the end names the file's last line, also when the follow began at or past it and sent none
    const fileLast = Math.max(lastLine, plainLast, base);
    if (isFinalStatus(metadata?.status)) {
      yield { type: 'end', status: metadata!.status, lastLine: fileLast };
      return;
    }
    if (metadata !== undefined && options.isInterrupted?.(metadata)) {
      yield { type: 'end', status: 'interrupted', lastLine: fileLast };
      return;
    }
    if (!sent) yield { type: 'idle' };
    try {
      await sleep(options.pollMs, undefined, { signal: options.signal });
    } catch {
      return; // aborted: the consumer is gone
    }
  }
}

function gunzipLines(
  handle: FileHandle,
  after: number,
  onCount: (lines: number) => void,
): AsyncGenerator<Line> {
  const stream = gunzipFile(handle);
  return (async function* () {
    try {
      yield* linesOf(stream, { after, validJsonOnly: true }, (end) => onCount(end.lastLine));
    } finally {
      stream.destroy();
    }
  })();
}
