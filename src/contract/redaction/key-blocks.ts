// A private key printed one line per event (`cat id_rsa` through a command runner) never shows a rule its BEGIN and
// END lines in one text, and its base64 lines alone look like any other data. Per stream (a task in the file writer,
// a trace in the OTLP export), this remembers a key block that an event opened and did not close, and redacts the
// lines that follow while they look like key material: base64, a PEM header field, a blank line, up to the END line.
// The first line that does not look like key material closes the block and is kept, so a BEGIN line quoted in a
// grep result costs nothing after it.
import type { RedactionCounts } from './redactor.ts';

const RULE_ID = 'private-key';
const MARKER = `[REDACTED:${RULE_ID}]`;
const BEGIN = /-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----/;
const END = /-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----/;
// tested on the trimmed line: a `\s*` on both sides of an optional middle backtracks quadratically over a long run of
// spaces that does not end the line (200 KB of them took 100 s)
const KEY_LINE = /^(?:[A-Za-z0-9+/=]{1,100}|(?:Proc-Type|DEK-Info|Comment):[^\n]{0,200})?$/;
/** longer than any key line with its indentation: not key material, whatever it holds */
const MAX_KEY_LINE = 1024;
/** lines a block may run to: a 16384-bit RSA key in PKCS#8 is under 200 */
const MAX_BLOCK_LINES = 256;
/** streams remembered with an open block at once; the oldest is forgotten past this */
const MAX_OPEN = 4096;

export class OpenKeyBlocks {
  /** stream -> lines redacted so far in its open block */
  readonly #open = new Map<string, number>();

  /** The text with any key block it opens, continues or closes redacted; counts gain one per marker written. */
  apply(stream: string, text: string, counts?: RedactionCounts): string {
    const before = this.#open.get(stream);
    if (before === undefined && !text.includes('PRIVATE KEY')) return text;
    let lines = before ?? -1; // -1: no block open
    let changed = false;
    let markedHere = false; // this event already holds the marker for the block it is in
    const out: string[] = [];
    for (let line of text.split('\n')) {
      if (lines >= 0) {
        const end = END.exec(line);
        if (end !== null) {
          if (!markedHere) out.push(MARKER);
          if (!markedHere && counts !== undefined) counts[RULE_ID] = (counts[RULE_ID] ?? 0) + 1;
          changed = true;
          lines = -1;
          markedHere = false;
          line = line.slice(end.index + end[0].length);
          if (line.trim() === '') continue;
        } else if (isKeyLine(line) && lines < MAX_BLOCK_LINES) {
          if (!markedHere) {
            out.push(MARKER);
            if (counts !== undefined) counts[RULE_ID] = (counts[RULE_ID] ?? 0) + 1;
            markedHere = true;
          }
          changed = true;
          lines++;
          continue;
        } else {
          lines = -1; // not key material: the block is over, and this line is kept
          markedHere = false;
        }
      }
      const begin = BEGIN.exec(line);
      if (begin === null) {
        out.push(line);
        continue;
      }
      // a BEGIN line: redacted from its header on, and the same line may hold the END as well
      changed = true;
      const rest = line.slice(begin.index + begin[0].length);
      const end = END.exec(rest);
      if (counts !== undefined) counts[RULE_ID] = (counts[RULE_ID] ?? 0) + 1;
      if (end !== null) {
        out.push(line.slice(0, begin.index) + MARKER + rest.slice(end.index + end[0].length));
      } else {
        out.push(line.slice(0, begin.index) + MARKER);
        lines = 0;
        markedHere = true;
      }
    }
    if (lines >= 0) {
      this.#open.delete(stream); // re-added last: the map's order is oldest first
      this.#open.set(stream, lines);
      if (this.#open.size > MAX_OPEN) this.#open.delete(this.#open.keys().next().value as string);
    } else if (before !== undefined) this.#open.delete(stream);
    return changed ? out.join('\n') : text;
  }
}

function isKeyLine(line: string): boolean {
  return line.length <= MAX_KEY_LINE && KEY_LINE.test(line.trim());
}
