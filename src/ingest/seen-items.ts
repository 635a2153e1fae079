// Which spans and log records each task has already taken, so a Collector's retried batch (or the same item from
// two paths) is written once. Bounded: the tasks touched longest ago are forgotten first.

export interface SeenItemsOptions {
  /** item identities remembered in all, across tasks */
  maxItems?: number;
}

export class SeenItems {
  // task id -> identities; Map order is least recently touched first
  readonly #byTask = new Map<string, Set<string>>();
  readonly #maxItems: number;
  #size = 0;
  #lastTask: string | undefined;
  #lastKeys: Set<string> | undefined;

  constructor(options: SeenItemsOptions = {}) {
    this.#maxItems = options.maxItems ?? 200_000;
  }

  /** Remembers the identity; false when the task had it already. */
  add(taskId: string, key: string): boolean {
    let keys: Set<string> | undefined;
    if (taskId === this.#lastTask)
      keys = this.#lastKeys!; // already the most recently touched (a batch of one task)
    else {
      keys = this.#byTask.get(taskId);
      if (keys === undefined) keys = new Set();
      else this.#byTask.delete(taskId);
      this.#byTask.set(taskId, keys); // now the most recently touched
      this.#lastTask = taskId;
      this.#lastKeys = keys;
    }
    if (keys.has(key)) return false;
    keys.add(key);
    this.#size++;
    this.#evict(taskId);
    return true;
  }

  /** Forgets identities whose items were not written after all, so a retry writes them. */
  forget(taskId: string, key: string): void {
    const keys = this.#byTask.get(taskId);
    if (keys?.delete(key)) this.#size--;
  }

  get size(): number {
    return this.#size;
  }

  #evict(keep: string): void {
    for (const [taskId, keys] of this.#byTask) {
      if (this.#size <= this.#maxItems) return;
      if (taskId === keep) {
        // one task alone is over the budget: forget its oldest identities (Set order is insertion order)
        for (const key of keys) {
          if (this.#size <= this.#maxItems) return;
          keys.delete(key);
          this.#size--;
        }
        return;
      }
      this.#byTask.delete(taskId);
      this.#size -= keys.size;
      if (taskId === this.#lastTask) this.#lastTask = this.#lastKeys = undefined;
    }
  }
}
