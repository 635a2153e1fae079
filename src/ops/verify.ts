// verify: checks every task folder against the five-file contract and lists what is broken; with repair, cuts a torn
// last line off a JSONL file (what a killed writer can leave).
import { constants } from 'node:fs';
import { open, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { isOutputType, isWebhookStage, TASK_FILES, WEBHOOK_STAGES } from '../contract/task-files.ts';
import { isFinalStatus, isTaskStatus } from '../contract/task-status.ts';
import { parseJsonl } from '../store/jsonl-read.ts';
import { listTaskFolders, type TaskFolder } from './task-folders.ts';

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

export async function verifyTasks(options: {
  root: string;
  repair?: boolean;
  onProgress?: (done: number, total: number) => void;
}): Promise<{ scanned: number; broken: TaskProblems[] }> {
  const folders = await listTaskFolders(options.root);
  const broken: TaskProblems[] = [];
  let done = 0;
  for (const folder of folders) {
    const result = await verifyTask(folder, options.repair ?? false);
    if (result.problems.length > 0 || result.repaired.length > 0) broken.push(result);
    options.onProgress?.(++done, folders.length);
  }
  return { scanned: folders.length, broken };
}

async function readText(path: string): Promise<{ text: string; gz: boolean } | undefined> {
  for (const [name, gz] of [
    [path, false],
    [`${path}.gz`, true],
  ] as const) {
    let handle: import('node:fs/promises').FileHandle | undefined;
    try {
      handle = await open(name, constants.O_RDONLY | constants.O_NOFOLLOW);
      const raw = await handle.readFile();
      if (!gz) return { text: raw.toString('utf8'), gz };
      const chunks: Buffer[] = [];
      const gunzip = createGunzip();
      gunzip.end(raw);
      for await (const chunk of gunzip) chunks.push(chunk as Buffer);
      return { text: Buffer.concat(chunks).toString('utf8'), gz };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') return { text: `\0unreadable: ${code ?? (error as Error).message}`, gz };
    } finally {
      await handle?.close();
    }
  }
  return undefined;
}

export async function verifyTask(folder: TaskFolder, repair: boolean): Promise<TaskProblems> {
  const problems: string[] = [];
  const repaired: string[] = [];
  const json = async (file: string): Promise<Record<string, unknown> | undefined> => {
    const read = await readText(join(folder.dir, file));
    if (read === undefined) return undefined;
    try {
      const value: unknown = JSON.parse(read.text);
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
    if (metadata.task_id !== folder.id)
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
  for (const file of [TASK_FILES.webhookFlow, TASK_FILES.agentOutput]) {
    const read = await readText(join(folder.dir, file));
    if (read === undefined) continue;
    const parsed = parseJsonl<Record<string, unknown>>(read.text);
    for (const n of parsed.badLines) problems.push(`${file}:${n}: not a whole JSON line`);
    const check =
      file === TASK_FILES.webhookFlow
        ? (l: Record<string, unknown>) => isWebhookStage(l.stage)
        : (l: Record<string, unknown>) => isOutputType(l.type) && typeof l.content === 'string';
    const wrong = parsed.lines.filter((line) => !check(line)).length;
    if (wrong > 0)
      problems.push(
        `${file}: ${wrong} lines without a contract ${file === TASK_FILES.webhookFlow ? 'stage' : 'type and content'}`,
      );
    if (file === TASK_FILES.webhookFlow) {
      const order = parsed.lines.map((l) => WEBHOOK_STAGES.indexOf(l.stage as never)).filter((i) => i >= 0);
      if (order.some((i, k) => k > 0 && i < order[k - 1]!)) problems.push(`${file}: stages out of order`);
    }
    if (parsed.tornTail !== undefined) {
      if (repair && !read.gz) {
        await truncate(
          join(folder.dir, file),
          Buffer.byteLength(read.text.slice(0, read.text.lastIndexOf(parsed.tornTail))),
        );
        repaired.push(`${file}: cut a torn last line (${Buffer.byteLength(parsed.tornTail)} bytes)`);
      } else {
        problems.push(
          `${file}: torn last line${isFinalStatus(status as never) ? '' : ' (the task may still be writing)'}`,
        );
      }
    }
  }
  return { task_id: folder.id, problems, repaired };
}
