// Reading JSONL the way a crash may have left it: a torn or NUL-filled last line is skipped and reported, not fatal.
// Works on bytes, so the place of a torn line is an exact byte offset whatever the text holds (invalid UTF-8 too).

export interface JsonlContents<T> {
  lines: T[];
  /** the unreadable tail (a line cut short by a killed writer, or NUL bytes left by a crash), if any */
  tornTail: string | undefined;
  /** the byte offset where the torn tail begins (what a repair cuts the file back to) */
  tornAt: number | undefined;
  /** 1-based numbers of unreadable lines before the tail (a failed append the writer stepped over) */
  badLines: number[];
}

export function parseJsonl<T = unknown>(input: string | Buffer): JsonlContents<T> {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  const lines: T[] = [];
  const badLines: number[] = [];
  let tornTail: string | undefined;
  let tornAt: number | undefined;
  const endsWithNewline = bytes.length > 0 && bytes[bytes.length - 1] === 10;
  let start = 0;
  for (let number = 1; start < bytes.length || (start === bytes.length && number === 1); number++) {
    let end = bytes.indexOf(10, start);
    if (end === -1) end = bytes.length;
    const raw = bytes.toString('utf8', start, end);
    const isLast = end >= bytes.length - (endsWithNewline ? 1 : 0);
    const trimmed = raw.replace(/\0+/g, '').trim();
    if (trimmed !== '') {
      try {
        lines.push(JSON.parse(trimmed) as T);
      } catch {
        // only the final piece can be a torn write in progress; an unreadable line before it is reported as bad
        if (isLast) {
          tornTail = raw;
          tornAt = start;
        } else badLines.push(number);
      }
    }
    start = end + 1;
  }
  return { lines, tornTail, tornAt, badLines };
}
