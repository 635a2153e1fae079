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

  constructor(keywords: readonly string[]) {
    this.keywords = keywords;
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
   * Scans the text; returns how many keyword occurrences it holds. The first that many entries of `ids` and `ends`
   * say which keyword each is (an id may repeat) and where it ends (the index after its last character). The lists
   * are reused by the next scan and never shortened: emptied and refilled, they were allocated again on every line.
   */
  scan(text: string): number {
    const alphabet = this.#alphabet;
    const delta = this.#delta;
    const found = this.#found;
    const hits = this.#hits;
    const ends = this.#ends;
    let n = 0;
    let row = 0;
    for (let i = 0; i < text.length; i++) {
      const next = delta[row + alphabet[text.charCodeAt(i)]!]!;
      row = next & OFFSET;
      if (next & ENDS) {
        const ids = found.get(row)!;
        for (let k = 0; k < ids.length; k++) {
          hits[n] = ids[k]!;
          ends[n] = i + 1;
          n++;
        }
      }
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
