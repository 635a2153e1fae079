// JSON.parse of a large UTF-8 body without making one string of the whole body. A string over ~128 KB is a large
// object that V8 puts on fresh pages of its own, and on this project's machines touching fresh memory costs ~25 µs
// per 4 KB page: the 520 KB string of an OTLP/JSON request of 1,024 log records took ~4.5 ms to make, three times
// as long as parsing it (and a 19 MB body, half a second in the decode worker). So a large body is parsed in
// pieces: the containers that hold more than PIECE_BYTES (the request, its resourceLogs, scopeLogs and logRecords
// lists) are walked here, and every value within them that fits in PIECE_BYTES (each log record, say) is given to
// JSON.parse as a string of its own, which V8 allocates in its young generation like any small string.
//
// The result is what JSON.parse gives for the same text, and a text JSON.parse refuses is refused (SyntaxError):
// every piece goes through JSON.parse, and the structure between pieces (braces, brackets, keys, colons, commas,
// whitespace) is checked here. Each byte is scanned once, plus at most PIECE_BYTES again for each container walked
// here; containers nested deeper than MAX_DEPTH are parsed whole, so hostile nesting costs no more than that.

import { setOwnProperty } from '../contract/own-property.ts';

/** a body up to this size is parsed in one go */
export const WHOLE_BYTES = 96 * 1024;
/** the most bytes one piece may take (up to twice that as a string of two-byte characters) */
const PIECE_BYTES = 32 * 1024;
const MAX_DEPTH = 8;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

/** JSON.parse(bytes as UTF-8), the same value or the same refusal (SyntaxError), in pieces when the body is large */
export function parseJsonBytes(bytes: Uint8Array): unknown {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length <= WHOLE_BYTES) return JSON.parse(buffer.toString('utf8'));
  const pieces = new Pieces(buffer);
  pieces.space();
  const value = pieces.value(0);
  pieces.space();
  if (pieces.at !== buffer.length) throw new SyntaxError(`unexpected text at byte ${pieces.at}`);
  return value;
}

class Pieces {
  readonly #buffer: Buffer;
  /** the next byte to read */
  at = 0;

  constructor(buffer: Buffer) {
    this.#buffer = buffer;
  }

