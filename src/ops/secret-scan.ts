// Scanning stored tasks for secrets (written before redaction existed, by an older version, or with it off), and
// rewriting them redacted: each file replaced whole by a temp file and a rename, only in finished tasks no writer holds.
import { randomBytes } from 'node:crypto';
import { lstat, rename, unlink } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { RedactionCounts, Redactor } from '../contract/redaction/redactor.ts';
import { isUnsafePath, type OpenFolder, openFolder } from '../contract/safe-open.ts';
import { TASK_FILES, type TaskMetadata } from '../contract/task-files.ts';
import { isFinalStatus, isTaskStatus } from '../contract/task-status.ts';
import { listTaskFolders } from './task-folders.ts';
import { lockHeld } from './task-lock.ts';

export interface ScanOptions {
  root: string;
  redactor: Redactor;
  /** rewrite what is found, redacted (finished tasks only) */
  redact?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface TaskSecrets {
  task_id: string;
  /** secrets per file, per rule */
  files: Record<string, RedactionCounts>;
  /** true once the files were rewritten redacted */
  redacted: boolean;
}

export interface ScanResult {
  scanned: number;
  /** secrets found, per rule, over every task */
  by_rule: RedactionCounts;
  secrets: number;
  tasks: TaskSecrets[];
  /** tasks with secrets that --redact left as they were: still running, or a writer held them */
  skipped: { task_id: string; reason: 'running' | 'busy' }[];
}

const JSON_FILES = [TASK_FILES.input, TASK_FILES.finalResult, TASK_FILES.metadata] as const;
const JSONL_FILES = [TASK_FILES.webhookFlow, TASK_FILES.agentOutput] as const;

// folders scanned at once: the reads wait on the disk far longer than the rules take
const CONCURRENCY = 8;

export async function scanTasks(options: ScanOptions): Promise<ScanResult> {
  const folders = await listTaskFolders(options.root);
  const result: ScanResult = { scanned: 0, by_rule: {}, secrets: 0, tasks: [], skipped: [] };
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < folders.length) {
      const { id, dir } = folders[next++]!;
      await scanOne(id, dir, options, result);
      options.onProgress?.(++done, folders.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, folders.length) }, worker));
  result.tasks.sort((a, b) => (a.task_id < b.task_id ? -1 : 1));
  result.skipped.sort((a, b) => (a.task_id < b.task_id ? -1 : 1));
  return result;
}

async function scanOne(id: string, dir: string, options: ScanOptions, result: ScanResult): Promise<void> {
  let folder: OpenFolder;
  try {
    folder = await openFolder(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || isUnsafePath(error)) return; // deleted meanwhile, or not a real folder
    throw error;
  }
  try {
    result.scanned++;
    await scanFolder(folder, id, options, result);
  } catch (error) {
    throw folder.explain(error);
  } finally {
    await folder.close();
  }
}

interface Rewrite {
  name: string;
  bytes: Buffer;
  /** the size the file had when it was read: a file that grew since has a writer after all, and is left */
  readSize?: number;
}

