// A task folder with files but no metadata.json: its writer wrote the first lines (or the result) and died before the
// task's first metadata write (the writer writes metadata last, so "completed" means everything is there). Nothing
// says it is queued or running, so nothing would ever end it. What the folder holds tells how it began and whether
// its run finished: the interrupted-task check records it from that.
import { lstat, readdir } from 'node:fs/promises';
import { type OpenFolder, openFolder } from '../contract/safe-open.ts';
import { TASK_FILES } from '../contract/task-files.ts';

export interface UnrecordedTask {
  /** the latest change to the folder or any file in it */
  lastWriteMs: number;
  /** when it began: the first line's timestamp (02 or 03, the earlier), else the oldest file's time */
  createdAt: string;
  /** the first agent output line's timestamp: the run had started by then */
  startedAt: string | undefined;
  /** what 04-final-result.json says, when the run ended before the metadata write */
  result: { success: boolean; traceId: string | undefined } | undefined;
}

const HEAD_BYTES = 64 * 1024;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** What the folder holds, if it is a task folder without metadata.json; undefined otherwise (or not readable). */
export async function unrecordedTask(dir: string): Promise<UnrecordedTask | undefined> {
  let folder: OpenFolder;
  try {
    folder = await openFolder(dir);
  } catch {
    return undefined; // gone, or not a real folder
  }
  try {
    const names = await readdir(folder.path);
    // present but not JSON (or unreadable): a foreign file, reported by verify; not this check's to replace
    if (names.includes(TASK_FILES.metadata)) return undefined;
    const folderStat = await folder.stat();
    let last = folderStat.mtimeMs;
    let oldest = folderStat.mtimeMs;
    for (const name of names) {
      const stat = await lstat(folder.pathOf(name)).catch(() => undefined);
      if (!stat?.isFile()) continue;
      last = Math.max(last, stat.mtimeMs);
      oldest = Math.min(oldest, stat.mtimeMs);
    }
    const [stages, output] = await Promise.all([
      firstTimestamp(folder, TASK_FILES.webhookFlow),
      firstTimestamp(folder, TASK_FILES.agentOutput),
    ]);
    const first = [stages, output].filter((t) => t !== undefined).sort()[0];
    return {
      lastWriteMs: last,
      createdAt: first ?? new Date(oldest).toISOString(),
      startedAt: output,
      result: await resultOf(folder),
    };
  } catch {
    return undefined; // unreadable now: the next check looks again
  } finally {
    await folder.close().catch(() => undefined);
  }
}

// the timestamp of a JSONL file's first line (read from its head only)
async function firstTimestamp(folder: OpenFolder, name: string): Promise<string | undefined> {
  let handle: Awaited<ReturnType<OpenFolder['openFile']>>;
  try {
    handle = await folder.openFile(name, 'read');
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    const end = buffer.subarray(0, bytesRead).indexOf(10);
    if (end < 0) return undefined;
    const line: unknown = JSON.parse(buffer.subarray(0, end).toString('utf8'));
    const timestamp = (line as { timestamp?: unknown } | null)?.timestamp;
    return typeof timestamp === 'string' && ISO.test(timestamp) ? timestamp : undefined;
  } catch {
    return undefined;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function resultOf(folder: OpenFolder): Promise<UnrecordedTask['result']> {
  const result = await folder.readJsonQuietly<{ success?: unknown; trace_id?: unknown }>(
    TASK_FILES.finalResult,
  );
  if (typeof result?.success !== 'boolean') return undefined;
  const traceId = typeof result.trace_id === 'string' ? result.trace_id : undefined;
  return { success: result.success, traceId };
}
