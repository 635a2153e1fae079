// Reading JSONL the way a crash may have left it: a torn or NUL-filled last line is skipped and reported, not fatal.
import { readFile } from 'node:fs/promises';

export interface JsonlContents<T> {
  lines: T[];
  /** the unreadable tail (a line cut short by a killed writer, or NUL bytes left by a crash), if any */
  tornTail: string | undefined;
  /** 1-based numbers of unreadable lines before the tail (a failed append the writer stepped over) */
  badLines: number[];
}

export function parseJsonl<T = unknown>(text: string): JsonlContents<T> {
  const parts = text.split('\n');
  const lines: T[] = [];
  const badLines: number[] = [];
  let tornTail: string | undefined;
  const last = parts.length - 1;
  for (let i = 0; i <= last; i++) {
    const raw = parts[i]!;
    const trimmed = raw.replace(/\0+/g, '').trim();
    if (trimmed === '') continue;
    try {
      lines.push(JSON.parse(trimmed) as T);
    } catch {
      // only the final piece can be a torn write in progress; an unreadable line before it is reported as bad
      if (i === last || (i === last - 1 && parts[last] === '')) tornTail = raw;
      else badLines.push(i + 1);
    }
  }
  return { lines, tornTail, badLines };
}

export async function readJsonlFile<T = unknown>(path: string): Promise<JsonlContents<T>> {
  return parseJsonl<T>(await readFile(path, 'utf8'));
}
