// MetadataFile: metadata.json written merged with what is on disk. The first write from a process creates it without
// the lock when nobody has yet (an atomic create-if-absent); every later write is a read-modify-write under the lock
// file, so two processes updating one task lose nothing.
import { TASK_FILES, type TaskMetadata } from '../src/contract/task-files.ts';
import { writeJsonAtomic } from './atomic-json.ts';
import { withFileLock } from './file-lock.ts';
import type { FileSystem } from './file-system.ts';
import { completeMetadata, type MetadataPatch, mergeMetadata } from './metadata-merge.ts';

const KNOWN_LIMIT = 50_000;

export class MetadataFile {
  readonly #fs: FileSystem;
  readonly #durable: boolean;
  readonly #onUnreadable: (path: string) => void;
  // tasks whose metadata.json exists already: their updates take the lock
  readonly #exists = new Set<string>();

  constructor(options: { fs: FileSystem; durable: boolean; onUnreadable: (path: string) => void }) {
    this.#fs = options.fs;
    this.#durable = options.durable;
    this.#onUnreadable = options.onUnreadable;
  }

  /** Writes the task's metadata.json with the patch merged in, and returns what it wrote. */
  async write(taskId: string, dir: string, patch: MetadataPatch): Promise<TaskMetadata> {
    const path = `${dir}/${TASK_FILES.metadata}`; // dir is a task folder's normal path (see TaskFolderWriter)
    const now = new Date().toISOString();
    if (!this.#exists.has(taskId)) {
      const file = completeMetadata(taskId, patch, now);
      try {
        await writeJsonAtomic(this.#fs, path, file, { durable: this.#durable, onlyIfAbsent: true });
        this.#remember(taskId);
        return file;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        this.#remember(taskId);
      }
    }
    return withFileLock(this.#fs, `${path}.lock`, async () => {
      const existing = await this.#read(path);
      const file = completeMetadata(taskId, mergeMetadata(existing, patch), now);
      await writeJsonAtomic(this.#fs, path, file, { durable: this.#durable });
      return file;
    });
  }

  /** The first metadata.json of a task folder this writer is making where no other writer can see it yet (see
   * TaskFolderWriter): the patch completed, to be created as is. Once the folder is in place, call `created`. */
  firstFile(taskId: string, patch: MetadataPatch): TaskMetadata {
    return completeMetadata(taskId, patch, new Date().toISOString());
  }

  /** The task's metadata.json exists now: later writes merge under the lock. */
  created(taskId: string): void {
    this.#remember(taskId);
  }

  #remember(taskId: string): void {
    if (this.#exists.size >= KNOWN_LIMIT) this.#exists.clear();
    this.#exists.add(taskId);
  }

  async #read(path: string): Promise<MetadataPatch | undefined> {
    let text: Buffer;
    try {
      text = await this.#fs.readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const parsed: unknown = JSON.parse(text.toString('utf8'));
      return parsed !== null && typeof parsed === 'object' ? (parsed as MetadataPatch) : undefined;
    } catch {
      this.#onUnreadable(path); // rewritten from the telemetry: the best that can be done with a broken file
      return undefined;
    }
  }
}