  space(): void {
    const buffer = this.#buffer;
    let at = this.at;
    for (;;) {
      const b = buffer[at];
      // JSON's whitespace: space, tab, line feed, carriage return
      if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) at++;
      else break;
    }
    this.at = at;
  }

  /** the value at `at` (whitespace already skipped); `at` moves past it */
  value(depth: number): unknown {
    const start = this.at;
    const end = this.#end(start, PIECE_BYTES);
    if (end < 0) return this.#large(start, depth);
    this.at = end;
    return this.#parse(start, end);
  }

  /** the value at `start`, which goes on past a piece: a container is walked (up to MAX_DEPTH), else parsed whole */
  #large(start: number, depth: number): unknown {
    const first = this.#buffer[start];
    if ((first === LBRACE || first === LBRACKET) && depth < MAX_DEPTH)
      return first === LBRACE ? this.#object(depth) : this.#array(depth);
    const end = this.#end(start, Number.POSITIVE_INFINITY);
    this.at = end;
    return this.#parse(start, end);
  }

  #object(depth: number): Record<string, unknown> {
    const buffer = this.#buffer;
    const out: Record<string, unknown> = {};
    this.at++;
    this.space();
    if (buffer[this.at] === RBRACE) {
      this.at++;
      return out;
    }
    for (;;) {
      const start = this.at;
      if (buffer[start] !== QUOTE) throw this.#unexpected();
      const end = this.#end(start, Number.POSITIVE_INFINITY);
      const key = this.#parse(start, end) as string;
      this.at = end;
      this.space();
      if (buffer[this.at] !== COLON) throw this.#unexpected();
      this.at++;
      this.space();
      const value = this.value(depth + 1);
      // as JSON.parse: an own property even for "__proto__" (an assignment would set the prototype instead)
      setOwnProperty(out, key, value);
      this.space();
      const next = buffer[this.at];
      this.at++;
      if (next === RBRACE) return out;
      if (next !== COMMA) throw this.#unexpected(this.at - 1);
      this.space();
    }
  }

  #array(depth: number): unknown[] {
    const buffer = this.#buffer;
    this.at++;
    this.space();
    if (buffer[this.at] === RBRACKET) {
      this.at++;
      return [];
    }
    // Consecutive items that fit in a piece together are parsed as one (in brackets), and the parts joined at the end
    // into one array of the final length: a JSON.parse and a push per item made a list of a million `0`s or `""`s
    // (a hostile body) three times as slow as JSON.parse of the whole, on the event loop for bodies up to 1 MiB.
    const parts: unknown[][] = [];
    // the items not parsed yet, from `run` to `runEnd`; -1 when none
    let run = -1;
    let runEnd = -1;
    const flush = () => {
      if (run < 0) return;
      parts.push(JSON.parse(`[${buffer.toString('utf8', run, runEnd)}]`) as unknown[]);
      run = -1;
    };
    for (;;) {
      const start = this.at;
      const end = this.#end(start, PIECE_BYTES);
      // no item (`[1,]`, `[,1]`): alone it would be JSON.parse(''), refused; in a run, `[]` would take it
      if (end === start) throw this.#unexpected();
      if (end >= 0) {
        if (run >= 0 && end - run > PIECE_BYTES) flush();
        if (run < 0) run = start;
        runEnd = end;
        this.at = end;
      } else {
        flush();
        parts.push([this.#large(start, depth + 1)]);
      }
      this.space();
      const next = buffer[this.at];
      this.at++;
      if (next === RBRACKET) {
        flush();
        return parts.length === 1 ? parts[0]! : joined(parts);
      }
      if (next !== COMMA) throw this.#unexpected(this.at - 1);
      this.space();
    }
  }

  #parse(start: number, end: number): unknown {
    return JSON.parse(this.#buffer.toString('utf8', start, end));
  }

  #unexpected(at = this.at): SyntaxError {
    return new SyntaxError(
      at >= this.#buffer.length ? 'unexpected end of JSON' : `unexpected text at byte ${at}`,
    );
  }

  /**
   * Where the value starting at `start` ends (the index after it), when that is within `limit` bytes; -1 when it goes
   * on past them. Only finds the end: whether the value is valid JSON is for JSON.parse to say. Throws at the end of
   * the input inside a string or a container.
   */
  #end(start: number, limit: number): number {
    const buffer = this.#buffer;
    const stop = Math.min(buffer.length, start + limit);
    let at = start;
    const first = buffer[at];
    if (first === LBRACE || first === LBRACKET || first === QUOTE) {
      let depth = 0;
      while (at < stop) {
        const b = buffer[at++]!;
        if (b === QUOTE) {
          // a string: to its closing quote, a backslash taking the byte after it
          for (;;) {
            if (at >= stop) return this.#cut(stop);
            const c = buffer[at++]!;
            if (c === QUOTE) break;
            if (c === BACKSLASH) at++;
          }
          if (depth === 0) return at;
        } else if (b === LBRACE || b === LBRACKET) depth++;
        else if (b === RBRACE || b === RBRACKET) {
          if (--depth === 0) return at;
        }
      }
      return this.#cut(stop);
    }
    // a number, true, false or null (or something JSON.parse refuses): up to the next delimiter or whitespace
    while (at < stop) {
      const b = buffer[at]!;
      if (
        b === COMMA ||
        b === RBRACE ||
        b === RBRACKET ||
        b === 0x20 ||
        b === 0x0a ||
        b === 0x0d ||
        b === 0x09
      )
        return at;
      at++;
    }
    if (at >= buffer.length) return at;
    return -1;
  }

  // a string or container not closed by `stop`: goes on (-1), or the input ended inside it
  #cut(stop: number): number {
    if (stop >= this.#buffer.length) throw this.#unexpected(this.#buffer.length);
    return -1;
  }
}

// the parts' items in one array made at its final length (a spread of the parts could pass the arguments limit)
function joined(parts: unknown[][]): unknown[] {
  let total = 0;
  for (let i = 0; i < parts.length; i++) total += parts[i]!.length;
  const out: unknown[] = new Array(total);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    for (let j = 0; j < part.length; j++) out[at++] = part[j];
  }
  return out;
}
