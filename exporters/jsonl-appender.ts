// JsonlAppender: whole lines appended to JSONL files, in chunks of at most 1 MiB, each chunk one write(2) on an
// O_APPEND descriptor so concurrent writers never interleave inside a line.
import type { FileSystem } from './file-system.ts';

const MAX_CHUNK = 1 << 20;
const TORN_LIMIT = 10_000;

export class JsonlAppender {
  readonly #fs: FileSystem;
  // files whose last append may have stopped mid-line: the next append starts with a newline
  readonly #torn = new Set<string>();

  constructor(fs: FileSystem) {
    this.#fs = fs;
  }

  /** `fresh`: the file's folder was just created (see FileSystem.append). `key` names the file for the torn-line memory when `path` is not stable (a /proc/self/fd/N/... path). */
  async append(
    path: string,
    lines: readonly string[],
    options: { sync: boolean; key?: string; fresh?: boolean },
  ): Promise<void> {
    if (lines.length === 0) return;
    const key = options.key ?? path;
    const chunks: Buffer[] = [];
    let current = this.#torn.has(key) ? '\n' : '';
    for (const line of lines) {
      if (current.length > 0 && current.length + line.length + 1 > MAX_CHUNK) {
        chunks.push(Buffer.from(current));
        current = '';
      }
      current += `${line}\n`;
    }
    chunks.push(Buffer.from(current));
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
