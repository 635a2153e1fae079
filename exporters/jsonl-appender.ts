// JsonlAppender: whole lines appended to JSONL files, in chunks of at most 1 MiB, each chunk one write(2) on an
// O_APPEND descriptor so concurrent writers never interleave inside a line.
import type { FileSystem } from './file-system.ts';

const MAX_CHUNK = 1 << 20;
const TORN_LIMIT = 10_000;
// a UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair: 4 bytes for 2 units; a lone one: 3)
const MAX_BYTES_PER_UNIT = 3;
const NEWLINE = Buffer.from('\n');

/** The chunks with a newline at the start of the first one (written with it in one write(2), as any chunk is). */
export function onFreshLine(chunks: readonly Uint8Array[]): readonly Uint8Array[] {
  return [Buffer.concat([NEWLINE, chunks[0]!]), ...chunks.slice(1)];
}

/**
 * The lines, each followed by a newline, as UTF-8 in chunks of at most 1 MiB (a longer line is a chunk of its own).
 * Each line is encoded straight into its chunk: concatenating the lines into one string first builds a rope that V8
 * must flatten into a large temporary string, which cost several times more CPU than the encoding itself. The bytes are those of Buffer.from(line) (lone surrogates as U+FFFD).
 */
export function encodeLines(lines: readonly string[]): Buffer[] {
  const chunks: Buffer[] = [];
  let bound = 0;
  for (let i = 0; i < lines.length; i++) bound += lines[i]!.length * MAX_BYTES_PER_UNIT + 1;
  let chunk = Buffer.allocUnsafe(Math.min(bound, MAX_CHUNK));
  let used = 0;
  // indexed loops, as in encodeLineLists (for-of allocated an iterator result per line)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const most = line.length * MAX_BYTES_PER_UNIT + 1;
    if (used + most > chunk.length) {
      if (used > 0) chunks.push(chunk.subarray(0, used));
      used = 0;
      if (most > MAX_CHUNK) {
        const own = Buffer.allocUnsafe(most);
        const length = own.write(line);
        own[length] = 0x0a;
        chunks.push(own.subarray(0, length + 1));
        bound -= most;
        chunk = Buffer.allocUnsafe(Math.min(bound, MAX_CHUNK));
        continue;
      }
      chunk = Buffer.allocUnsafe(Math.min(bound, MAX_CHUNK));
    }
    used += chunk.write(line, used);
    chunk[used++] = 0x0a;
    bound -= most;
  }
  if (used > 0) chunks.push(chunk.subarray(0, used));
  return chunks;
}

// a buffer of exactly `bytes`, not from Buffer's shared pool (transferring one would take other buffers' bytes with it)
const ownBuffer = (bytes: number): ArrayBuffer => Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer;

/**
 * The lines of several files encoded for another thread: each list's lines, each followed by a newline, as chunks of
 * whole lines of at most 1 MiB (a longer line is a chunk of its own), like encodeLines; the chunks are views into a
 * few buffers of their own (not Buffer's shared pool), listed in `buffers` so they can be transferred, not copied.
 */
export function encodeLineLists(lists: readonly (readonly string[])[]): {
  chunks: Uint8Array[][];
  buffers: ArrayBuffer[];
} {
  const encoder = new LineListsEncoder(lists);
  encoder.encode(Number.POSITIVE_INFINITY);
  return encoder;
}

/**
 * encodeLineLists a part at a time: each encode() call encodes whole lines until about `units` UTF-16 code units are
 * done, so a caller can let its event loop turn between the parts of a large flush (20 MB of lines took ~80 ms in one
 * go under load). The chunks are those encodeLineLists gives, whatever the parts. `take` gives the memory: a buffer of
 * at least the bytes asked for, all of it used (a pool's shared buffers); by default a new buffer of that size.
 */
export class LineListsEncoder<B extends ArrayBuffer | SharedArrayBuffer = ArrayBuffer> {
  /** per list, its chunks (complete once encode() has returned true) */
  readonly chunks: Uint8Array[][] = [];
  /** the buffers the chunks are views into, in the order they were taken */
  readonly buffers: B[] = [];
  readonly #lists: readonly (readonly string[])[];
  readonly #take: (bytes: number) => B;
  /** the most bytes the lines not yet encoded can take */
  #bound = 0;
  #buffer: Buffer | undefined;
  #used = 0;
  /** where the current list's bytes begin in #buffer */
  #start = 0;
  /** the list and line encoded next */
  #list = 0;
  #line = 0;

