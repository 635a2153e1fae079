// Which spans and log records each task has already taken, so a Collector's retried batch (or the same item from
// two paths) is written once. Bounded: past the budget the tasks touched longest ago are forgotten first.

export interface SeenItemsOptions {
  /** item identities remembered in all, across tasks */
  maxItems?: number;
}

interface TaskEntry {
  readonly keys: Set<string>;
  /** when the task last took an item (a counter, not a clock) */
  touched: number;
}

export class SeenItems {
  readonly #byTask = new Map<string, TaskEntry>();
  readonly #maxItems: number;
  #size = 0;
  #tick = 0;

  constructor(options: SeenItemsOptions = {}) {
    this.#maxItems = options.maxItems ?? 200_000;
  }

  /** Remembers the identity; false when the task had it already. */
  add(taskId: string, key: string): boolean {
    let entry = this.#byTask.get(taskId);
    if (entry === undefined) {
      entry = { keys: new Set(), touched: 0 };
      this.#byTask.set(taskId, entry);
    }
    entry.touched = ++this.#tick;
    if (entry.keys.has(key)) return false;
    entry.keys.add(key);
    this.#size++;
    if (this.#size > this.#maxItems) this.#evict(taskId);
    return true;
  }

  /** Forgets identities whose items were not written after all, so a retry writes them. */
  forget(taskId: string, key: string): void {
    if (this.#byTask.get(taskId)?.keys.delete(key)) this.#size--;
  }

  get size(): number {
    return this.#size;
  }

  // Down to a tenth below the budget at once, so a flood at the budget sorts the tasks once per many items, not
  // once per item. The task taking an item now is kept; if it alone is over, its oldest identities go first.
  #evict(keep: string): void {
    const target = this.#maxItems - Math.max(1, Math.floor(this.#maxItems / 10));
    const oldestFirst = [...this.#byTask].sort((a, b) => a[1].touched - b[1].touched);
    for (const [taskId, entry] of oldestFirst) {
      if (this.#size <= target) return;
      if (taskId === keep) continue;
      this.#byTask.delete(taskId);
      this.#size -= entry.keys.size;
    }
    const own = this.#byTask.get(keep)!.keys;
    for (const key of own) {
      if (this.#size <= target) return;
      own.delete(key); // Set order is insertion order: the oldest first
      this.#size--;
    }
  }
}
