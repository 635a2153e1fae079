// The worker thread that decompresses and decodes large OTLP bodies, so the server's event loop never waits on them.
// It reports each body's decompressed size first and decodes only when the server says it has room for it.
import { parentPort } from 'node:worker_threads';
import { runInBackground } from '../contract/background-thread.ts';
import { type DecodeJob, inflateJob } from './decode-job.ts';
import { decodeExport } from './otlp-decode.ts';
import { packBodies } from './packed-bodies.ts';

type Message = { id: number; job: DecodeJob } | { id: number; admit: boolean };

// decoding is background work: on a busy core the event loop (health checks, every answer) runs first
runInBackground();

const waiting = new Map<number, { job: DecodeJob; bytes: Uint8Array }>();

parentPort!.on('message', (message: Message) => {
  if ('job' in message) {
    const bytes = inflateJob(message.job);
    if (!(bytes instanceof Uint8Array)) return parentPort!.postMessage({ id: message.id, outcome: bytes });
    waiting.set(message.id, { job: message.job, bytes });
    return parentPort!.postMessage({ id: message.id, size: bytes.byteLength });
  }
  const entry = waiting.get(message.id);
  waiting.delete(message.id);
  if (entry === undefined || !message.admit) return;
  const outcome = decodeExport(entry.job.signal, entry.job.encoding, entry.bytes);
  // large text bodies go as bytes in a buffer moved to the event loop, not as strings (packed-bodies.ts)
  const packed = outcome.ok ? packBodies(outcome.logs) : undefined;
  parentPort!.postMessage({ id: message.id, outcome }, packed === undefined ? [] : [packed]);
});
