import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type IndexedFiles,
  SORT_FIELDS,
  searchSql,
  TaskIndex,
  type TaskQuery,
} from '../../src/store/task-index.ts';

// The sort fields a task has no value for until it has run: their indexes hold only the rows with a value, so a new
// task's row is not written into six indexes at random places (task ids are random). The tasks without a value are
// still found, last, and read from an index in task id order, as before.
const LATE = ['started_at', 'completed_at', 'cost_usd', 'duration_seconds', 'input_tokens', 'output_tokens'];
const dir = mkdtempSync(join(tmpdir(), 'index-late-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function seeded(): { index: TaskIndex; db: DatabaseSync } {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.sqlite`);
  const index = new TaskIndex(path);
  index.upsertMany(
    Array.from({ length: 40 }, (_, i): [string, IndexedFiles] => {
      const created = new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString();
      const done = i % 4 !== 0; // every 4th still queued: no late field at all
      return [
        `task-${((i * 7919) % 1000).toString(16).padStart(16, '0')}`,
        {
          metadata: {
            status: done ? 'completed' : 'queued',
            provider: i % 2 ? 'github' : 'jira',
            created_at: created,
            ...(done ? { started_at: created, completed_at: created } : {}),
          },
          ...(done
            ? {
                finalResult: {
                  success: true,
                  metrics: {
                    cost_usd: i / 100,
                    input_tokens: i,
                    output_tokens: i,
                    duration_seconds: i,
                  } as never,
                },
              }
            : {}),
        },
      ];
    }),
  );
  return { index, db: new DatabaseSync(path, { readOnly: true }) };
}

describe('the task index and the fields a task has no value for yet', () => {
  it('leaves a task out of the index of every sort field it has no value for', () => {
    const { index, db } = seeded();
    const partial = new Map(
      (db.prepare("PRAGMA index_list('tasks')").all() as { name: string; partial: number }[]).map((row) => [
        row.name,
        row.partial,
      ]),
    );
    for (const name of [
      'tasks_started',
      'tasks_completed',
      'tasks_cost',
      'tasks_duration',
      'tasks_input_tokens',
      'tasks_output_tokens',
      'tasks_total_tokens',
    ])
      expect(partial.get(name), name).toBe(1);
    db.close();
    index.close();
  });

  it('reads both halves of every sort from an index, the tasks without a value in task id order', () => {
    const { index, db } = seeded();
    const nullCursor = Buffer.from(JSON.stringify([null, 'task-0000000000000100'])).toString('base64url');
    for (const sort of SORT_FIELDS)
      for (const order of ['asc', 'desc'] as const)
        for (const filters of [{}, { status: ['queued'] }, { provider: ['jira'] }])
          for (const cursor of [undefined, nullCursor]) {
            const query: TaskQuery = { sort, order, limit: 5, ...filters, ...(cursor ? { cursor } : {}) };
            const halves = searchSql(query);
            const plan = (half: { sql: string; params: unknown[] }) =>
              (
                db.prepare(`EXPLAIN QUERY PLAN ${half.sql}`).all(...(half.params as never[]), 5) as {
                  detail: string;
                }[]
              )
                .map((row) => row.detail)
                .join(' / ');
            if (halves.withValue !== undefined)
              expect(plan(halves.withValue), JSON.stringify(query)).toMatch(/USING (COVERING )?INDEX/);
            // the tasks without a value: an index already in task id order (the planner, left alone, read a filter's
            // index and sorted every row it gave: all the queued tasks, to return five)
            const without = plan(halves.withoutValue);
            expect(without, JSON.stringify(query)).toMatch(/USING (COVERING )?INDEX/);
            expect(without, JSON.stringify(query)).not.toContain('TEMP B-TREE');
          }
    db.close();
    index.close();
  });

  it('finds the tasks without a value last, and by their tokens as a total of 0', () => {
    const { index, db } = seeded();
    for (const field of LATE) {
      const page = index.search({ sort: field as TaskQuery['sort'], order: 'desc', limit: 40 });
      expect(
        page.tasks.slice(30).map((row) => row.status),
        field,
      ).toEqual(Array(10).fill('queued'));
      const ids = page.tasks.slice(30).map((row) => row.task_id);
      expect(ids, field).toEqual([...ids].sort().reverse());
    }
    const count = (filters: Partial<TaskQuery>) =>
      index.search({ sort: 'created_at', order: 'asc', limit: 100, ...filters }).tasks.length;
    expect(count({ max_tokens: 0 })).toBe(10); // the queued ten (a total of 0); every finished one has 2 or more
    expect(count({ min_tokens: 0 })).toBe(40);
    expect(count({ min_tokens: 0.5 })).toBe(30);
    expect(count({ min_tokens: 2, max_tokens: 4 })).toBe(2); // i = 1 and 2 (tokens 2 and 4); i = 0 is queued
    db.close();
    index.close();
  });
});
