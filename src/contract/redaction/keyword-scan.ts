// KeywordScan: one pass over a text that says which of many keywords (case-insensitive) occur in it, as an
// Aho-Corasick automaton with a dense transition table: a couple of array reads per character, whatever the number
// of keywords. The redactor runs a rule's regex only when one of the rule's keywords occurs.

const ASCII = 128;
// a transition's target state, stored as its row offset in the table, with this bit set when keywords end there
const ENDS = 1 << 30;
const OFFSET = ENDS - 1;

export class KeywordScan {
  readonly keywords: readonly string[];
  /** a character class per UTF-16 code unit: 0 for characters in no keyword */
  readonly #alphabet: Uint8Array;
  /** transitions: [row offset of state + class] -> row offset of the next state, ENDS set where keywords end */
  readonly #delta: Int32Array;
  /** per row offset, the ids of the keywords that end in that state (through failure links too) */
  readonly #found: Map<number, readonly number[]>;
  readonly #hits: number[] = [];
  readonly #ends: number[] = [];
  /** per keyword id: whether an occurrence at a word start is worth a report of its own */
  readonly #atWordStart: Uint8Array;
  readonly #lengths: Uint32Array;
  // per keyword id, the scan that reported it (any occurrence, an occurrence at a word start): each keyword is
  // reported at most twice a scan, so the lists stay as short as the keyword list whatever the text
  readonly #seen: Uint32Array;
  readonly #seenAtWordStart: Uint32Array;
  #generation = 0;

  constructor(keywords: readonly string[], options: KeywordScanOptions = {}) {
    this.keywords = keywords;
    this.#atWordStart = Uint8Array.from(keywords, (_, id) => (options.atWordStart?.[id] === true ? 1 : 0));
    this.#lengths = Uint32Array.from(keywords, (keyword) => keyword.length);
    this.#seen = new Uint32Array(keywords.length);
    this.#seenAtWordStart = new Uint32Array(keywords.length);
    // characters that occur in some keyword get a class of their own; everything else is class 0
    this.#alphabet = new Uint8Array(65_536);
    let width = 1;
    for (const keyword of keywords) {
      for (const char of keyword.toLowerCase()) {
        const code = char.charCodeAt(0);
        if (code >= ASCII) throw new RangeError(`keyword ${JSON.stringify(keyword)} is not ASCII`);
        if (this.#alphabet[code] === 0) {
          this.#alphabet[code] = width++;
          const upper = char.toUpperCase().charCodeAt(0);
          if (upper < ASCII) this.#alphabet[upper] = this.#alphabet[code]!;
        }
      }
    }
    // the trie
    const next: number[][] = [new Array(width).fill(-1)];
    const ends: number[][] = [[]];
    keywords.forEach((keyword, id) => {
      let state = 0;
      for (const char of keyword.toLowerCase()) {
        const c = this.#alphabet[char.charCodeAt(0)]!;
        if (next[state]![c] === -1) {
          next[state]![c] = next.length;
          next.push(new Array(width).fill(-1));
          ends.push([]);
        }
        state = next[state]![c]!;
      }
      ends[state]!.push(id);
    });
    // breadth first: failure links, folded into a full transition table
    const delta = new Int32Array(next.length * width);
    const fail = new Int32Array(next.length);
    const queue: number[] = [];
    for (let c = 0; c < width; c++) {
      const to = next[0]![c]!;
      if (to === -1) delta[c] = 0;
      else {
        delta[c] = to;
        fail[to] = 0;
        queue.push(to);
      }
    }
    for (let head = 0; head < queue.length; head++) {
      const state = queue[head]!;
      ends[state]!.push(...ends[fail[state]!]!);
      for (let c = 0; c < width; c++) {
        const to = next[state]![c]!;
        if (to === -1) delta[state * width + c] = delta[fail[state]! * width + c]!;
        else {
          fail[to] = delta[fail[state]! * width + c]!;
          delta[state * width + c] = to;
          queue.push(to);
        }
      }
    }
    // from state numbers to row offsets, flagged where keywords end
    this.#found = new Map();
    for (let state = 0; state < ends.length; state++) {
      if (ends[state]!.length > 0) this.#found.set(state * width, [...new Set(ends[state])]);
    }
    for (let k = 0; k < delta.length; k++) {
      const to = delta[k]!;
      delta[k] = (to * width) | (ends[to]!.length > 0 ? ENDS : 0);
    }
    this.#delta = delta;
  }

  /**
   * Scans the text; returns how many reports it made. The first that many entries of `ids` and `ends` say which
   * keyword each is and where that occurrence ends (the index after its last character). A keyword is reported at
   * its first occurrence only, and a keyword marked atWordStart once more at its first occurrence that starts a word
   * (when the first did not): a text of 18 MiB of `s.s.s.` listed 9 million occurrences, took seconds and kept the
   * lists' 150 MB. The lists are reused by the next scan (emptied and refilled, they were allocated on every line).
   */
  scan(text: string): number {
    const alphabet = this.#alphabet;
    const delta = this.#delta;
    const found = this.#found;
    if (++this.#generation === 0xffffffff) {
      this.#seen.fill(0);
      this.#seenAtWordStart.fill(0);
      this.#generation = 1;
    }
    const generation = this.#generation;
    let n = 0;
    let row = 0;
    // the loop runs per character: kept to the two table reads, the rare end of a keyword handled in #report
    const length = text.length;
    for (let i = 0; i < length; i++) {
      const next = delta[row + alphabet[text.charCodeAt(i)]!]!;
      row = next & OFFSET;
      if (next & ENDS) n = this.#report(text, i, found.get(row)!, n, generation);
    }
    return n;
  }

  // the keywords ending at text[i] (`ids`): each reported as scan() says; the count of reports so far, then after
  #report(text: string, i: number, ids: readonly number[], count: number, generation: number): number {
    const seen = this.#seen;
    const seenAtWordStart = this.#seenAtWordStart;
    const atWordStart = this.#atWordStart;
    let n = count;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      const first = seen[id] !== generation;
      if (!first && (atWordStart[id] === 0 || seenAtWordStart[id] === generation)) continue;
      const wordStart = atWordStart[id] === 1 && startsWord(text, i + 1 - this.#lengths[id]!);
      if (!first && !wordStart) continue;
      seen[id] = generation;
      if (wordStart) seenAtWordStart[id] = generation;
      this.#hits[n] = id;
      this.#ends[n] = i + 1;
      n++;
    }
    return n;
  }

  /** The keyword ids of the last scan's occurrences (the first `scan()` entries are valid). */
  get ids(): readonly number[] {
    return this.#hits;
  }

  /** Where each of the last scan's occurrences ends (the first `scan()` entries are valid). */
  get ends(): readonly number[] {
    return this.#ends;
  }
}

export interface KeywordScanOptions {
  /** per keyword id: also report its first occurrence that starts a word (see startsWord) */
  atWordStart?: readonly boolean[];
}

/**
 * Whether text[at] starts a word, as a regex's \b sees it: nothing before it, or a character that is not an ASCII
 * letter, digit or underscore (anything else counts as a boundary, which can only wake a rule more often).
 */
export function startsWord(text: string, at: number): boolean {
  if (at === 0) return true;
  const c = text.charCodeAt(at - 1);
  return !((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95);
}
