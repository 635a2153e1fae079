// Whole lines from a JSONL file, streamed with backpressure and never read whole into memory. A last piece without
// its newline is a line still being written (or torn by a crash): it is held back, not returned.
import type { FileHandle } from 'node:fs/promises';

export interface Line {
  /** 1-based number among the file's non-blank lines: stable while the file grows, so clients can resume */
  n: number;
  text: string;
}

export interface ReadLinesOptions {
  /** skip lines up to and including this number */
  after?: number;
  /** stop after this many lines */
  limit?: number;
  /** start reading at this byte offset (lines before it are counted from `firstLineNumber`) */
  start?: number;
  firstLineNumber?: number;
  /** skip lines that are not valid JSON (a failed append the writer stepped over) */
  validJsonOnly?: boolean;
}

const CHUNK = 64 * 1024;

/** Yields whole lines from an open file; `onEnd` learns the byte offset after the last whole line. */
export function readLines(
  handle: FileHandle,
  options: ReadLinesOptions = {},
  onEnd?: (state: { offset: number; lastLine: number }) => void,
): AsyncGenerator<Line> {
  return linesOf(fileChunks(handle, options.start ?? 0), options, onEnd);
}

async function* fileChunks(handle: FileHandle, start: number): AsyncGenerator<Buffer> {
  const buffer = Buffer.allocUnsafe(CHUNK);
  let position = start;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, CHUNK, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buffer.subarray(0, bytesRead); // reused: the consumer copies what it keeps
  }
}

/** Yields whole lines from a stream of chunks (a gunzip stream, say); chunks may be reused after each yield. */
export async function* linesOf(
  chunks: AsyncIterable<Buffer>,
  options: ReadLinesOptions = {},
  onEnd?: (state: { offset: number; lastLine: number }) => void,
): AsyncGenerator<Line> {
  const after = options.after ?? 0;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  let lineStart = options.start ?? 0;
  let n = (options.firstLineNumber ?? 1) - 1;
  let returned = 0;
  // the start of a line that spans reads, kept as pieces (a 10 MB line must not be copied again on every read)
  let pieces: Buffer[] = [];
  for await (const data of chunks) {
    let from = 0;
    for (let nl = data.indexOf(10, from); nl !== -1; nl = data.indexOf(10, from)) {
      let text: string;
      if (pieces.length > 0) {
        pieces.push(data.subarray(from, nl));
        const whole = Buffer.concat(pieces);
        pieces = [];
        text = whole.toString('utf8');
        lineStart += whole.length + 1;
      } else {
        text = data.toString('utf8', from, nl);
        lineStart += nl + 1 - from;
      }
      from = nl + 1;
      if (text.trim().replace(/\0/g, '') === '') continue;
      n++;
      if (n <= after) continue;
      if (options.validJsonOnly && !isJson(text)) continue;
      yield { n, text };
      if (++returned >= limit) {
        onEnd?.({ offset: lineStart, lastLine: n });
        return;
      }
    }
    if (from < data.length) pieces.push(Buffer.from(data.subarray(from))); // copied: the chunk may be reused
  }
  onEnd?.({ offset: lineStart, lastLine: n });
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
