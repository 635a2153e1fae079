// The worker thread that decompresses and decodes large OTLP bodies, so the server's event loop never waits on them.
import { parentPort } from 'node:worker_threads';
import { type DecodeJob, runDecodeJob } from './decode-job.ts';

parentPort!.on('message', ({ id, job }: { id: number; job: DecodeJob }) => {
  parentPort!.postMessage({ id, outcome: runDecodeJob(job) });
});
