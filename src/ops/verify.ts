// verify: checks every task folder against the five-file contract and lists what is broken, never through a link or
// into a FIFO; with repair, cuts a torn last line off a finished task's JSONL file (what a killed writer can leave) at
// its exact byte, through the handle it was read with. Files it could not read are reported, never cut.
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createGunzip } from 'node:zlib';
import { NEW_FOLDERS_DIR } from '../contract/new-folders.ts';
import { isUnsafePath, type OpenFolder, openTaskFolder, readAll } from '../contract/safe-open.ts';
import { isOutputType, isWebhookStage, TASK_FILES, WEBHOOK_STAGES } from '../contract/task-files.ts';
import { isFinalStatus, isTaskStatus } from '../contract/task-status.ts';
import { parseJsonl } from '../store/jsonl-read.ts';
import { maintenanceError } from './maintenance-error.ts';
import { findNewFolderLeftovers } from './new-folder-leftovers.ts';
import { listTaskFolders, type TaskFolder } from './task-folders.ts';
import { lockHeld } from './task-lock.ts';
import { tempFiles } from './temp-files.ts';

export interface TaskProblems {
  task_id: string;
  problems: string[];
  repaired: string[];
}

const ISO_Z = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const SEED_METADATA = [
  'task_id',
  'source',
  'provider',
  'created_at',
  'started_at',
  'status',
  'assigned_agent',
  'agent_type',
  'model',
];

export interface VerifyResult {
  scanned: number;
  /** the tasks with problems or repairs; task_id '' for the logs folder itself */
  broken: TaskProblems[];
  /** folders a killed writer left in .new~, never renamed into place: not tasks and no problem of one (the next
   * writer or prune removes them), but the first files of a task that may be missing */
  new_folder_leftovers: number;
}

export async function verifyTasks(options: {
  root: string;
  repair?: boolean;
  onProgress?: (done: number, total: number) => void;
}): Promise<VerifyResult> {
  const broken: TaskProblems[] = [];
  let folders: TaskFolder[];
  try {
    folders = await listTaskFolders(options.root);
  } catch (error) {
    // the logs folder itself cannot be listed: said as a problem of the whole folder, not thrown
    broken.push({
      task_id: '',
      problems: [`the logs folder is unreadable (${errorText(error)})`],
      repaired: [],
    });
    return { scanned: 0, broken, new_folder_leftovers: 0 };
  }
  let done = 0;
  for (const folder of folders) {
    const result = await verifyTask(folder, options.repair ?? false);
    if (result.problems.length > 0 || result.repaired.length > 0) broken.push(result);
    options.onProgress?.(++done, folders.length);
  }
  let leftovers = 0;
  try {
    leftovers = (await findNewFolderLeftovers(options.root)).length;
  } catch (error) {
    const what = isUnsafePath(error) ? unsafeWhat(error) : `is unreadable (${errorText(error)})`;
    broken.push({ task_id: '', problems: [`the ${NEW_FOLDERS_DIR} folder ${what}`], repaired: [] });
  }
  return { scanned: folders.length, broken, new_folder_leftovers: leftovers };
}

interface ReadFile {
  /** the plain file's bytes (empty for a .gz-only file) */
  bytes: Buffer;
  /** the open plain file when it was opened read-write: a repair cuts through the very handle that was read */
  cutHandle: FileHandle | undefined;
  /** the compressed part, decoded (a JSONL file may have both: lines written after compression) */
  gz: Buffer | undefined;
  close(): Promise<void>;
}

/**
 * Reads a task file through the open folder: never a link, never blocking on a FIFO. Undefined when absent, and
 * also (with a problem reported) when it is not a regular file or cannot be read.
 */
