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

/**
 * The size a gzip body says it has once inflated: its last four bytes (ISIZE, RFC 1952), which count the last member
 * only and modulo 2^32, and which the sender may get wrong. Good for deciding where and whether to inflate a body,
 * never for a limit (inflating is bounded by its own limit). undefined: not gzip.
 */
export function gzipClaimedSize(raw: Uint8Array): number | undefined {
  if (raw.length < 18 || raw[0] !== 0x1f || raw[1] !== 0x8b) return undefined;
  const end = raw.length;
  return (raw[end - 4]! | (raw[end - 3]! << 8) | (raw[end - 2]! << 16) | (raw[end - 1]! << 24)) >>> 0;
}

function looksLikeZlib(raw: Uint8Array): boolean {
  return raw.length >= 2 && (raw[0]! & 0x0f) === 8 && ((raw[0]! << 8) | raw[1]!) % 31 === 0;
}
