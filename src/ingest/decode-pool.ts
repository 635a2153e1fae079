// Decoding jobs for large bodies run in one worker thread; small bodies decode on the spot (a worker round trip
// would cost more than they do). Either way the caller hears the decompressed size first and may turn the body away
// before it is parsed. A worker that dies fails its jobs and is replaced on the next one.
import { Worker } from 'node:worker_threads';
import { moduleBeside } from '../contract/package-files.ts';
import { BUSY, type DecodeJob, type DecodeOutcome, inflateJob } from './decode-job.ts';
import { decodeExport } from './otlp-decode.ts';

/** bodies up to this size (compressed: an eighth of it, since they may expand) decode on the event loop */
const INLINE_BYTES = 64 * 1024;

/** told the decompressed size; false turns the body away (answered BUSY) */
export type Admit = (size: number) => boolean;

interface Pending {
  admit: Admit;
  resolve: (outcome: DecodeOutcome) => void;
  reject: (error: Error) => void;
}

type Reply = { id: number; size: number } | { id: number; outcome: DecodeOutcome };

export class DecodePool {
  #worker: Worker | undefined;
  #nextId = 0;
  readonly #pending = new Map<number, Pending>();
  #closed = false;

  decode(job: DecodeJob, admit: Admit = () => true): Promise<DecodeOutcome> {
    const inline = job.coding === 'identity' ? INLINE_BYTES : INLINE_BYTES / 8;
    if (job.body.byteLength <= inline) return Promise.resolve(decodeHere(job, admit));
    if (this.#closed) return Promise.reject(new Error('the decode pool is closed'));
    const worker = this.#ensureWorker();
    const id = this.#nextId++;
    return new Promise<DecodeOutcome>((resolve, reject) => {
      this.#pending.set(id, { admit, resolve, reject });
      // a copy the worker owns: the request's buffer may share memory with other pooled buffers
      const body = new Uint8Array(job.body);
      worker.postMessage({ id, job: { ...job, body } }, [body.buffer]);
    });
  }

  /** the decode worker's V8 heap (used and total bytes), when it runs: its share of the process's memory */
  async heap(): Promise<{ used: number; total: number } | undefined> {
    const worker = this.#worker;
    if (worker === undefined) return undefined;
    try {
      const stats = await worker.getHeapStatistics();
      return { used: stats.used_heap_size, total: stats.total_heap_size };
    } catch {
      return undefined; // starting or stopping: no heap to report
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker !== undefined) await worker.terminate();
  }

  #ensureWorker(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    // a bounded heap: garbage from one large body is collected before the next, instead of growing the process
    const worker = new Worker(moduleBeside(import.meta.url, 'decode-worker'), {
      resourceLimits: { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 16 },
    });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) return;
      if ('size' in reply) {
        const admitted = pending.admit(reply.size);
        worker.postMessage({ id: reply.id, admit: admitted });
        if (admitted) return; // the outcome follows
        this.#pending.delete(reply.id);
        return pending.resolve(BUSY);
      }
      this.#pending.delete(reply.id);
      pending.resolve(reply.outcome);
    });
    const fail = (error: Error) => {
      if (this.#worker === worker) this.#worker = undefined;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the decode worker stopped (exit code ${code})`)));
    this.#worker = worker;
    return worker;
  }
}

function decodeHere(job: DecodeJob, admit: Admit): DecodeOutcome {
  const bytes = inflateJob(job);
  if (!(bytes instanceof Uint8Array)) return bytes;
  if (!admit(bytes.byteLength)) return BUSY;
  return decodeExport(job.signal, job.encoding, bytes);
}