async function readTaskFile(
  folder: OpenFolder,
  file: string,
  problems: string[],
  options: { forRepair: boolean; withGz: boolean },
): Promise<ReadFile | undefined> {
  const handles: FileHandle[] = [];
  const closeAll = async () => {
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
  };
  const open = async (name: string, mode: 'read' | 'readWrite'): Promise<FileHandle | undefined> => {
    try {
      const handle = await folder.openFile(name, mode);
      handles.push(handle);
      return handle;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (mode === 'readWrite' && (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')) {
        const handle = await open(name, 'read');
        return handle === undefined ? undefined : Object.assign(handle, { [READ_ONLY]: true });
      }
      problems.push(
        `${name}: ${isUnsafePath(error) ? unsafeWhat(error) : `unreadable (${code ?? (error as Error).message})`}`,
      );
      throw SKIPPED;
    }
  };
  try {
    const plain = await open(file, options.forRepair ? 'readWrite' : 'read');
    const gzHandle = options.withGz ? await open(`${file}.gz`, 'read') : undefined;
    if (plain === undefined && gzHandle === undefined) {
      await closeAll();
      return undefined;
    }
    let gz: Buffer | undefined;
    if (gzHandle !== undefined) {
      try {
        gz = await gunzipBuffer(await readAll(gzHandle));
      } catch (error) {
        problems.push(`${file}.gz: not a readable gzip file (${(error as Error).message})`);
      }
    }
    let bytes: Buffer = Buffer.alloc(0);
    if (plain !== undefined) {
      try {
        bytes = await readAll(plain);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        problems.push(`${file}: unreadable (${code ?? (error as Error).message})`);
        throw SKIPPED;
      }
    }
    const writable = plain !== undefined && options.forRepair && !(READ_ONLY in plain);
    return { bytes, gz, cutHandle: writable ? plain : undefined, close: closeAll };
  } catch (error) {
    await closeAll();
    if (error === SKIPPED) return undefined;
    throw error;
  }
}

const SKIPPED = Symbol('skipped');
const READ_ONLY = Symbol('read-only');

function errorText(error: unknown): string {
  return maintenanceError(null, error).error;
}

function unsafeWhat(error: unknown): string {
  const message = (error as Error).message;
  const is = message.lastIndexOf(' is ');
  return is === -1 ? 'not a regular file: skipped' : message.slice(is + 1);
}

async function gunzipBuffer(raw: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const gunzip = createGunzip();
  gunzip.end(raw);
  for await (const chunk of gunzip) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function verifyTask(taskFolder: TaskFolder, repair: boolean): Promise<TaskProblems> {
  const problems: string[] = [];
  const repaired: string[] = [];
  let folder: OpenFolder;
  try {
    folder = await openTaskFolder(dirname(taskFolder.dir), taskFolder.id);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      problems.push('the folder was removed while checking');
    else if (isUnsafePath(error)) problems.push(`the task folder ${unsafeWhat(error)}`);
    else problems.push(`the task folder is unreadable (${(error as NodeJS.ErrnoException).code})`);
    return { task_id: taskFolder.id, problems, repaired };
  }
  try {
    await checkFolder(folder, taskFolder.id, repair, problems, repaired);
  } catch (error) {
    // a read or write error part way (the disk, not the files): what was found so far stands, nothing else is cut
    problems.push(`could not be checked to the end (${errorText(folder.explain(error))})`);
  } finally {
    await folder.close().catch(() => undefined); // a failed close(2) still frees the descriptor
  }
  return { task_id: taskFolder.id, problems, repaired };
}

async function checkFolder(
  folder: OpenFolder,
  taskId: string,
  repair: boolean,
  problems: string[],
  repaired: string[],
): Promise<void> {
  const json = async (file: string): Promise<Record<string, unknown> | undefined> => {
    const read = await readTaskFile(folder, file, problems, { forRepair: false, withGz: false });
    if (read === undefined) return undefined;
    await read.close();
    try {
      const value: unknown = JSON.parse(read.bytes.toString('utf8'));
      if (value !== null && typeof value === 'object' && !Array.isArray(value))
        return value as Record<string, unknown>;
      problems.push(`${file}: not a JSON object`);
    } catch {
      problems.push(`${file}: not valid JSON`);
    }
    return undefined;
  };
  const metadata = await json(TASK_FILES.metadata);
  if (metadata === undefined) problems.push(`${TASK_FILES.metadata}: missing or unreadable`);
  else {
    for (const key of SEED_METADATA)
      if (!(key in metadata)) problems.push(`${TASK_FILES.metadata}: no ${key}`);
    if (metadata.task_id !== taskId)
      problems.push(`${TASK_FILES.metadata}: task_id differs from the folder name`);
    if (!isTaskStatus(metadata.status))
      problems.push(`${TASK_FILES.metadata}: status ${JSON.stringify(metadata.status)} is not a status`);
    if (typeof metadata.created_at === 'string' && !ISO_Z.test(metadata.created_at))
      problems.push(`${TASK_FILES.metadata}: created_at is not ISO 8601 UTC`);
  }
  const input = await json(TASK_FILES.input);
  if (input !== undefined && typeof input.message !== 'string')
    problems.push(`${TASK_FILES.input}: message is not a string`);
  const final = await json(TASK_FILES.finalResult);
  const status = metadata?.status;
  if (final === undefined && (status === 'completed' || status === 'failed')) {
    problems.push(`${TASK_FILES.finalResult}: missing for a ${status} task`);
  }
  if (final !== undefined) {
    if (typeof final.success !== 'boolean')
      problems.push(`${TASK_FILES.finalResult}: success is not a boolean`);
    const metrics = (final.metrics ?? {}) as Record<string, unknown>;
    for (const key of ['cost_usd', 'input_tokens', 'output_tokens', 'duration_seconds']) {
      if (typeof metrics[key] !== 'number')
        problems.push(`${TASK_FILES.finalResult}: metrics.${key} is not a number`);
    }
  }
  // a task still being written is never cut: its torn line may be an append in progress
  const finished = isFinalStatus(status as never) && !(await lockHeld(folder));
  for (const file of [TASK_FILES.webhookFlow, TASK_FILES.agentOutput]) {
    const read = await readTaskFile(folder, file, problems, { forRepair: repair && finished, withGz: true });
    if (read === undefined) continue;
    try {
      const parsed = parseJsonl<Record<string, unknown>>(read.bytes);
      const lines =
        read.gz === undefined
          ? parsed.lines
          : [...parseJsonl<Record<string, unknown>>(read.gz).lines, ...parsed.lines];
      for (const n of parsed.badLines) problems.push(`${file}:${n}: not a whole JSON line`);
      const check =
        file === TASK_FILES.webhookFlow
          ? (l: Record<string, unknown>) => isWebhookStage(l.stage)
          : (l: Record<string, unknown>) => isOutputType(l.type) && typeof l.content === 'string';
      const wrong = lines.filter((line) => !check(line)).length;
      if (wrong > 0)
        problems.push(
          `${file}: ${wrong} lines without a contract ${file === TASK_FILES.webhookFlow ? 'stage' : 'type and content'}`,
        );
      if (file === TASK_FILES.webhookFlow) {
        const order = lines.map((l) => WEBHOOK_STAGES.indexOf(l.stage as never)).filter((i) => i >= 0);
        if (order.some((i, k) => k > 0 && i < order[k - 1]!)) problems.push(`${file}: stages out of order`);
      }
      if (parsed.tornAt === undefined) continue;
      const tornBytes = read.bytes.length - parsed.tornAt;
      if (read.cutHandle !== undefined && (await cut(read.cutHandle, read.bytes.length, parsed.tornAt))) {
        repaired.push(`${file}: cut a torn last line (${tornBytes} bytes)`);
      } else if (repair && finished) {
        problems.push(
          `${file}: torn last line (not repaired: the file is read-only or changed while reading)`,
        );
      } else {
        problems.push(
          `${file}: torn last line${finished ? '' : ' (the task may still be writing: not repaired)'}`,
        );
      }
    } finally {
      await read.close();
    }
  }
  for (const temp of await tempFiles(folder)) {
    problems.push(
      `${temp.name}: a temporary file left by a failed write (removed by maintenance once stale)`,
    );
  }
}

/**
 * Cuts the torn last line off a task's JSONL files, whatever its status: for a task whose writer is known to be gone
 * (the interrupted-task check), before anything is appended after it, so the next line starts whole. Returns the
 * files cut.
 */
export async function cutTornTails(root: string, taskId: string): Promise<string[]> {
  const cutFiles: string[] = [];
  const folder = await openTaskFolder(root, taskId);
  try {
    for (const file of [TASK_FILES.webhookFlow, TASK_FILES.agentOutput]) {
      const read = await readTaskFile(folder, file, [], { forRepair: true, withGz: false });
      if (read === undefined) continue;
      try {
        const { tornAt } = parseJsonl(read.bytes);
        if (
          tornAt !== undefined &&
          read.cutHandle !== undefined &&
          (await cut(read.cutHandle, read.bytes.length, tornAt))
        )
          cutFiles.push(file);
      } finally {
        await read.close();
      }
    }
  } finally {
    await folder.close();
  }
  return cutFiles;
}

// cuts the file back to `at` through the handle it was read with, only if nothing was appended since
async function cut(handle: FileHandle, readBytes: number, at: number): Promise<boolean> {
  if ((await handle.stat()).size !== readBytes) return false;
  await handle.truncate(at);
  return true;
}
