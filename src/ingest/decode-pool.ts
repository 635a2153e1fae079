// Decoding jobs for large bodies run in one worker thread, one at a time; small bodies decode on the spot (a worker
// round trip would cost more than they do). A worker that dies fails its jobs and is replaced on the next one.
import { Worker } from 'node:worker_threads';
import { moduleBeside } from '../contract/package-files.ts';
import { type DecodeJob, type DecodeOutcome, runDecodeJob } from './decode-job.ts';

/** bodies up to this size (compressed: an eighth of it, since they may expand) decode on the event loop */
const INLINE_BYTES = 64 * 1024;

interface Pending {
  resolve: (outcome: DecodeOutcome) => void;
  reject: (error: Error) => void;
}

export class DecodePool {
  #worker: Worker | undefined;
  #nextId = 0;
  readonly #pending = new Map<number, Pending>();
  #closed = false;

  decode(job: DecodeJob): Promise<DecodeOutcome> {
    const inline = job.coding === 'identity' ? INLINE_BYTES : INLINE_BYTES / 8;
    if (job.body.byteLength <= inline) return Promise.resolve(runDecodeJob(job));
    if (this.#closed) return Promise.reject(new Error('the decode pool is closed'));
    const worker = this.#ensureWorker();
    const id = this.#nextId++;
    return new Promise<DecodeOutcome>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // a copy the worker owns: the request's buffer may share memory with other pooled buffers
      const body = new Uint8Array(job.body);
      worker.postMessage({ id, job: { ...job, body } }, [body.buffer]);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker !== undefined) await worker.terminate();
  }

  #ensureWorker(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(moduleBeside(import.meta.url, 'decode-worker'));
    worker.unref();
    worker.on('message', ({ id, outcome }: { id: number; outcome: DecodeOutcome }) => {
      const pending = this.#pending.get(id);
      this.#pending.delete(id);
      pending?.resolve(outcome);
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
