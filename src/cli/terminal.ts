// Terminal output for the CLI: colour only on a terminal (and never with NO_COLOR), aligned tables, sizes, and a
// progress bar on stderr for long runs.
import { UNSAFE_CHARS, unicodeEscape } from '../contract/terminal-safe.ts';

/** Where the CLI writes: the process's stdout or stderr, or (a test running it in process) a string. */
export interface OutStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface Out {
  line(text?: string): void;
  json(value: unknown): void;
  color: boolean;
  /** stderr: warnings and the progress bar */
  err: OutStream;
}

export function terminal(
  stream: OutStream = process.stdout,
  err: OutStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Out {
  const color = stream.isTTY === true && env.NO_COLOR === undefined;
  return {
    color,
    err,
    line: (text = '') => {
      stream.write(`${printable(text, color)}\n`);
    },
    json: (value) => {
      stream.write(`${printable(JSON.stringify(value, null, 2), false)}\n`);
    },
  };
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1, cyan: 36 } as const;

export type Color = keyof typeof CODES;

export function paint(out: Out, color: Color, text: string): string {
  return out.color ? `\x1b[${CODES[color]}m${text}\x1b[0m` : text;
}

// Task content is anyone's text (a webhook comment, an agent's output, an OTLP client's record): every character that
// could drive the reader's terminal is printed as a \u escape (see terminal-safe.ts; a --json line stays valid JSON);
// only the colour codes of paint() pass, and only when colour is on.
const OURS = `\x1b\\[(?:0|${Object.values(CODES).join('|')})m`;
const WITH_COLOUR = new RegExp(`(${OURS})|${UNSAFE_CHARS}`, 'g');
const WITHOUT_COLOUR = new RegExp(UNSAFE_CHARS, 'g');

/** Text read from a task, every character that could drive a terminal shown as an escape: before paint() adds ours. */
export function plain(text: string): string {
  return text.replace(WITHOUT_COLOUR, unicodeEscape);
}

/** A JSON text read from a task (a JSONL line) to print as JSON: in its strings every character that could drive a
 * terminal becomes a \u escape (the same string once parsed); outside them, where valid JSON holds only whitespace,
 * such a character (a carriage return) becomes a space. The result parses to the same value. */
export function plainJson(text: string): string {
  return text.replace(JSON_PIECES, (piece) =>
    piece.startsWith('"') ? piece.replace(WITHOUT_COLOUR, unicodeEscape) : piece.replace(WITHOUT_COLOUR, ' '),
  );
}
// a string (to its closing quote, or to the end of a broken line) or a run of text between strings
const JSON_PIECES = /"(?:[^"\\]|\\[\s\S])*"?|[^"]+/g;

/** The text with every character that could drive a terminal shown as an escape; paint()'s colours kept if `color`. */
export function printable(text: string, color: boolean): string {
  return color
    ? text.replace(WITH_COLOUR, (match, ours: string | undefined) => ours ?? unicodeEscape(match))
    : text.replace(WITHOUT_COLOUR, unicodeEscape);
}

export function statusColor(status: string | null | undefined): Color {
  if (status === 'completed') return 'green';
  if (status === 'failed' || status === 'rejected') return 'red';
  if (status === 'running') return 'yellow';
  return 'dim';
}

/** A column's colour: one for every cell, or one chosen by the cell's text (a status column). */
export type ColumnColor = Color | ((cell: string) => Color) | undefined;

/** A table with a header row; cells are plain text (colour added after padding keeps the columns straight). */
export function table(out: Out, header: string[], cells: string[][], colors: ColumnColor[] = []): void {
  const rows = cells.map((row) => row.map(plain)); // a cell's own colour codes must not pass as ours
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[], paintCells: boolean) =>
    cells
      .map((cell, i) => {
        const padded = i === cells.length - 1 ? cell : cell.padEnd(widths[i]!);
        const column = colors[i];
        const color = typeof column === 'function' ? column(cell) : column;
        return paintCells && color ? paint(out, color, padded) : padded;
      })
      .join('  ')
      .trimEnd();
  out.line(paint(out, 'bold', fmt(header, false)));
  for (const row of rows) out.line(fmt(row, true));
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A progress bar on stderr, drawn only on a terminal and at most every 100 ms. */
export function progress(
  label: string,
  stream: OutStream,
): { update: (done: number, total: number) => void; done: () => void } {
  const tty = stream.isTTY === true;
  let last = 0;
  let drawn = false;
  return {
    update: (done, total) => {
      if (!tty || total < 200) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      drawn = true;
      const width = 30;
      const filled = Math.round((done / total) * width);
      stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
    },
    done: () => {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