async function scanFolder(folder: OpenFolder, taskId: string, options: ScanOptions, result: ScanResult) {
  const { redactor } = options;
  const found: TaskSecrets = { task_id: taskId, files: {}, redacted: false };
  const rewrites: Rewrite[] = [];
  let metadata: Partial<TaskMetadata> | undefined;
  const names = [...JSON_FILES, ...JSONL_FILES.flatMap((base) => [`${base}.gz`, base])];
  const contents = new Map(
    await Promise.all(names.map(async (name) => [name, await folder.readFile(name)] as const)),
  );
  for (const name of JSON_FILES) {
    const bytes = contents.get(name);
    if (bytes === undefined) continue;
    const counts: RedactionCounts = {};
    const text = bytes.toString('utf8');
    let clean: string;
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const redacted = redactor.redactFields(parsed, counts);
      if (name === TASK_FILES.metadata) metadata = redacted as Partial<TaskMetadata>;
      clean = redacted === parsed ? text : `${JSON.stringify(redacted)}\n`;
    } catch {
      clean = redactor.redact(text, counts); // not JSON (a torn write): still no secret may stay in it
    }
    if (count(counts) > 0) {
      found.files[name] = counts;
      rewrites.push({ name, bytes: Buffer.from(clean) });
    }
  }
  for (const base of JSONL_FILES) {
    for (const name of [`${base}.gz`, base]) {
      const bytes = contents.get(name);
      if (bytes === undefined) continue;
      const gz = name.endsWith('.gz');
      const text = (gz ? gunzipSync(bytes) : bytes).toString('utf8');
      const counts: RedactionCounts = {};
      const clean = redactLines(redactor, text, counts);
      if (count(counts) > 0) {
        found.files[name] = counts;
        rewrites.push({ name, bytes: gz ? gzipSync(clean) : Buffer.from(clean), readSize: bytes.length });
      }
    }
  }
  if (rewrites.length === 0) return;
  result.tasks.push(found);
  for (const counts of Object.values(found.files)) {
    for (const [rule, n] of Object.entries(counts)) {
      result.by_rule[rule] = (result.by_rule[rule] ?? 0) + n;
      result.secrets += n;
    }
  }
  if (!options.redact) return;
  if (!isFinalStatus(isTaskStatus(metadata?.status) ? metadata.status : undefined)) {
    result.skipped.push({ task_id: taskId, reason: 'running' });
    return;
  }
  if (await lockHeld(folder)) {
    result.skipped.push({ task_id: taskId, reason: 'busy' });
    return;
  }
  // metadata.json last, with what was removed added to its counts, so it says so only once the rest is redacted
  const total: RedactionCounts = { ...(metadata?.redactions ?? {}) };
  for (const counts of Object.values(found.files)) {
    for (const [rule, n] of Object.entries(counts)) total[rule] = (total[rule] ?? 0) + n;
  }
  const others = rewrites.filter((r) => r.name !== TASK_FILES.metadata);
  for (const rewrite of others) {
    if (!(await replaceFile(folder, rewrite))) {
      result.skipped.push({ task_id: taskId, reason: 'busy' });
      return;
    }
  }
  if (metadata !== undefined) {
    const bytes = Buffer.from(`${JSON.stringify({ ...metadata, redactions: total })}\n`);
    await replaceFile(folder, { name: TASK_FILES.metadata, bytes });
  }
  found.redacted = true;
}

// line by line, so a line that does not parse (a torn last line) is redacted as text and the rest as JSON values
function redactLines(redactor: Redactor, text: string, counts: RedactionCounts): string {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      lines[i] = redactor.redact(line, counts);
      continue;
    }
    if (parsed === null || typeof parsed !== 'object') continue;
    const redacted = redactor.redactFields(parsed, counts);
    if (redacted !== parsed) lines[i] = JSON.stringify(redacted);
  }
  return lines.join('\n');
}

// a temp file in the same folder, synced, then renamed over the file: a reader sees the old file or the new one.
// False (nothing changed) when the file grew since it was read.
async function replaceFile(folder: OpenFolder, rewrite: Rewrite): Promise<boolean> {
  const temp = `.${rewrite.name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await folder.openFile(temp, 'createNew');
  try {
    await handle.writeFile(rewrite.bytes);
    await handle.sync();
    const now = await lstat(folder.pathOf(rewrite.name));
    if (rewrite.readSize !== undefined && now.size !== rewrite.readSize) {
      await unlink(folder.pathOf(temp));
      return false;
    }
    await rename(folder.pathOf(temp), folder.pathOf(rewrite.name));
    return true;
  } catch (error) {
    await unlink(folder.pathOf(temp)).catch(() => undefined); // our own temp file; the error is what matters
    throw error;
  } finally {
    await handle.close();
  }
}

function count(counts: RedactionCounts): number {
  let n = 0;
  for (const k in counts) n += counts[k]!;
  return n;
}
