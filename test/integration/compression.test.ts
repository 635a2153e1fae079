import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compressTasks } from '../../src/ops/compression.ts';
import { verifyTasks } from '../../src/ops/verify.ts';
import { TaskStore } from '../../src/store/task-store.ts';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { writeTask } from '../helpers/old-tasks.ts';
import { getJson, testServer } from '../helpers/server.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

describe('compression', () => {
  it('gzips the JSONL files of tasks finished over 7 days ago; the API reads them exactly as before', async () => {
    const root = await tempLogsDir();
    writeTask(root, 'task-old', { endedDaysAgo: 10, lines: 300 });
    writeTask(root, 'task-new', { endedDaysAgo: 2 });
    writeTask(root, 'task-running', { status: 'running', endedDaysAgo: 30 });
    const server = await testServer(root, { TASK_LOGS_COMPRESS_AFTER_DAYS: '36500' }); // no compression at start
    const read = async (path: string) =>
      freshFetch(`${server.url}/api/tasks/task-old/logs/${path}`).then((r) => r.text());
    const before = {
      full: await read('full'),
      out: await read('agent-output'),
      raw: await read('agent-output?format=jsonl'),
      page: await read('agent-output?after=100&limit=50'),
    };
    const plain = readFileSync(join(root, 'task-old', '03-agent-output.jsonl'));

    const result = await compressTasks({ root, afterDays: 7 });
    expect(result.compressed.map((c) => c.task_id)).toEqual(['task-old']);
    expect(result.bytes_after).toBeLessThan(result.bytes_before / 3);
    expect(readdirSync(join(root, 'task-old')).sort()).toEqual([
      '01-input.json',
      '02-webhook-flow.jsonl.gz',
      '03-agent-output.jsonl.gz',
      '04-final-result.json',
      'metadata.json',
    ]);
    expect(gunzipSync(readFileSync(join(root, 'task-old', '03-agent-output.jsonl.gz')))).toEqual(plain);
    expect(existsSync(join(root, 'task-new', '03-agent-output.jsonl'))).toBe(true);
    expect(existsSync(join(root, 'task-running', '03-agent-output.jsonl'))).toBe(true);

    expect({
      full: await read('full'),
      out: await read('agent-output'),
      raw: await read('agent-output?format=jsonl'),
      page: await read('agent-output?after=100&limit=50'),
    }).toEqual(before);
    const follow = await freshFetch(`${server.url}/api/tasks/task-old/logs/agent-output/stream`).then((r) =>
      r.text(),
    );
    expect(follow.match(/^id: /gm)).toHaveLength(300);
    expect(follow).toContain('event: end');
    expect((await getJson(`${server.url}/api/tasks?status=completed`)).body).toMatchObject({
      tasks: expect.arrayContaining([expect.objectContaining({ task_id: 'task-old' })]),
    });
    expect((await verifyTasks({ root })).broken).toEqual([]);

    // a second run finds nothing to do
    expect((await compressTasks({ root, afterDays: 7 })).compressed).toEqual([]);
  });

  it('after a kill -9 in the middle, every file has one complete copy, plain or compressed', async () => {
    const root = await tempLogsDir();
    for (let i = 0; i < 60; i++)
      writeTask(root, `task-${String(i).padStart(2, '0')}`, { endedDaysAgo: 30, lines: 3000 });
    const expected = new Map<string, Buffer>();
    for (let i = 0; i < 60; i++) {
      for (const file of ['02-webhook-flow.jsonl', '03-agent-output.jsonl']) {
        const path = join(root, `task-${String(i).padStart(2, '0')}`, file);
        expected.set(path, readFileSync(path));
      }
    }
    const script = `
      import { compressTasks } from ${JSON.stringify(join(import.meta.dirname, '../../src/ops/compression.ts'))};
      process.stdout.write('go\\n');
      await compressTasks({ root: ${JSON.stringify(root)}, afterDays: 7 });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    await new Promise((resolve) => setTimeout(resolve, 250));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    let compressed = 0;
    for (let i = 0; i < 60; i++) {
      const dir = join(root, `task-${String(i).padStart(2, '0')}`);
      for (const file of ['02-webhook-flow.jsonl', '03-agent-output.jsonl']) {
        const plain = join(dir, file);
        const gz = `${plain}.gz`;
        const copies = [
          existsSync(plain) && readFileSync(plain),
          existsSync(gz) && gunzipSync(readFileSync(gz)),
        ].filter(Boolean) as Buffer[];
        expect(copies.length, `${dir}/${file}`).toBeGreaterThan(0);
        for (const copy of copies) expect(copy.equals(expected.get(plain)!), `${plain} intact`).toBe(true);
        if (existsSync(gz)) compressed++;
      }
    }
    console.info(`killed after compressing ${compressed} of 120 files`);
    // the next run finishes the job and leaves no temp files behind
    await compressTasks({ root, afterDays: 7 });
    const leftovers = readdirSync(root).flatMap((task) =>
      readdirSync(join(root, task)).filter((n) => n.endsWith('.tmp') || n.endsWith('.jsonl')),
    );
    expect(leftovers).toEqual([]);
    expect((await verifyTasks({ root })).broken).toEqual([]);
  });
});

describe('compression and lines written after it', () => {
  it('reads a line appended after compression, and the next compression merges it into the .gz instead of deleting it', async () => {
    const root = await tempLogsDir();
    writeTask(root, 'task-old', { endedDaysAgo: 10, lines: 20 });
    await compressTasks({ root, afterDays: 7 });
    const late = '{"timestamp":"2026-01-01T00:00:00.000Z","type":"text","content":"a late line"}\n';
    appendFileSync(join(root, 'task-old', '03-agent-output.jsonl'), late);
    const store = new TaskStore(root);
    const lines = async () => {
      const all: string[] = [];
      for await (const line of store.lines('task-old', '03-agent-output.jsonl')) all.push(line.text);
      return all;
    };
    expect(await lines()).toHaveLength(21);
    expect((await lines()).at(-1)).toBe(late.trim());

    const again = await compressTasks({ root, afterDays: 7 });
    expect(again.compressed.map((c) => [c.task_id, c.files])).toEqual([
      ['task-old', ['03-agent-output.jsonl']],
    ]);
    expect(existsSync(join(root, 'task-old', '03-agent-output.jsonl'))).toBe(false);
    const unzipped = gunzipSync(readFileSync(join(root, 'task-old', '03-agent-output.jsonl.gz'))).toString();
    expect(unzipped.split('\n').filter(Boolean)).toHaveLength(21);
    expect(unzipped.endsWith(late)).toBe(true);
    expect(await lines()).toHaveLength(21);
    expect((await verifyTasks({ root })).broken).toEqual([]);
  });

  it('after a run killed between its rename and its unlink, keeps one copy of each line', async () => {
    const root = await tempLogsDir();
    const dir = writeTask(root, 'task-old', { endedDaysAgo: 10, lines: 20 });
    const plain = readFileSync(join(dir, '03-agent-output.jsonl'));
    writeFileSync(join(dir, '03-agent-output.jsonl.gz'), gzipSync(plain));
    await compressTasks({ root, afterDays: 7 });
    expect(existsSync(join(dir, '03-agent-output.jsonl'))).toBe(false);
    expect(gunzipSync(readFileSync(join(dir, '03-agent-output.jsonl.gz')))).toEqual(plain);
  });

  it('leaves a task alone while a writer holds its lock, and removes stale temp files only', async () => {
    const root = await tempLogsDir();
    const busy = writeTask(root, 'task-busy', { endedDaysAgo: 10 });
    writeFileSync(join(busy, 'metadata.json.lock'), 'host 1\n');
    const idle = writeTask(root, 'task-idle', { endedDaysAgo: 10 });
    const stale = join(idle, '.metadata.json.1.abc.0.tmp');
    const fresh = join(idle, '.metadata.json.1.abc.1.tmp');
    writeFileSync(stale, '{');
    writeFileSync(fresh, '{');
    utimesSync(stale, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    const result = await compressTasks({ root, afterDays: 7 });
    expect(result.compressed.map((c) => c.task_id)).toEqual(['task-idle']);
    expect(result.busy).toEqual(['task-busy']);
    expect(result.temps_removed).toBe(1);
    expect(existsSync(join(busy, '03-agent-output.jsonl'))).toBe(true);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
  });
});
