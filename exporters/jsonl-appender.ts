// JsonlAppender: whole lines appended to JSONL files, in chunks of at most 1 MiB, each chunk one write(2) on an
// O_APPEND descriptor so concurrent writers never interleave inside a line.
import type { FileSystem } from './file-system.ts';

const MAX_CHUNK = 1 << 20;
const TORN_LIMIT = 10_000;
// a UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair: 4 bytes for 2 units; a lone one: 3)
const MAX_BYTES_PER_UNIT = 3;

/**
 * The lines, each followed by a newline (and a newline first when `torn`), as UTF-8 in chunks of at most 1 MiB (a
 * longer line is a chunk of its own). Each line is encoded straight into its chunk: concatenating the lines into one
 * string first builds a rope that V8 must flatten into a large temporary string, which cost several times more CPU
 * than the encoding itself. The bytes are those of Buffer.from(line) (lone surrogates as U+FFFD).
 */
export function encodeLines(lines: readonly string[], torn: boolean): Buffer[] {
  const chunks: Buffer[] = [];
  let bound = torn ? 1 : 0;
  for (const line of lines) bound += line.length * MAX_BYTES_PER_UNIT + 1;
  let chunk = Buffer.allocUnsafe(Math.min(bound, MAX_CHUNK));
  let used = 0;
  if (torn) chunk[used++] = 0x0a;
  for (const line of lines) {
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

export class JsonlAppender {
  readonly #fs: FileSystem;
  // files whose last append may have stopped mid-line: the next append starts with a newline
  readonly #torn = new Set<string>();

  constructor(fs: FileSystem) {
    this.#fs = fs;
  }

  /** The next append to `key` starts on a fresh line: an append to it may have been cut short elsewhere. */
  markTorn(key: string): void {
    if (this.#torn.size < TORN_LIMIT) this.#torn.add(key);
  }

  /** `fresh`: the file's folder was just created (see FileSystem.append). `key` names the file for the torn-line memory when `path` is not stable (a /proc/self/fd/N/... path). */
  async append(
    path: string,
    lines: readonly string[],
    options: { sync: boolean; key?: string; fresh?: boolean },
  ): Promise<void> {
    if (lines.length === 0) return;
    const key = options.key ?? path;
    const chunks = encodeLines(lines, this.#torn.has(key));
    try {
      await this.#fs.append(path, chunks, { sync: options.sync, fresh: options.fresh === true });
    } catch (error) {
      // part of a line may have reached the file: start the next append on a fresh line
      if (this.#torn.size < TORN_LIMIT) this.#torn.add(key);
      throw error;
    }
    this.#torn.delete(key);
  }
}
