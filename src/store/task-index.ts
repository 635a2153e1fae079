// TaskIndex: a SQLite index (node:sqlite) of every task's metadata and result, for listing and search. The files stay
// the source of truth: writers keep the index current as they write, and it is rebuilt from the files when missing.
import { dirname } from 'node:path';
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { makeFoldersSync } from '../contract/make-folders.ts';
import type { FinalResult, TaskMetadata } from '../contract/task-files.ts';
import { statusRank, TASK_STATUSES } from '../contract/task-status.ts';
import { closeSynced, openUnsynced } from './sqlite.ts';
import { type AggregateGroup, aggregateTasks, countByStatus, type TaskAggregate } from './task-aggregates.ts';
import { filterSql, HAS_TOKENS, type TaskFilters } from './task-filters.ts';

const SCHEMA_VERSION = 4;
const INDEX_CACHE_KIB = 16 * 1024;

export const SORT_FIELDS = [
  'created_at',
  'started_at',
  'completed_at',
  'cost_usd',
  'duration_seconds',
  'input_tokens',
  'output_tokens',
] as const;
export type SortField = (typeof SORT_FIELDS)[number];

export interface TaskRow {
  task_id: string;
  status: string | null;
  source: string | null;
  provider: string | null;
  assigned_agent: string | null;
  agent_type: string | null;
  model: string | null;
  created_at: string | null;
  started_at: string | null;
  completed_at: string | null;
  success: boolean | null;
  cost_usd: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  duration_seconds: number | null;
  conversation_id: string | null;
}

export interface TaskQuery extends TaskFilters {
  sort: SortField;
  order: 'asc' | 'desc';
  limit: number;
  cursor?: string;
}

export interface TaskPage {
  tasks: TaskRow[];
  next_cursor: string | null;
}

/** what is known of a task folder's files when it is indexed (mtimes tell the refresher what changed) */
export interface IndexedFiles {
  metadata?: Partial<TaskMetadata> | undefined;
  finalResult?: Partial<FinalResult> | undefined;
  folderMtimeMs?: number;
}

/** which tasks idsWithStatus leaves out: those whose folder was last written after `before` (ms since the epoch), by
 * what the index knows, except those whose owner is on `keepHost` or not known */
export interface WrittenFilter {
  before: number;
  keepHost?: string | undefined;
}

/** where a page of idsWithStatus ended */
export interface IdsPosition {
  createdAt: string | null;
  taskId: string;
}

// a task the interrupted-task check may end now (1 or 0): its folder was last written at or before the first bound
// parameter, by what the index knows, or the index does not know when (a writer's upsert that could not tell); or,
// when the second is not null, the task's owner is on that host (a gone one is ended at once) or not known
const WRITTEN_BEFORE =
  '(folder_mtime IS NULL OR folder_mtime <= ? OR (?2 IS NOT NULL AND (owner_host IS NULL OR owner_host = ?2)))';

const COLUMNS = `task_id, status, source, provider, assigned_agent, agent_type, model, created_at, started_at,
  completed_at, success, cost_usd, input_tokens, output_tokens, duration_seconds, conversation_id`;

export class TaskIndex {
  readonly path: string;
  readonly #db: DatabaseSync;
  // the metadata upserts: a writer's (forward only) and the refresh's (what the files say)
  readonly #forward: MetadataStatements;
  readonly #asRead: MetadataStatements;
  readonly #upsertResult: StatementSync;
  readonly #setMtime: StatementSync;
  readonly #folderMtimes: StatementSync;
  readonly #folderMtime: StatementSync;
  // prepared once: the interrupted-task check reads a page of ids every turn of the event loop
  readonly #idsWithCreated: StatementSync;
  readonly #idsWithoutCreated: StatementSync;
  // the same pages, each id with whether its folder was last written before a time (or not known to the index)
  readonly #idsWithCreatedWritten: StatementSync;
  readonly #idsWithoutCreatedWritten: StatementSync;
  #closed = false;
  // this connection's writes under way, shared with a writer thread that writes the index through its own (see
  // sharedWaiting)
  #waiting: Int32Array | undefined;

