// The folder writer runs in two ways: on the event loop (file calls through the thread pool, lines as strings) and in
// the writer thread (synchronous file calls, lines encoded before they cross). Both must leave the same bytes for the
// same changes: a new task, a later update (metadata under its lock), a torn file's fresh line (only where the file
// does not already end on one), and a task whose metadata lock another process holds for a moment (the writer waits,
// then merges into that process's file).
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFileSystem } from '../../exporters/file-system.ts';
import { encodeLineLists } from '../../exporters/jsonl-appender.ts';
import { syncFileSystem } from '../../exporters/sync-file-system.ts';
import { emptyChanges, type TaskChanges } from '../../exporters/task-changes.ts';
import { type FolderOutcome, TaskFolderWriter } from '../../exporters/task-folder-writer.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const flow = (stage: string) => JSON.stringify({ timestamp: '2026-01-01T00:00:00.000Z', stage });
const output = (n: number) =>
  JSON.stringify({ timestamp: '2026-01-01T00:00:01.000Z', type: 'text', content: `line ${n} ✓` });

function changes(taskId: string, patch: Partial<TaskChanges>): TaskChanges {
  return { ...emptyChanges(taskId), ...patch };
}

// the changes in the order a writer gets them, each a flush of its own
function flushes(): TaskChanges[] {
  return [
    changes('task-new', {
      webhookLines: [flow('received'), flow('task_created')],
      outputLines: [output(1), output(2)],
      input: { message: '@agent review', source_metadata: { provider: 'github' } },
      metadata: { status: 'queued', source: 'webhook', created_at: '2026-01-01T00:00:00.000Z' },
    }),
    changes('task-new', {
      outputLines: [output(3)],
      finalResult: {
        success: true,
        result: 'done',
        error: null,
        metrics: { cost_usd: 0.01, input_tokens: 1, output_tokens: 2, duration_seconds: 1 },
        completed_at: '2026-01-01T00:00:02.000Z',
        trace_id: 'a'.repeat(32),
      },
      metadata: { status: 'completed', completed_at: '2026-01-01T00:00:02.000Z' },
      ended: true,
    }),
    // torn, but the file ends with a newline (the failed append was cut back, or never reached the file)
    changes('task-new', { outputLines: [output(4)], torn: true }),
    // torn, and the file ends in a half line: the next line starts on a line of its own
    changes('task-half', { outputLines: [output(6)], torn: true }),
    // torn, and the file is empty
    changes('task-empty', { outputLines: [output(7)], torn: true }),
    changes('task-locked', {
      outputLines: [output(5)],
      metadata: { status: 'running', started_at: '2026-01-01T00:00:01.000Z' },
    }),
  ];
}

// what the writer thread is sent: the lines encoded, the strings left behind
function asSentToThread(task: TaskChanges): TaskChanges {
  const { chunks } = encodeLineLists([task.webhookLines, task.outputLines]);
  return {
    ...task,
    webhookLines: [],
    outputLines: [],
    encoded: { webhook: chunks[0]!, output: chunks[1]! },
  };
}

// the writer's file calls (the event loop's or the thread's), with the metadata lock let go when the writer first
// finds it taken: it waits once, then takes it
type WriterFs = ConstructorParameters<typeof TaskFolderWriter>[0]['fs'];

function releasingLock(fs: WriterFs, waits: string[]): WriterFs {
  return {
    ...fs,
    mtimeMs: (path: string) => {
      if (path.endsWith('.lock')) {
        waits.push(path);
        rmSync(path, { force: true });
      }
      return fs.mtimeMs(path);
    },
  } as WriterFs;
}

async function writeAll(fs: WriterFs, thread: boolean) {
  const root = await tempLogsDir();
  // task-locked: made by another process, whose metadata lock is held when this writer comes
  const locked = join(root, 'task-locked');
  mkdirSync(locked);
  writeFileSync(
    join(locked, 'metadata.json'),
    `${JSON.stringify({ task_id: 'task-locked', status: 'queued', source: 'api' })}\n`,
  );
  writeFileSync(join(locked, 'metadata.json.lock'), `${hostname()} 1\n`);
  // task-half: a writer stopped inside an append, leaving half a line
  mkdirSync(join(root, 'task-half'));
  writeFileSync(join(root, 'task-half', '03-agent-output.jsonl'), `${output(5)}\n${output(6).slice(0, 20)}`);
  mkdirSync(join(root, 'task-empty'));
  writeFileSync(join(root, 'task-empty', '03-agent-output.jsonl'), '');
  const waits: string[] = [];
  const writer = new TaskFolderWriter({
    root,
    fs: releasingLock(fs, waits),
    durable: false,
    onUnreadable: () => undefined,
  });
  const outcomes: FolderOutcome[] = [];
  for (const task of flushes()) outcomes.push(await writer.apply(thread ? asSentToThread(task) : task));
  return { root, outcomes, waits };
}

// every file of every task folder, with the metadata's updated_at (the time of the write) left out
function tree(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const task of readdirSync(root).sort())
    for (const name of readdirSync(join(root, task)).sort()) {
      const text = readFileSync(join(root, task, name), 'utf8');
      files[`${task}/${name}`] =
        name === 'metadata.json' ? text.replace(/"updated_at":"[^"]*"/, '"updated_at":"…"') : text;
    }
  return files;
}

// an outcome with its times of writing (metadata's updated_at, the folder's mtime) masked; a written task's folder
// mtime is there in both ways or in neither
function withoutTime(outcome: FolderOutcome) {
  if (outcome.kind !== 'written') return outcome;
  const { metadata, folderMtimeMs } = outcome;
  return {
    ...outcome,
    metadata: metadata === undefined ? undefined : { ...metadata, updated_at: '…' },
    folderMtimeMs: typeof folderMtimeMs === 'number' ? '…' : folderMtimeMs,
  };
}

describe('the folder writer on the event loop and in the writer thread', () => {
  it('leaves the same bytes for the same changes, including a wait on the metadata lock of another process', async () => {
    const eventLoop = await writeAll(nodeFileSystem, false);
    const thread = await writeAll(syncFileSystem, true);
    expect(eventLoop.waits).toHaveLength(1);
    expect(thread.waits).toHaveLength(1);
    expect(thread.outcomes.map(withoutTime)).toEqual(eventLoop.outcomes.map(withoutTime));
    expect(eventLoop.outcomes.every((o) => o.kind === 'written')).toBe(true);
    const files = tree(eventLoop.root);
    expect(tree(thread.root)).toEqual(files);
    // no temp or lock file left behind, a torn file's next line on a line of its own (and no empty line), the other
    // process's fields kept
    expect(Object.keys(files)).toEqual([
      'task-empty/03-agent-output.jsonl',
      'task-half/03-agent-output.jsonl',
      'task-locked/03-agent-output.jsonl',
      'task-locked/metadata.json',
      'task-new/01-input.json',
      'task-new/02-webhook-flow.jsonl',
      'task-new/03-agent-output.jsonl',
      'task-new/04-final-result.json',
      'task-new/metadata.json',
    ]);
    expect(files['task-new/03-agent-output.jsonl']).toBe(
      `${output(1)}\n${output(2)}\n${output(3)}\n${output(4)}\n`,
    );
    expect(files['task-half/03-agent-output.jsonl']).toBe(
      `${output(5)}\n${output(6).slice(0, 20)}\n${output(6)}\n`,
    );
    expect(files['task-empty/03-agent-output.jsonl']).toBe(`${output(7)}\n`);
    expect(JSON.parse(files['task-locked/metadata.json']!)).toMatchObject({
      source: 'api',
      status: 'running',
    });
  });
});