  constructor(lists: readonly (readonly string[])[], take?: (bytes: number) => B) {
    this.#lists = lists;
    this.#take = take ?? (ownBuffer as (bytes: number) => B);
    // indexed loops: for-of here allocated an iterator result per line (the sampling heap profile's `next`)
    for (let l = 0; l < lists.length; l++) {
      const lines = lists[l]!;
      for (let i = 0; i < lines.length; i++) this.#bound += lines[i]!.length * MAX_BYTES_PER_UNIT + 1;
    }
  }

  /** Encodes lines (at least one when any are left) until about `units` UTF-16 units are done; true once all are. */
  encode(units: number): boolean {
    const lists = this.#lists;
    let budget = units;
    let first = true;
    while (this.#list < lists.length) {
      const lines = lists[this.#list]!;
      if (this.chunks.length === this.#list) this.chunks.push([]);
      const own = this.chunks[this.#list]!;
      while (this.#line < lines.length) {
        if (budget <= 0 && !first) return false;
        first = false;
        const line = lines[this.#line++]!;
        budget -= line.length;
        const most = line.length * MAX_BYTES_PER_UNIT + 1;
        let buffer = this.#buffer;
        if (buffer === undefined || this.#used + most > buffer.length) {
          if (buffer !== undefined && this.#used > this.#start)
            own.push(buffer.subarray(this.#start, this.#used));
          const memory = this.#take(Math.max(most, Math.min(this.#bound, MAX_CHUNK)));
          buffer = Buffer.from(memory);
          this.#buffer = buffer;
          this.buffers.push(memory);
          this.#used = 0;
          this.#start = 0;
        }
        this.#used += buffer.write(line, this.#used);
        buffer[this.#used++] = 0x0a;
        this.#bound -= most;
        if (most > MAX_CHUNK) {
          // a line longer than a chunk is written alone: nothing else goes into its buffer
          own.push(buffer.subarray(this.#start, this.#used));
          this.#buffer = undefined;
          this.#used = 0;
          this.#start = 0;
        }
      }
      if (this.#buffer !== undefined && this.#used > this.#start)
        own.push(this.#buffer.subarray(this.#start, this.#used));
      this.#start = this.#used;
      this.#list++;
      this.#line = 0;
    }
    return true;
  }
}

export class JsonlAppender {
  readonly #fs: FileSystem;
  // files whose last append may have stopped mid-line: the next append starts on a fresh line (FileSystem.append's
  // `torn`: a newline first unless the file already ends with one)
  readonly #torn = new Set<string>();

  constructor(fs: FileSystem) {
    this.#fs = fs;
  }

  /** The next append to `key` starts on a fresh line: an append to it may have been cut short elsewhere. */
  markTorn(key: string): void {
    if (this.#torn.size < TORN_LIMIT) this.#torn.add(key);
  }

  /** `fresh`: the file's folder was just created (see FileSystem.append). `key` names the file for the torn-line memory when `path` is not stable (a /proc/self/fd/N/... path). */
  append(
    path: string,
    lines: readonly string[],
    options: { sync: boolean; key?: string; fresh?: boolean },
  ): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    let chunks: Buffer[];
    try {
      chunks = encodeLines(lines);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#write(path, options.key ?? path, chunks, options);
  }

  /** The same as append, for lines already encoded (encodeLineLists). */
  appendEncoded(
    path: string,
    encoded: readonly Uint8Array[],
    options: { sync: boolean; key?: string; fresh?: boolean },
  ): Promise<void> {
    if (encoded.length === 0) return Promise.resolve();
    // written as they are (write(2) takes any byte view): no Buffer made per chunk
    return this.#write(path, options.key ?? path, encoded, options);
  }

  async #write(
    path: string,
    key: string,
    chunks: readonly Uint8Array[],
    options: { sync: boolean; fresh?: boolean },
  ): Promise<void> {
    try {
      await this.#fs.append(path, chunks, {
        sync: options.sync,
        fresh: options.fresh === true,
        // (the set is empty but after a failure: no key is hashed then)
        torn: this.#torn.size > 0 && this.#torn.has(key),
      });
    } catch (error) {
      // part of a line may have reached the file: start the next append on a fresh line
      if (this.#torn.size < TORN_LIMIT) this.#torn.add(key);
      throw error;
    }
    if (this.#torn.size > 0) this.#torn.delete(key);
  }
}
