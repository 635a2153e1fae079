import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TASK_FILES } from '../../src/contract/task-files.ts';
import { compressTasks } from '../../src/ops/compression.ts';
import { ownerIsGone } from '../../src/ops/owner-gone.ts';
import type { FollowEvent } from '../../src/store/follow-lines.ts';
import { TaskStore } from '../../src/store/task-store.ts';
import { writeTask } from '../helpers/old-tasks.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const line = (content: string) =>
  `${JSON.stringify({ timestamp: '2026-11-26T10:00:00.000Z', type: 'text', content })}\n`;

function setStatus(dir: string, status: string, extra: Record<string, unknown> = {}) {
  const path = join(dir, TASK_FILES.metadata);
  writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), status, ...extra }));
}

/** Pulls events one at a time, as a consumer waiting for its client would. */
function follower(store: TaskStore, options: { after?: number } = {}) {
  const events = store.follow('task-x', TASK_FILES.agentOutput, { pollMs: 5, ...options });
  const contents: string[] = [];
  return {
    contents,
    /** pulls until an event matches; returns it */
    async until(match: (event: FollowEvent) => boolean): Promise<FollowEvent> {
      for (;;) {
        const { value, done } = await events.next();
        if (done) throw new Error('the follow ended');
        if (value.type === 'lines') for (const l of value.lines) contents.push(JSON.parse(l.text).content);
        if (match(value)) return value;
      }
    },
    stop: () => events.return(undefined),
  };
}

describe('the store follow (SSE and tail -f)', () => {
  it('gives the lines written so far, then each new one, then ends with the final status', async () => {
    const root = await tempLogsDir();
    const dir = writeTask(root, 'task-x', { status: 'running', lines: 3 });
    const follow = follower(new TaskStore(root));
    await follow.until((e) => e.type === 'idle');
    expect(follow.contents).toHaveLength(3);
    appendFileSync(join(dir, TASK_FILES.agentOutput), line('new'));
    await follow.until((e) => e.type === 'lines');
    expect(follow.contents.at(-1)).toBe('new');
    setStatus(dir, 'failed');
    expect(await follow.until((e) => e.type === 'end')).toEqual({
      type: 'end',
      status: 'failed',
      lastLine: 4,
    });
  });

  it('ends when the task folder is deleted', async () => {
    const root = await tempLogsDir();
    const dir = writeTask(root, 'task-x', { status: 'running', lines: 2 });
    const follow = follower(new TaskStore(root));
    await follow.until((e) => e.type === 'idle');
    rmSync(dir, { recursive: true });
    expect(await follow.until((e) => e.type === 'end')).toMatchObject({ status: 'deleted' });
  });

  it('ends when the process that owns a running task is gone', async () => {
    const root = await tempLogsDir();
    const dir = writeTask(root, 'task-x', { status: 'running', lines: 2 });
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const owner = {
      host: hostname(),
      pid: Number(dead.stdout),
      start_ticks: null,
      started_at: new Date().toISOString(),
    };
    const follow = follower(new TaskStore(root));
    await follow.until((e) => e.type === 'idle');
    setStatus(dir, 'running', { owner });
    const events = new TaskStore(root).follow('task-x', TASK_FILES.agentOutput, {
      pollMs: 5,
      isInterrupted: ownerIsGone,
    });
    const seen: FollowEvent[] = [];
    for await (const event of events) seen.push(event);
    expect(seen.at(-1)).toEqual({ type: 'end', status: 'interrupted', lastLine: 2 });
    await follow.stop();
  });

  it('reads nothing more while its consumer does not ask: one batch at a time', async () => {
    const root = await tempLogsDir();
    const dir = writeTask(root, 'task-x', { status: 'completed', lines: 0 });
    writeFileSync(join(dir, TASK_FILES.agentOutput), line('y'.repeat(1000)).repeat(5000)); // about 5 MB
    const events = new TaskStore(root).follow('task-x', TASK_FILES.agentOutput, { pollMs: 5 });
    const first = await events.next();
    expect(first.value).toMatchObject({ type: 'lines' });
    const batch = (first.value as { lines: unknown[] }).lines.length;
    expect(batch).toBeGreaterThan(0);
    expect(batch).toBeLessThan(100); // 64 KiB of lines, not the file
    await events.return(undefined);
  });

  it('goes on across a compression and a line written after it, without repeating a line', async () => {
    const root = await tempLogsDir();
    const dir = writeTask(root, 'task-x', { status: 'running', lines: 5 });
    const follow = follower(new TaskStore(root));
    await follow.until((e) => e.type === 'idle');
    setStatus(dir, 'completed', { completed_at: '2020-01-01T00:00:00.000Z' });
    await compressTasks({ root, afterDays: 1 });
    setStatus(dir, 'running'); // a late writer, as far as the follow can tell
    appendFileSync(join(dir, TASK_FILES.agentOutput), line('late'));
    await follow.until((e) => e.type === 'lines');
    setStatus(dir, 'completed');
    expect(await follow.until((e) => e.type === 'end')).toMatchObject({ status: 'completed', lastLine: 6 });
    expect(follow.contents.map((c) => c.slice(0, 7))).toEqual([
      'line 0:',
      'line 1:',
      'line 2:',
      'line 3:',
      'line 4:',
      'late',
    ]);
  });
});