  /** set when the index file was corrupt at open: where it was moved (the new, empty one is rebuilt from the files) */
  readonly setAside: string | undefined;
  /** what was wrong with it then */
  readonly setAsideWhy: string | undefined;

  /** Opens (creating if needed) the index. busyTimeoutMs: how long a write waits for another process's lock. */
  constructor(path: string, options: { busyTimeoutMs?: number } = {}) {
    this.path = path;
    if (path !== ':memory:') makeFoldersSync(dirname(path));
    // written without fsync: it is a cache of the task folders (see sqlite.ts)
    const opened = openUnsynced(path, { timeout: options.busyTimeoutMs ?? 1000 }, checkSchema);
    this.#db = opened.db;
    // a page cache of 16 MiB (SQLite's default is 2 MiB; it grows as pages are read, so a command that reads a page of
    // rows does not use it): a new task's row with a random id (made before ids began with their time, or a client's)
    // goes into a random page of the primary key and of tasks_missing, and with 30,000 rows a 2 MiB cache missed most
    // of them, each a read from the file. Upsert of a queued task at 30,000 rows: 53 -> 27 µs of CPU; at 100,000: 66
    // -> 53
    this.#db.exec(`PRAGMA cache_size = -${INDEX_CACHE_KIB}`);
    this.setAside = opened.setAside;
    this.setAsideWhy = opened.why;
    this.#forward = {
      metadata: this.#db.prepare(upsertMetadataSql(true)),
      both: this.#db.prepare(upsertBothSql(true)),
    };
    this.#asRead = {
      metadata: this.#db.prepare(upsertMetadataSql(false)),
      both: this.#db.prepare(upsertBothSql(false)),
    };
    this.#upsertResult = this.#db.prepare(`
      INSERT INTO tasks (task_id, success, cost_usd, input_tokens, output_tokens, duration_seconds, completed_at,
        folder_mtime)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (task_id) DO UPDATE SET success = excluded.success, cost_usd = excluded.cost_usd,
        input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
        duration_seconds = excluded.duration_seconds, completed_at = coalesce(tasks.completed_at, excluded.completed_at),
        folder_mtime = excluded.folder_mtime`);
    this.#setMtime = this.#db.prepare('UPDATE tasks SET folder_mtime = ? WHERE task_id = ?');
    this.#folderMtimes = this.#db.prepare(
      'SELECT task_id, folder_mtime FROM tasks WHERE task_id > ? ORDER BY task_id LIMIT ?',
    );
    this.#folderMtimes.setReturnArrays(true);
    this.#folderMtime = this.#db.prepare('SELECT folder_mtime FROM tasks WHERE task_id = ?');
    this.#folderMtime.setReturnArrays(true);
    this.#idsWithCreated = this.#db.prepare(
      'SELECT task_id, created_at FROM tasks WHERE status = ? AND created_at IS NOT NULL AND (created_at, task_id) > (?, ?) ORDER BY created_at, task_id LIMIT ?',
    );
    this.#idsWithoutCreated = this.#db.prepare(
      'SELECT task_id, created_at FROM tasks WHERE status = ? AND created_at IS NULL AND task_id > ? ORDER BY task_id LIMIT ?',
    );
    this.#idsWithCreatedWritten = this.#db.prepare(
      `SELECT task_id, created_at, ${WRITTEN_BEFORE} AS old FROM tasks WHERE status = ? AND created_at IS NOT NULL AND (created_at, task_id) > (?, ?) ORDER BY created_at, task_id LIMIT ?`,
    );
    this.#idsWithoutCreatedWritten = this.#db.prepare(
      `SELECT task_id, created_at, ${WRITTEN_BEFORE} AS old FROM tasks WHERE status = ? AND created_at IS NULL AND task_id > ? ORDER BY task_id LIMIT ?`,
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * A count, in shared memory, of this connection's writes under way, for a writer thread of this process that writes
   * the index through a connection of its own: it starts none of its transactions while the count is above 0. A write
   * here that finds the thread's lock taken waits in SQLite's busy handler, which sleeps between its tries (1, 2, 5,
   * 10 ms and on): back-to-back transactions of the thread took the lock again before each try, and a write of the
   * event loop waited for all of them (330 ms for a flush of 20,000 rows). With the count it waits for one.
   */
  sharedWaiting(): SharedArrayBuffer {
    this.#waiting ??= new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    return this.#waiting.buffer as SharedArrayBuffer;
  }

  // a write of this connection, counted for the writer thread (sharedWaiting)
  #writing<T>(write: () => T): T {
    const waiting = this.#waiting;
    if (waiting === undefined) return write();
    Atomics.add(waiting, 0, 1);
    try {
      return write();
    } finally {
      Atomics.sub(waiting, 0, 1);
      Atomics.notify(waiting, 0);
    }
  }

  count(): number {
    return (this.#db.prepare('SELECT count(*) AS n FROM tasks').get() as { n: number }).n;
  }

  /**
   * Records what a writer has just written for one task. Two processes writing one task (split mode) upsert in
   * either order, so a row's metadata is replaced only by a state that is not older than its own: a later
   * started_at (a run that took an interrupted task up again), else the same started_at and a status of the same or
   * a later rank (queued, running, final), as metadata.json's merge moves them. An older state leaves the row, and
   * its folder mtime, as they are; a result is recorded either way, as on its own.
   */
  upsert(taskId: string, files: IndexedFiles): void {
    this.#writing(() => this.#upsert(taskId, files, this.#forward));
  }

  /** Several upserts in one transaction (one fsync of the WAL instead of many). */
  upsertMany(entries: Iterable<[string, IndexedFiles]>): void {
    this.#inTransaction(() => {
      for (const [taskId, files] of entries) this.upsert(taskId, files);
    });
  }

  /**
   * Records what the task folders say now (the refresh has just read them), whatever the rows hold: the files are
   * the truth, and a row a writer's upsert got wrong is put right here once its folder changes again.
   */
  refreshMany(entries: Iterable<[string, IndexedFiles]>): void {
    this.#inTransaction(() => {
      for (const [taskId, files] of entries) this.#upsert(taskId, files, this.#asRead);
    });
  }

  #upsert(taskId: string, files: IndexedFiles, statements: MetadataStatements): void {
    const m = files.metadata;
    const r = files.finalResult;
    // the folder's mtime as of what the row says: null when the writer could not tell, which says the row is what
    // a writer just wrote (the refresh records the mtime then, see index-refresh.ts)
    const mtime = files.folderMtimeMs ?? null;
    if (m !== undefined && r !== undefined) {
      const result = resultValues(r);
      // no row changed: the metadata is older than the row's (a forward upsert), and the result goes on its own
      if (statements.both.run(taskId, ...metadataValues(m), ...result, mtime, ownerHost(m)).changes === 0)
        this.#upsertResult.run(taskId, ...result, mtime);
    } else if (m !== undefined) {
      statements.metadata.run(taskId, ...metadataValues(m), mtime, ownerHost(m));
    } else if (r !== undefined) {
      this.#upsertResult.run(taskId, ...resultValues(r), mtime);
    } else if (files.folderMtimeMs !== undefined) {
      this.#setMtime.run(files.folderMtimeMs, taskId);
    }
  }

  #inTransaction(write: () => void): void {
    this.#writing(() => {
      this.#db.exec('BEGIN');
      try {
        write();
        this.#db.exec('COMMIT');
      } catch (error) {
        // a COMMIT that failed (disk full) has rolled back already: a second ROLLBACK would hide the real error
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  /** Replaces each task's row whole (what the files say now, nothing kept from before), in one transaction. */
  replaceMany(entries: Iterable<[string, IndexedFiles]>): void {
    const del = this.#db.prepare('DELETE FROM tasks WHERE task_id = ?');
    this.#inTransaction(() => {
      for (const [taskId, files] of entries) {
        del.run(taskId);
        this.#upsert(taskId, files, this.#asRead);
      }
    });
  }

  remove(taskIds: Iterable<string>): void {
    const del = this.#db.prepare('DELETE FROM tasks WHERE task_id = ?');
    this.#inTransaction(() => {
      for (const id of taskIds) del.run(id);
    });
  }

  /**
   * A page of the ids with `status`, oldest first (created_at, then task id; rows with no created_at last, as the API
   * sorts them), after `after` (the last row of the previous page), and where the next page starts. Only the ids,
   * read from the (status, created_at, task_id) index: the interrupted-task check reads every queued and running
   * task this way (a page of whole rows, as the API reads them, cost about twice the CPU).
   *
   * With `written` the page leaves out the tasks whose folder the index has as written after `written.before` (ms
   * since the epoch; a task whose folder mtime it does not know is kept), except, with `written.keepHost`, those
   * whose owner is on that host or not known: up to `limit` rows are looked at, so a page may
   * hold fewer ids, even none, and still have a next one. The filter is on the table, not on that index: a page then
   * costs about half as much again as one without (a page that skipped to the first old row would hold the event
   * loop for as long as that took: 8 ms past 20,000 fresh queued rows on a loaded machine).
   */
  idsWithStatus(
    status: string,
    after: IdsPosition | undefined,
    limit: number,
    written?: WrittenFilter,
  ): { ids: string[]; next: IdsPosition | undefined } {
    type Row = { task_id: string; created_at: string | null; old?: number };
    const [withCreated, withoutCreated] =
      written === undefined
        ? [this.#idsWithCreated, this.#idsWithoutCreated]
        : [this.#idsWithCreatedWritten, this.#idsWithoutCreatedWritten];
    const before = written === undefined ? [] : [written.before, written.keepHost ?? null];
    let rows: Row[] = [];
    if (after === undefined || after.createdAt !== null)
      rows = withCreated.all(...before, status, after?.createdAt ?? '', after?.taskId ?? '', limit) as Row[];
    // then the rows with no created_at (a row value comparison is never true for them), in task id order
    if (rows.length < limit)
      rows = rows.concat(
        withoutCreated.all(
          ...before,
          status,
          after?.createdAt === null ? after.taskId : '',
          limit - rows.length,
        ) as Row[],
      );
    const last = rows.at(-1);
    return {
      ids: (written === undefined ? rows : rows.filter((row) => row.old === 1)).map((row) => row.task_id),
      next:
        rows.length < limit || last === undefined
          ? undefined
          : { createdAt: last.created_at, taskId: last.task_id },
    };
  }

  /** Folders indexed with no status (no metadata.json yet, or not readable): the interrupted-task check looks at them.
   *  With `written`, those whose folder the index has as written after it are left out (as above). */
  idsWithoutStatus(written?: WrittenFilter): string[] {
    const rows =
      written === undefined
        ? this.#db.prepare('SELECT task_id FROM tasks WHERE status IS NULL ORDER BY task_id').all()
        : this.#db
            .prepare(`SELECT task_id FROM tasks WHERE status IS NULL AND ${WRITTEN_BEFORE} ORDER BY task_id`)
            .all(written.before, written.keepHost ?? null);
    return rows.map((row) => (row as { task_id: string }).task_id);
  }

  /** A page of the indexed tasks after `after` (in task id order) with the folder mtime each was indexed at, for the
   *  refresher. */
  folderMtimesAfter(after: string, limit: number): [string, number | null][] {
    // as arrays: a page of objects, then of pairs made from them, cost twice the time
    return this.#folderMtimes.all(after, limit) as unknown as [string, number | null][];
  }

  /** The folder mtime a task was indexed at: null when its writer could not tell, undefined when it has no row. */
  folderMtime(taskId: string): number | null | undefined {
    const row = this.#folderMtime.get(taskId) as unknown as [number | null] | undefined;
    return row?.[0];
  }

  get(taskId: string): TaskRow | undefined {
    const row = this.#db.prepare(`SELECT ${COLUMNS} FROM tasks WHERE task_id = ?`).get(taskId);
    return row === undefined ? undefined : toRow(row as Record<string, unknown>);
  }

  search(query: TaskQuery): TaskPage {
    const want = query.limit + 1;
    const halves = searchSql(query);
    const run = (half: SearchHalf, limit: number) =>
      (this.#db.prepare(half.sql).all(...half.params, limit) as Record<string, unknown>[]).map(toRow);
    let rows: TaskRow[] = halves.withValue === undefined ? [] : run(halves.withValue, want);
    if (rows.length < want) rows = rows.concat(run(halves.withoutValue, want - rows.length));
    const more = rows.length > query.limit;
    const tasks = more ? rows.slice(0, query.limit) : rows;
    const last = tasks.at(-1);
    return {
      tasks,
      next_cursor:
        more && last
          ? encodeCursor((last[query.sort] as string | number | null) ?? null, last.task_id)
          : null,
    };
  }

  /** How many tasks match the filters, per status (the status filter itself is left out). */
  countByStatus(filters: TaskFilters): { counts: Record<string, number>; total: number } {
    return countByStatus(this.#db, filters);
  }

  /** Tasks, failures, cost and tokens of the tasks that match, per day, provider, agent or model. */
  aggregate(by: AggregateGroup, filters: TaskFilters): TaskAggregate[] {
    return aggregateTasks(this.#db, by, filters);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSynced(this.#db);
  }
}

interface MetadataStatements {
  metadata: StatementSync;
  both: StatementSync;
}

// a status's rank in SQL (statusRank): 0 for none, or for a value that is not a status
function rankSql(status: string): string {
  const cases = TASK_STATUSES.map((s) => `WHEN '${s}' THEN ${statusRank(s)}`).join(' ');
  return `(CASE ${status} ${cases} ELSE 0 END)`;
}

// true when the state (status, startedAt) is not older than the row's: the row knows no status, or this state's run
// started later (a resumed run: metadata-merge.ts), or it is the same run at the same or a later rank
function notOlderSql(status: string, startedAt: string): string {
  const rowStarted = "coalesce(tasks.started_at, '')";
  const started = `coalesce(${startedAt}, '')`;
  return `(${rankSql('tasks.status')} = 0 OR ${started} > ${rowStarted} OR (${started} = ${rowStarted} AND ${rankSql(status)} >= ${rankSql('tasks.status')}))`;
}

// `forward`: an older state than the row's leaves the row as it is (a writer's upsert); else it replaces it (the
// refresh's, which read the files)
function upsertMetadataSql(forward: boolean): string {
  return `
    INSERT INTO tasks (task_id, status, source, provider, assigned_agent, agent_type, model, created_at, started_at,
      completed_at, conversation_id, folder_mtime, owner_host)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (task_id) DO UPDATE SET status = excluded.status, source = excluded.source,
      provider = excluded.provider, assigned_agent = excluded.assigned_agent, agent_type = excluded.agent_type,
      model = excluded.model, created_at = excluded.created_at, started_at = excluded.started_at,
      completed_at = coalesce(excluded.completed_at, tasks.completed_at),
      conversation_id = coalesce(excluded.conversation_id, tasks.conversation_id),
      folder_mtime = excluded.folder_mtime, owner_host = excluded.owner_host
    ${forward ? `WHERE ${notOlderSql('excluded.status', 'excluded.started_at')}` : ''}`;
}

// Metadata and result at once (a task whose metadata and result land in one flush, as most short tasks do): one row
// write, where the metadata upsert and the result upsert in turn would write the new row and then update it,
// touching every index it changes twice. The same values as the two in turn: completed_at is the metadata's, else
// the row's, else the result's. With `forward`, metadata older than the row's changes nothing here (no row changed):
// the result is then recorded on its own.
function upsertBothSql(forward: boolean): string {
  return `
    INSERT INTO tasks (task_id, status, source, provider, assigned_agent, agent_type, model, created_at, started_at,
      completed_at, conversation_id, success, cost_usd, input_tokens, output_tokens, duration_seconds, folder_mtime,
      owner_host)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, coalesce(?10, ?17), ?11, ?12, ?13, ?14, ?15, ?16, ?18, ?19)
    ON CONFLICT (task_id) DO UPDATE SET status = ?2, source = ?3, provider = ?4, assigned_agent = ?5,
      agent_type = ?6, model = ?7, created_at = ?8, started_at = ?9,
      completed_at = coalesce(?10, tasks.completed_at, ?17),
      conversation_id = coalesce(?11, tasks.conversation_id), success = ?12, cost_usd = ?13,
      input_tokens = ?14, output_tokens = ?15, duration_seconds = ?16, folder_mtime = ?18, owner_host = ?19
    ${forward ? `WHERE ${notOlderSql('?2', '?9')}` : ''}`;
}

// the host of the process that holds the task (metadata owner), last of each metadata statement's placeholders: the
// interrupted-task check leaves a task of another host's process unread while its folder is fresh
function ownerHost(m: Partial<TaskMetadata>): string | null {
  const host = (m.owner as { host?: unknown } | null | undefined)?.host;
  return typeof host === 'string' ? host : null;
}

// the columns each statement takes after the task id, in the order of their placeholders
function metadataValues(m: Partial<TaskMetadata>): SQLInputValue[] {
  return [
    m.status ?? null,
    m.source ?? null,
    m.provider ?? null,
    m.assigned_agent ?? null,
    m.agent_type ?? null,
    m.model ?? null,
    m.created_at ?? null,
    m.started_at ?? null,
    m.completed_at ?? null,
    typeof m.conversation_id === 'string' ? m.conversation_id : null,
  ];
}

function resultValues(r: Partial<FinalResult>): SQLInputValue[] {
  return [
    typeof r.success === 'boolean' ? Number(r.success) : null,
    numberOrNull(r.metrics?.cost_usd),
    numberOrNull(r.metrics?.input_tokens),
    numberOrNull(r.metrics?.output_tokens),
    numberOrNull(r.metrics?.duration_seconds),
    r.completed_at ?? null,
  ];
}

/** one half of a search: its SQL (the row limit is the last parameter, bound by the caller) and its parameters */
export interface SearchHalf {
  sql: string;
  params: SQLInputValue[];
}

/**
 * The two queries of a search page. Keyset pagination on (sort value, task_id), tasks without a value last in either
 * order: two index-friendly queries instead of one ORDER BY (x IS NULL), x that would sort the whole table: the tasks
 * with a value (none when the cursor is already past them), then, if the page is not full, those without.
 */
export function searchSql(query: TaskQuery): { withValue: SearchHalf | undefined; withoutValue: SearchHalf } {
  const { where, params } = filterSql(query);
  const sort = query.sort;
  const direction = query.order === 'desc' ? 'DESC' : 'ASC';
  const beyond = query.order === 'desc' ? '<' : '>';
  const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const half = (extra: string[], extraParams: SQLInputValue[], order: string, from = 'tasks'): SearchHalf => {
    const all = [...where, ...extra];
    return {
      sql: `SELECT ${COLUMNS} FROM ${from} ${all.length ? `WHERE ${all.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ?`,
      params: [...params, ...extraParams],
    };
  };
  let withValue: SearchHalf | undefined;
  if (cursor === undefined) {
    withValue = half([`${sort} IS NOT NULL`], [], `${sort} ${direction}, task_id ${direction}`);
  } else if (cursor[0] !== null) {
    withValue = half(
      [`${sort} IS NOT NULL`, `(${sort}, task_id) ${beyond} (?, ?)`],
      [cursor[0], cursor[1]],
      `${sort} ${direction}, task_id ${direction}`,
    );
  }
  // the tasks without a late field's value are read in task id order from tasks_missing, as they were from the
  // field's own index before it became partial (the planner, with no statistics, may rather read a filter's index,
  // every queued task say, and sort them all to return the first page)
  const from = LATE_FIELDS.includes(sort) ? 'tasks INDEXED BY tasks_missing' : 'tasks';
  const withoutValue =
    cursor !== undefined && cursor[0] === null
      ? half([`${sort} IS NULL`, `task_id ${beyond} ?`], [cursor[1]], `task_id ${direction}`, from)
      : half([`${sort} IS NULL`], [], `task_id ${direction}`, from);
  return { withValue, withoutValue };
}

