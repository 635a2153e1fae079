// Large text bodies of log records decoded in the decode worker travel to the event loop as UTF-8 bytes in one
// transferred buffer, not as strings, and become strings again only when the writer maps each record to its line.
// A flood of large requests (2,000 records of 10 KB each) otherwise landed 20 MB of strings in the event loop's young
// generation at once; they lived until their flush, so every scavenge in between copied them and then promoted them
// (bursts of 25-40 ms pauses, more on a busy core). As bytes they are off the heap; the string made at mapping time
// dies young with the line built from it.
import type { PlainLogRecord } from './otlp-decode.ts';

/** text bodies at least this long (UTF-16 units) are packed; shorter ones cost more to pack than they save */
export const PACK_MIN_UNITS = 1024;

/**
 * Replaces each text body of at least PACK_MIN_UNITS units by its UTF-8 bytes, views into one buffer (returned, to be
 * transferred with the records; undefined when nothing was packed). A decoded OTLP body is never a Uint8Array
 * otherwise (bytes values are decoded to base64 text), so a Uint8Array body means packed text.
 */
export function packBodies(logs: PlainLogRecord[]): ArrayBuffer | undefined {
  let total = 0;
  for (let i = 0; i < logs.length; i++) {
    const body = logs[i]!.body;
    if (packable(body)) total += Buffer.byteLength(body, 'utf8');
  }
  if (total === 0) return undefined;
  const buffer = Buffer.allocUnsafeSlow(total);
  let used = 0;
  for (let i = 0; i < logs.length; i++) {
    const record = logs[i]!;
    const body = record.body;
    if (!packable(body)) continue;
    const length = buffer.write(body, used, 'utf8');
    logs[i] = { ...record, body: new Uint8Array(buffer.buffer, buffer.byteOffset + used, length) };
    used += length;
  }
  return buffer.buffer as ArrayBuffer;
}

// a string with a lone surrogate would come back with U+FFFD in its place: such a body stays as it is
function packable(body: unknown): body is string {
  return typeof body === 'string' && body.length >= PACK_MIN_UNITS && body.isWellFormed();
}

/** A body as the writer reads it: packed text becomes a string again (the bytes are valid UTF-8: they came from one). */
export function unpackBody(body: unknown): unknown {
  return body instanceof Uint8Array
    ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')
    : body;
}
