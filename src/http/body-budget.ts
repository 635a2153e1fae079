// Bytes of request bodies held in memory at once by the requests that share one budget. Without it, every
// connection may hold a body up to the limit while the sender takes its time, so a few dozen unauthenticated
// connections to a webhook receiver held a gigabyte. Past the budget a body is thrown away as it arrives and answered
// 503 with Retry-After; a request alone always fits, so one body up to its own limit is never refused for this.
export class BodyBudget {
  readonly #max: number;
  #held = 0;

  constructor(max: number) {
    this.#max = max;
  }

  /** Takes `bytes` more for a request that holds `mine` already; false (nothing taken) when they do not fit. */
  take(mine: number, bytes: number): boolean {
    if (this.#held + bytes > this.#max && this.#held !== mine) return false;
    this.#held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#held -= bytes;
  }

  get held(): number {
    return this.#held;
  }
}
