// A request body's Content-Encoding undone within a size limit: inflating stops as soon as the output passes the
// limit, so a small compressed body cannot make the process allocate more than the limit (a zip bomb).
import { gunzipSync, inflateRawSync, inflateSync, zstdDecompressSync } from 'node:zlib';
import { RequestMalformed } from './any-value.ts';

export type ContentCoding = 'identity' | 'gzip' | 'deflate' | 'zstd';

/** The decompressed body would pass the limit. */
export class BodyTooLarge extends Error {
  constructor(limit: number) {
    super(`the body is larger than the ${limit} bytes allowed after decompression`);
    this.name = 'BodyTooLarge';
  }
}

/** The codings this server undoes, from a Content-Encoding header (undefined: not supported). */
export function contentCoding(header: string): ContentCoding | undefined {
  const name = header.trim().toLowerCase();
  if (name === '' || name === 'identity') return 'identity';
  if (name === 'gzip' || name === 'x-gzip') return 'gzip';
  if (name === 'deflate') return 'deflate';
  if (name === 'zstd' && typeof zstdDecompressSync === 'function') return 'zstd';
  return undefined;
}

export function decompress(coding: ContentCoding, raw: Uint8Array, limit: number): Uint8Array {
  if (coding === 'identity') {
    if (raw.byteLength > limit) throw new BodyTooLarge(limit);
    return raw;
  }
  const options = { maxOutputLength: limit };
  try {
    if (coding === 'gzip') return gunzipSync(raw, options);
    if (coding === 'zstd') return zstdDecompressSync(raw, options);
    // "deflate" is the zlib format by RFC 9110; some clients send a bare deflate stream, told apart by its header
    return looksLikeZlib(raw) ? inflateSync(raw, options) : inflateRawSync(raw, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new BodyTooLarge(limit);
    throw new RequestMalformed(`the ${coding} body cannot be decompressed`);
  }
}

function looksLikeZlib(raw: Uint8Array): boolean {
  return raw.length >= 2 && (raw[0]! & 0x0f) === 8 && ((raw[0]! << 8) | raw[1]!) % 31 === 0;
}
