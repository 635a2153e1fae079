// DeliveryStore: which webhook deliveries already became tasks, so a redelivery (GitHub keeps the delivery id, Slack
// retries keep the event id) answers with the existing task instead of starting another. Kept in a SQLite file of its
// own next to the task index (`.deliveries.sqlite`), so it survives restarts, is shared by every web process, and
// `tasklogs reindex`, which rebuilds the index from the files, never touches it. Delivery ids come from unsigned
// headers, so a digest of the signed body is claimed too, within a window: a new header on the same signed body is
// the same task.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { TaskLogsError } from '../contract/errors.ts';
import { makeFoldersSync } from '../contract/make-folders.ts';
import { closeSynced, openUnsynced } from '../store/sqlite.ts';

/** The deliveries database beside the task index. */
export function deliveriesPathFor(indexPath: string): string {
  return indexPath === ':memory:' ? ':memory:' : join(dirname(indexPath), '.deliveries.sqlite');
}

/** not claimed: the task that holds it, and when it was claimed (ms since 1970) */
export type Claim = { claimed: true } | { claimed: false; taskId: string; claimedAtMs: number };

export class DeliveryStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #find: StatementSync;
  readonly #release: StatementSync;
  readonly #expireBody: StatementSync;
  readonly #insertBody: StatementSync;
  readonly #findBody: StatementSync;
  readonly #releaseBody: StatementSync;
  readonly #pruneBodies: StatementSync;
  readonly #forgetTask: StatementSync;
  readonly #forgetTaskBody: StatementSync;
  #claimsSincePrune = 0;
  /** set when the file was corrupt at open: where it was moved */
  readonly setAside: string | undefined;
  /** what was wrong with it then */
  readonly setAsideWhy: string | undefined;

  /** `migrateFrom`: the task index file, which held the deliveries table before it had a file of its own. */
  constructor(path: string, options: { migrateFrom?: string } = {}) {
    if (path !== ':memory:') makeFoldersSync(dirname(path));
    // written without fsync (see sqlite.ts): a power cut can at worst forget recent claims (as NORMAL could), or leave
    // the file corrupt, when it is moved aside and the claims start over; a redelivery then makes a second task
    const opened = openUnsynced(path, { timeout: 2000 }, (db) =>
      db.exec(`
        CREATE TABLE IF NOT EXISTS deliveries (
          provider TEXT NOT NULL, delivery_id TEXT NOT NULL, task_id TEXT NOT NULL, created_at TEXT NOT NULL,
          PRIMARY KEY (provider, delivery_id)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS body_digests (
          provider TEXT NOT NULL, digest TEXT NOT NULL, task_id TEXT NOT NULL, created_ms INTEGER NOT NULL,
          PRIMARY KEY (provider, digest)
        ) WITHOUT ROWID;`),
    );
    this.#db = opened.db;
    this.setAside = opened.setAside;
    this.setAsideWhy = opened.why;
    if (options.migrateFrom !== undefined) this.#migrate(options.migrateFrom);
    this.#insert = this.#db.prepare(
      'INSERT INTO deliveries (provider, delivery_id, task_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    this.#find = this.#db.prepare(
      'SELECT task_id, created_at FROM deliveries WHERE provider = ? AND delivery_id = ?',
    );
    this.#release = this.#db.prepare(
      'DELETE FROM deliveries WHERE provider = ? AND delivery_id = ? AND task_id = ?',
    );
    this.#expireBody = this.#db.prepare(
      'DELETE FROM body_digests WHERE provider = ? AND digest = ? AND created_ms < ?',
    );
    this.#insertBody = this.#db.prepare(
      'INSERT INTO body_digests (provider, digest, task_id, created_ms) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    this.#findBody = this.#db.prepare(
      'SELECT task_id, created_ms FROM body_digests WHERE provider = ? AND digest = ?',
    );
    this.#forgetTask = this.#db.prepare('DELETE FROM deliveries WHERE provider = ? AND task_id = ?');
    this.#forgetTaskBody = this.#db.prepare('DELETE FROM body_digests WHERE provider = ? AND task_id = ?');
    this.#releaseBody = this.#db.prepare(
      'DELETE FROM body_digests WHERE provider = ? AND digest = ? AND task_id = ?',
    );
    this.#pruneBodies = this.#db.prepare('DELETE FROM body_digests WHERE created_ms < ?');
  }

  /**
   * Claims a signed body (its digest) for a new task, atomically, within a window: the same body again inside the
   * window gets the first task's id, whatever its unsigned headers say.
   */
  claimBody(provider: string, digest: string, taskId: string, windowMs: number): Claim {
    const now = Date.now();
    if (++this.#claimsSincePrune >= 1000) {
      this.#claimsSincePrune = 0;
      this.#pruneBodies.run(now - windowMs); // the table holds about one window of deliveries
    }
    this.#expireBody.run(provider, digest, now - windowMs);
    const result = this.#insertBody.run(provider, digest, taskId, now);
    if (result.changes === 1) return { claimed: true };
    const row = this.#findBody.get(provider, digest) as { task_id: string; created_ms: number } | undefined;
    return row === undefined
      ? this.claimBody(provider, digest, taskId, windowMs)
      : { claimed: false, taskId: row.task_id, claimedAtMs: Number(row.created_ms) };
  }

  releaseBody(provider: string, digest: string, taskId: string): void {
    this.#releaseBody.run(provider, digest, taskId);
  }

  // copies the claims of the old table once (a claim released since must not come back on the next start)
  #migrate(oldPath: string): void {
    if (oldPath === ':memory:' || !existsSync(oldPath)) return;
    this.#db.exec('CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY) WITHOUT ROWID');
    if (this.#db.prepare("SELECT 1 FROM migrations WHERE name = 'index_deliveries'").get() !== undefined)
      return;
    this.#db.prepare('ATTACH DATABASE ? AS old').run(oldPath);
    try {
      const has = this.#db
        .prepare("SELECT 1 FROM old.sqlite_master WHERE type = 'table' AND name = 'deliveries'")
        .get();
      this.#db.exec('BEGIN');
      if (has !== undefined) {
        this.#db.exec(`INSERT INTO main.deliveries (provider, delivery_id, task_id, created_at)
          SELECT provider, delivery_id, task_id, created_at FROM old.deliveries WHERE true ON CONFLICT DO NOTHING`);
      }
      this.#db.exec("INSERT INTO migrations (name) VALUES ('index_deliveries'); COMMIT");
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    } finally {
      this.#db.exec('DETACH DATABASE old');
    }
  }

  /**
   * Claims a delivery id and, with a digest, its signed body for a new task, in one transaction: both are kept, or
   * neither (a full disk midway must not leave a delivery id claimed by a task that never existed, or its
   * redelivery would be answered as a duplicate of nothing). A SQLite failure (disk full, read-only, I/O) throws
   * STORAGE_UNAVAILABLE, with nothing claimed.
   */
  claimNew(
    provider: string,
    deliveryId: string,
    body: { digest: string; windowMs: number } | undefined,
    taskId: string,
    /** a task whose claims are given up first, in the same transaction: one that was claimed and never written */
    lostTaskId?: string,
  ): Claim {
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      if (lostTaskId !== undefined) {
        this.#forgetTask.run(provider, lostTaskId);
        this.#forgetTaskBody.run(provider, lostTaskId);
      }
      const delivery = this.claim(provider, deliveryId, taskId);
      const claim =
        delivery.claimed && body !== undefined
          ? this.claimBody(provider, body.digest, taskId, body.windowMs)
          : delivery;
      this.#db.exec(claim.claimed ? 'COMMIT' : 'ROLLBACK');
      return claim;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw new TaskLogsError(
        'STORAGE_UNAVAILABLE',
        `the webhook deliveries database cannot be written (${sqliteReason(error)})`,
        { cause: error },
      );
    }
  }

  /** Claims a delivery for a new task, atomically: a second claim of the same delivery gets the first task's id. */
  claim(provider: string, deliveryId: string, taskId: string): Claim {
    const result = this.#insert.run(provider, deliveryId, taskId, new Date().toISOString());
    if (result.changes === 1) return { claimed: true };
    const row = this.#find.get(provider, deliveryId) as { task_id: string; created_at: string } | undefined;
    return row === undefined
      ? this.claim(provider, deliveryId, taskId)
      : { claimed: false, taskId: row.task_id, claimedAtMs: Date.parse(row.created_at) };
  }

  /** Gives a claim back when the task could not be created, so a redelivery is processed. */
  release(provider: string, deliveryId: string, taskId: string): void {
    this.#release.run(provider, deliveryId, taskId);
  }

  /** Forgets the deliveries claimed before `cutoff` (their tasks are past retention); returns how many. */
  forgetBefore(cutoff: Date): number {
    const result = this.#db.prepare('DELETE FROM deliveries WHERE created_at < ?').run(cutoff.toISOString());
    return Number(result.changes);
  }

  close(): void {
    closeSynced(this.#db);
  }
}

function sqliteReason(error: unknown): string {
  const errstr = (error as { errstr?: unknown }).errstr;
  return typeof errstr === 'string' ? errstr : String((error as Error).message ?? error).slice(0, 200);
}
