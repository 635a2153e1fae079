// SharedBufferPool: the memory a writer encodes its lines into for the writer thread, kept from one flush to the next.
// A new buffer per flush was fresh memory every time (the thread freed the one it was given only at its next garbage
// collection), and on a machine where the first touch of a 4 KB page is costly that was a page fault per 4 KB of lines.
// Shared, not transferred: the writer keeps the bytes while the thread writes them, so a flush sent again after a thread
// stopped is sent from the same bytes.

export class SharedBufferPool {
  readonly #size: number;
  readonly #keep: number;
  readonly #free: SharedArrayBuffer[] = [];

  /** `size`: the bytes of a pooled buffer; `keep`: how many idle buffers are kept (the rest are let go) */
  constructor(size: number, keep: number) {
    this.#size = size;
    this.#keep = keep;
  }

  /** idle buffers held */
  get idle(): number {
    return this.#free.length;
  }

  /** A buffer of at least `bytes`: a pooled one of the pool's size when that is enough, otherwise one of its own. */
  take(bytes: number): SharedArrayBuffer {
    if (bytes > this.#size) return new SharedArrayBuffer(bytes);
    return this.#free.pop() ?? new SharedArrayBuffer(this.#size);
  }

  /** Takes buffers back once nothing reads or writes them any more; past `keep`, and those not of its size, are let go. */
  give(buffers: readonly SharedArrayBuffer[]): void {
    for (const buffer of buffers) {
      if (this.#free.length >= this.#keep) return;
      if (buffer.byteLength === this.#size && !this.#free.includes(buffer)) this.#free.push(buffer);
    }
  }
}