function toRow(raw: Record<string, unknown>): TaskRow {
  return { ...(raw as unknown as TaskRow), success: raw.success === null ? null : raw.success === 1 };
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function encodeCursor(value: string | number | null, taskId: string): string {
  return Buffer.from(JSON.stringify([value, taskId])).toString('base64url');
}

/** Throws on anything that is not a cursor this index made. */
export function decodeCursor(cursor: string): [string | number | null, string] {
  const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    !(parsed[0] === null || typeof parsed[0] === 'string' || typeof parsed[0] === 'number') ||
    typeof parsed[1] !== 'string'
  ) {
    throw new Error('not a cursor');
  }
  return [parsed[0], parsed[1]];
}

/** the line a process prints when it found the index corrupt (or not a file of its own) and started a new one */
export function corruptIndexLine(index: TaskIndex): string {
  return `task index ${index.path} was ${index.setAsideWhy}: moved to ${index.setAside}; a new one is built from the task folders`;
}

// the schema is made anew when its version is not this one (the rows come back from the files)
function checkSchema(db: DatabaseSync): void {
  const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  if (version !== SCHEMA_VERSION) {
    db.exec('DROP TABLE IF EXISTS tasks');
    createSchema(db);
    return;
  }
  addOwnerHost(db);
}

// owner_host came after version 4 without a new version: an index made before has the column added (no row is
// rewritten: theirs is null, which the interrupted-task check reads as unknown, until a write or a refresh fills
// it), rather than dropped and rebuilt from the files; a process of the version before writes on without it
function addOwnerHost(db: DatabaseSync): void {
  const has = () => db.prepare("SELECT 1 FROM pragma_table_info('tasks') WHERE name = 'owner_host'").get();
  if (has() !== undefined) return;
  // two processes opening the index at once: the second finds it added once it has the write lock
  db.exec('BEGIN IMMEDIATE');
  try {
    if (has() === undefined) db.exec('ALTER TABLE tasks ADD COLUMN owner_host TEXT');
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

// The sort fields a task has no value for until it runs and finishes. Their indexes hold only the rows with a value:
// a row without one sorts by task id (the second half of a keyset page), and task ids were random, so in a full index
// each new task's row went into a random page of each of them (with 30,000 rows indexed, a queued task's upsert cost
// about 150 µs of CPU, mostly the WAL pages it dirtied; 55 µs with these partial). The second halves read
// tasks_missing instead: one index, in task id order, of the rows missing any of these values.
const LATE_FIELDS: readonly string[] = SORT_FIELDS.filter((field) => field !== 'created_at');
const LATE_INDEX_NAMES: Record<string, string> = {
  started_at: 'tasks_started',
  completed_at: 'tasks_completed',
  cost_usd: 'tasks_cost',
  duration_seconds: 'tasks_duration',
  input_tokens: 'tasks_input_tokens',
  output_tokens: 'tasks_output_tokens',
};

function createSchema(db: DatabaseSync): void {
  const late = LATE_FIELDS.map(
    (field) =>
      `CREATE INDEX ${LATE_INDEX_NAMES[field]} ON tasks (${field}, task_id) WHERE ${field} IS NOT NULL;`,
  ).join('\n');
  db.exec(`
    CREATE TABLE tasks (
      task_id TEXT PRIMARY KEY, status TEXT, source TEXT, provider TEXT, assigned_agent TEXT, agent_type TEXT,
      model TEXT, created_at TEXT, started_at TEXT, completed_at TEXT, success INTEGER, cost_usd REAL,
      input_tokens INTEGER, output_tokens INTEGER, duration_seconds REAL, folder_mtime REAL, conversation_id TEXT,
      owner_host TEXT,
      total_tokens INTEGER GENERATED ALWAYS AS (coalesce(input_tokens, 0) + coalesce(output_tokens, 0)) VIRTUAL
    ) WITHOUT ROWID;
    -- one index per sort field (keyset pages walk them), and the common filters in front of created_at
    CREATE INDEX tasks_created ON tasks (created_at, task_id);
    ${late}
    CREATE INDEX tasks_missing ON tasks (task_id) WHERE ${LATE_FIELDS.map((field) => `${field} IS NULL`).join(' OR ')};
    -- min_tokens adds HAS_TOKENS to its query (a total of 1 or more needs a count), so it can read this index
    CREATE INDEX tasks_total_tokens ON tasks (total_tokens) WHERE ${HAS_TOKENS};
    CREATE INDEX tasks_status_created ON tasks (status, created_at, task_id);
    CREATE INDEX tasks_provider_created ON tasks (provider, created_at, task_id);
    CREATE INDEX tasks_agent_created ON tasks (assigned_agent, created_at, task_id);
    CREATE INDEX tasks_conversation_created ON tasks (conversation_id, created_at, task_id);
    PRAGMA user_version = ${SCHEMA_VERSION};`);
}
