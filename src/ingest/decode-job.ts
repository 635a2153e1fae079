// One decoding job: undo the body's Content-Encoding within the limit, then decode the export request. Runs on the
// event loop for small bodies and in the decode worker for large ones; either way the answer is plain data.
import { RequestMalformed } from './any-value.ts';
import { BodyTooLarge, type ContentCoding, decompress } from './otlp-body.ts';
import { type DecodeResult, decodeExport, type Encoding, type Signal } from './otlp-decode.ts';

export interface DecodeJob {
  signal: Signal;
  encoding: Encoding;
  coding: ContentCoding;
  body: Uint8Array;
  /** bytes allowed after decompression */
  limit: number;
}

export type DecodeOutcome =
  | DecodeResult
  | { readonly ok: false; readonly tooLarge: true; readonly message: string };

export function runDecodeJob(job: DecodeJob): DecodeOutcome {
  let bytes: Uint8Array;
  try {
    bytes = decompress(job.coding, job.body, job.limit);
  } catch (error) {
    if (error instanceof BodyTooLarge) return { ok: false, tooLarge: true, message: error.message };
    if (error instanceof RequestMalformed) return { ok: false, message: error.message };
    throw error;
  }
  return decodeExport(job.signal, job.encoding, bytes);
}
