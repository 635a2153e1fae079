// One decoding job in two steps: undo the body's Content-Encoding within the limit (then the caller, knowing the real
// size, may still turn it away), and decode the export request. Runs on the event loop for small bodies and in the
// decode worker for large ones; either way the answers are plain data.
import { RequestMalformed } from './any-value.ts';
import { BodyTooLarge, type ContentCoding, decompress } from './otlp-body.ts';
import type { DecodeResult, Encoding, Signal } from './otlp-decode.ts';

export interface DecodeJob {
  signal: Signal;
  encoding: Encoding;
  coding: ContentCoding;
  body: Uint8Array;
  /** bytes allowed after decompression */
  limit: number;
}

export type DecodeFailure =
  | { readonly ok: false; readonly message: string; readonly tooLarge?: true }
  | { readonly ok: false; readonly message: string; readonly busy: true };

export type DecodeOutcome = DecodeResult | DecodeFailure;

/** The body decompressed, or why it cannot be. */
export function inflateJob(job: DecodeJob): Uint8Array | DecodeFailure {
  try {
    return decompress(job.coding, job.body, job.limit);
  } catch (error) {
    if (error instanceof BodyTooLarge) return { ok: false, tooLarge: true, message: error.message };
    if (error instanceof RequestMalformed) return { ok: false, message: error.message };
    throw error;
  }
}

export const BUSY: DecodeFailure = { ok: false, busy: true, message: 'too much is being decoded at once' };
