// Decoding jobs for large bodies run in one worker thread; bodies up to INLINE_BYTES (decompressed) decode on the
// event loop, each in one go of a few milliseconds. The worker keeps long decodes off the loop but saves no CPU: on
// one core it costs more (the result is copied between two heaps, each with its own garbage collector; the OTLP bench
// took about 27 µs per log record with it for requests of 1,024 records, 21-25 µs without). Decoding a body in slices
// with turns of the loop in between was tried and cost more still (38-41 µs): the slices of many requests at once
// kept their half-decoded messages alive across collections. Either way the caller hears the decompressed size first
// and may turn the body away before it is parsed. A worker that dies fails its jobs and is replaced on the next one.
import { Worker } from 'node:worker_threads';
import { moduleBeside } from '../contract/package-files.ts';
import { BUSY, type DecodeJob, type DecodeOutcome, inflateJob } from './decode-job.ts';
import { BodyTooLarge, decompress, gzipClaimedSize } from './otlp-body.ts';
import { decodeExport } from './otlp-decode.ts';

/** bodies up to this size after decompression decode on the event loop (a compressed one is inflated there only when
 * it is at most an eighth of it, and goes to the worker as soon as it expands past it): at most about 4,000 log
 * records of protobuf or 2,000 of JSON, 10-15 ms of decoding */
export const INLINE_BYTES = 1024 * 1024;

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

  async decode(job: DecodeJob, admit: Admit = () => true): Promise<DecodeOutcome> {
    // A gzip body says its inflated size in its trailer. Claiming more than the caller can take now, it is turned
    // away before anything is inflated (a flood of 16 bodies of 100 KB expanding to 19 MB each was inflated, on the
    // loop up to INLINE_BYTES and then whole in the worker, only for 15 of them to be refused); claiming more than
    // INLINE_BYTES, it goes to the worker at once. A claim that is wrong costs nothing but this shortcut: the real
    // size is still told (and may still be refused), and inflating stays bounded by the limit.
    const claimed = job.coding === 'gzip' ? gzipClaimedSize(job.body) : undefined;
    if (claimed !== undefined && claimed <= job.limit && !admit(claimed)) return BUSY;
    const inline = job.coding === 'identity' ? INLINE_BYTES : INLINE_BYTES / 8;
    if (job.body.byteLength <= inline && (claimed === undefined || claimed <= INLINE_BYTES)) {
      const bytes = inflateHere(job);
      if (bytes !== undefined) return decodeHere(job, bytes, admit);
    }
    return this.#inWorker(job, admit);
  }

  #inWorker(job: DecodeJob, admit: Admit): Promise<DecodeOutcome> {
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

// the body decompressed on the event loop within INLINE_BYTES, or why it cannot be; undefined: it expands past
// INLINE_BYTES (but maybe not past the job's limit), so the worker takes it
function inflateHere(job: DecodeJob): Uint8Array | DecodeOutcome | undefined {
  if (job.coding === 'identity' || job.limit <= INLINE_BYTES) return inflateJob(job);
  try {
    return decompress(job.coding, job.body, INLINE_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLarge) return undefined;
    return inflateJob(job); // said the way the worker would say it
  }
}

function decodeHere(job: DecodeJob, bytes: Uint8Array | DecodeOutcome, admit: Admit): DecodeOutcome {
  if (!(bytes instanceof Uint8Array)) return bytes;
  if (!admit(bytes.byteLength)) return BUSY;
  return decodeExport(job.signal, job.encoding, bytes);
}
