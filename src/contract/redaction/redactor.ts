// Redactor: finds secrets in text with a rule set and replaces each with `[REDACTED:<rule id>]`, counting per rule.
// One pass over the text finds the rules' keywords; only the rules whose keyword is present run their regex.
import { KeywordScan, startsWord } from './keyword-scan.ts';
import { type Allowlist, CONFIGURED_SECRET_RULE, type Rule, type RuleSet } from './rule-set.ts';

/** Redactions per rule id, added up as text is redacted. */
export type RedactionCounts = Record<string, number>;

export interface Finding {
  readonly ruleId: string;
  readonly start: number;
  readonly end: number;
  /** found by context rather than by a known format: yields to a specific finding it overlaps */
  readonly generic?: boolean;
}

// no rule finds a secret in fewer characters than this
const MIN_TEXT = 8;
// how deep redactValue walks a value; what is nested deeper is redacted as its JSON text
const MAX_DEPTH = 64;
/** the marker's rule for a value nested too deep to be serialized and checked */
export const TOO_DEEP_RULE = 'nested-too-deep';

const MARKER = /\[REDACTED:[\w.-]+\]/g;

// the pieces a text of several lines is searched in again, by a rule that matched it
const PARAGRAPH_AND_LINE = [/\n[ \t]*\n/g, /\n/g];

// fields the writer fills itself (times, ids, counters): never content, so never scanned
const STRUCTURAL_FIELDS = new Set([
  'timestamp',
  'type',
  'seq',
  'trace_id',
  'span_id',
  'tool_call_id',
  'is_error',
  'stage',
  'duration_ms',
  'success',
  'metrics',
  'completed_at',
  'created_at',
  'started_at',
  'updated_at',
  'status',
  'task_id',
  'redactions',
]);

function redactedMarker(ruleId: string): string {
  return `[REDACTED:${ruleId}]`;
}

export class Redactor {
  readonly ruleSet: RuleSet;
  readonly #keywordScan: KeywordScan;
  /** per keyword id, the indexes (in #rules) of the rules it wakes */
  readonly #rulesByKeyword: number[][];
  /** per keyword id, the rules it wakes only where it starts a word (see Rule.wordStartKeywords) */
  readonly #rulesAtWordStart: number[][];
  /** per keyword id, its length */
  readonly #keywordLengths: number[];
  readonly #rules: readonly Rule[];
  readonly #alwaysRun: readonly number[];
  readonly #values: readonly string[];
  // which rules the current text woke: a rule is woken when its mark equals the current generation; #woken lists
  // them (its first #wake() entries: the list is reused, never shortened)
  readonly #marks: Uint32Array;
  #generation = 0;
  readonly #woken: number[] = [];
  // redact()'s first look for findings, emptied before each use
  readonly #scratch: Finding[] = [];

  constructor(ruleSet: RuleSet) {
    this.ruleSet = ruleSet;
    this.#values = ruleSet.values;
    this.#rules = ruleSet.rules;
    const keywordIds = new Map<string, number>();
    const byKeyword: number[][] = [];
    const atWordStart: number[][] = [];
    const always: number[] = [];
    ruleSet.rules.forEach((rule, index) => {
      if (rule.keywords.length === 0) always.push(index);
      for (const keyword of rule.keywords) {
        let id = keywordIds.get(keyword);
        if (id === undefined) {
          id = byKeyword.length;
          keywordIds.set(keyword, id);
          byKeyword.push([]);
          atWordStart.push([]);
        }
        const list = rule.wordStartKeywords?.includes(keyword) === true ? atWordStart[id]! : byKeyword[id]!;
        if (!list.includes(index)) list.push(index);
      }
    });
    this.#rulesByKeyword = byKeyword;
    this.#rulesAtWordStart = atWordStart;
    this.#keywordLengths = [...keywordIds.keys()].map((keyword) => keyword.length);
    this.#alwaysRun = always;
    this.#keywordScan = new KeywordScan([...keywordIds.keys()], {
      atWordStart: atWordStart.map((rules) => rules.length > 0),
    });
    this.#marks = new Uint32Array(ruleSet.rules.length);
  }

  /** The text with every secret replaced; counts (when given) gain one per redaction. */
  redact(text: string, counts?: RedactionCounts): string {
    if (text.length < MIN_TEXT) return text;
    // most texts hold no secret: the rules run into one reused list first, and only a text with a finding, or
    // with escapes to look behind, goes on to the rest of find() (a list per text was a third of its garbage)
    const scratch = this.#scratch;
    scratch.length = 0;
    this.#findIn(text, scratch);
    if (scratch.length === 0 && !text.includes('\\') && !text.includes(ESC)) return text;
    const findings = this.#completed(text, scratch);
    if (findings.length === 0) return text;
    let out = '';
    let at = 0;
    for (const f of findings) {
      out += text.slice(at, f.start) + redactedMarker(f.ruleId);
      at = f.end;
      if (counts !== undefined) counts[f.ruleId] = (counts[f.ruleId] ?? 0) + 1;
    }
    return out + text.slice(at);
  }

  /**
   * Strings inside a JSON-like value redacted (a copy where anything changed, the same value otherwise). Below
   * MAX_DEPTH levels a subtree is redacted as its JSON text: unchanged when that holds no secret, else replaced by
   * the redacted text (never left as it was: a secret nested deep is still a secret).
   */
  redactValue<T>(value: T, counts?: RedactionCounts, depth = 0): T {
    if (typeof value === 'string') return this.redact(value, counts) as T;
    if (value === null || typeof value !== 'object') return value;
    if (depth > MAX_DEPTH) return this.#redactTooDeep(value, counts) as T;
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        const redacted = this.redactValue(item, counts, depth + 1);
        if (redacted !== item) {
          copy ??= value.slice();
          copy[i] = redacted;
        }
      }
      return (copy ?? value) as T;
    }
    let copy: Record<string, unknown> | undefined;
    let renamed = false;
    const record = value as Record<string, unknown>;
    for (const key in record) {
      const item = record[key];
      const redacted = this.redactValue(item, counts, depth + 1);
      if (redacted !== item) {
        copy ??= { ...record };
        copy[key] = redacted;
      }
      if (key.length >= MIN_TEXT && this.redact(key) !== key) renamed = true;
    }
    if (renamed) return this.#withKeysRedacted(copy ?? record, counts, () => false) as T;
    return (copy ?? value) as T;
  }

  #redactTooDeep(value: object, counts: RedactionCounts | undefined): unknown {
    let text: string | undefined;
    try {
      text = JSON.stringify(value); // iterative enough for the few levels past MAX_DEPTH a caller can build
    } catch {
      // nested beyond what JSON can write (a stack overflow), or a cycle: nothing downstream could write it either,
      // and it cannot be checked, so it goes as a marker
      if (counts !== undefined) counts[TOO_DEEP_RULE] = (counts[TOO_DEEP_RULE] ?? 0) + 1;
      return redactedMarker(TOO_DEEP_RULE);
    }
    if (text === undefined) return value;
    const redacted = this.redact(text, counts);
    return redacted === text ? value : redacted;
  }

  // The record again, in the same order, with each key that holds a secret redacted (keys that then collide keep
  // their values apart with a #2, #3 suffix). Keys `keep` names are left as they are. Linear in the keys: each
  // redacted name remembers the next suffix to try (thousands of tokens as keys once took minutes), and the copy is
  // built from entries, so a `__proto__` key stays a key instead of setting the copy's prototype.
  #withKeysRedacted(
    record: Record<string, unknown>,
    counts: RedactionCounts | undefined,
    keep: (key: string) => boolean,
  ): Record<string, unknown> {
    const entries: [string, unknown][] = [];
    const taken = new Set(Object.keys(record));
    const nextSuffix = new Map<string, number>();
    for (const key in record) {
      let name = keep(key) || key.length < MIN_TEXT ? key : this.redact(key, counts);
      if (name !== key && taken.has(name)) {
        const base = name;
        let n = nextSuffix.get(base) ?? 2;
        do name = `${base}#${n++}`;
        while (taken.has(name));
        nextSuffix.set(base, n);
      }
      taken.add(name);
      entries.push([name, record[key]]);
    }
    return Object.fromEntries(entries);
  }

  #findIn(text: string, found: Finding[]): void {
    const wokenCount = this.#wake(text);
    const woken = this.#woken;
    for (let w = 0; w < wokenCount; w++) this.#runRule(this.#rules[woken[w]!]!, text, found);
    const values = this.#values;
    for (let v = 0; v < values.length; v++) {
      const value = values[v]!;
      let at = text.indexOf(value);
      while (at !== -1) {
        found.push({ ruleId: CONFIGURED_SECRET_RULE, start: at, end: at + value.length });
        at = text.indexOf(value, at + value.length);
      }
    }
  }

  /**
   * A record (a file line, an input, a result) with secrets redacted from its fields: a copy where anything changed.
   * Fields the writer itself fills with timestamps, ids and numbers are not scanned.
   */
  redactFields<T extends object>(record: T, counts?: RedactionCounts): T {
    let copy: Record<string, unknown> | undefined;
    let renamed = false;
    const fields = record as Record<string, unknown>;
    for (const key in fields) {
      if (STRUCTURAL_FIELDS.has(key)) continue;
      const value = fields[key];
      const redacted = this.redactValue(value, counts);
      if (redacted !== value) {
        copy ??= { ...fields };
        copy[key] = redacted;
      }
      if (key.length >= MIN_TEXT && this.redact(key) !== key) renamed = true;
    }
    if (renamed)
      return this.#withKeysRedacted(copy ?? fields, counts, (key) => STRUCTURAL_FIELDS.has(key)) as T;
    return (copy ?? record) as T;
  }

  /** The secrets in the text, in order, not overlapping. */
  find(text: string): Finding[] {
    const found: Finding[] = [];
    this.#findIn(text, found);
    return this.#completed(text, found);
  }

  // what find() returns, from the findings of the rules on the text itself (`found`, which it may change and return)
  #completed(text: string, found: Finding[]): Finding[] {
    // JSON inside text (a tool's input rendered as JSON, a pasted API response) hides newlines and quotes behind
    // escapes, which rules that read context do not see through: the unescaped text is searched too, and what is
    // found there is mapped back onto the escapes it came from
    // Terminal output's ANSI escapes (colours) stand right against what they colour: `\x1b[31mAKIA…` has an `m`
    // before the key, where a rule wants a word to start. The text without them is searched too, the same way.
    if (text.includes('\\') || text.includes(ESC)) {
      for (const view of viewsOf(text)) {
        const inView: Finding[] = [];
        this.#findIn(view.text, inView);
        for (const f of inView) {
          found.push({ ...f, start: view.start(f.start), end: view.end(f.end - 1) });
        }
      }
    }
    // a marker left by an earlier redaction is not a secret (url-credentials would take one for a password)
    if (found.length > 0 && text.includes('[REDACTED:')) {
      const markers = [...text.matchAll(MARKER)].map((m) => [m.index, m.index + m[0].length] as const);
      const outside = found.filter((f) => !markers.some(([a, b]) => a <= f.start && f.end <= b));
      found.length = 0;
      found.push(...outside);
    }
    if (found.length <= 1) return found;
    // overlapping findings become one redaction over their union, so no part of either secret is left; it is named
    // after a specific rule where one is among them (a GitHub token inside a URL's credentials is a github-pat)
    found.sort((a, b) => a.start - b.start || b.end - a.end);
    const merged: Finding[] = [];
    let current = found[0]!;
    for (let i = 1; i < found.length; i++) {
      const f = found[i]!;
      if (f.start < current.end) {
        const named = current.generic === true && f.generic !== true ? f : current;
        current = {
          ruleId: named.ruleId,
          start: current.start,
          end: Math.max(current.end, f.end),
          generic: named.generic,
        };
      } else {
        merged.push(current);
        current = f;
      }
    }
    merged.push(current);
    return merged;
  }

  // the indexes of the rules to run on this text (the first returned-count entries of #woken): those whose keyword
  // occurs, and those without keywords
  #wake(text: string): number {
    const woken = this.#woken;
    if (++this.#generation === 0xffffffff) {
      this.#marks.fill(0);
      this.#generation = 1;
    }
    const generation = this.#generation;
    const marks = this.#marks;
    const byKeyword = this.#rulesByKeyword;
    const scan = this.#keywordScan;
    const hits = scan.scan(text);
    const ids = scan.ids;
    let n = 0;
    for (let h = 0; h < hits; h++) {
      const id = ids[h]!;
      n = wakeRules(byKeyword[id]!, marks, generation, woken, n);
      const atWordStart = this.#rulesAtWordStart[id]!;
      if (atWordStart.length > 0 && startsWord(text, scan.ends[h]! - this.#keywordLengths[id]!))
        n = wakeRules(atWordStart, marks, generation, woken, n);
    }
    const always = this.#alwaysRun;
    for (let a = 0; a < always.length; a++) woken[n++] = always[a]!;
    return n;
  }

  #runRule(rule: Rule, text: string, found: Finding[]): void {
    const spanned = this.#matchAll(rule, text, 0, text.length, found);
    // A regex that spans lines (`curl ... -u`, up to five lines on) finds one secret per match, and a greedy one can
    // step over an earlier secret to a later one: where a rule matched in a text of several lines, each paragraph
    // and each line is searched on its own too, and the findings are merged. Only a match that spanned lines can
    // have stepped over one.
    if (spanned) {
      for (const separator of PARAGRAPH_AND_LINE) {
        separator.lastIndex = 0;
        let start = 0;
        while (start < text.length) {
          const hit = separator.exec(text);
          const end = hit === null ? text.length : hit.index;
          if (end - start >= MIN_TEXT && (start > 0 || end < text.length))
            this.#matchAll(rule, text, start, end, found);
          if (hit === null) break;
          start = hit.index + hit[0].length;
        }
      }
    }
  }

  // the rule's findings in text[from, to); true when a match spanned lines
  #matchAll(rule: Rule, text: string, from: number, to: number, found: Finding[]): boolean {
    const part = from === 0 && to === text.length ? text : text.slice(from, to);
    const regex = rule.regex;
    regex.lastIndex = 0;
    let spanned = false;
    let match = regex.exec(part);
    while (match !== null) {
      const whole = match[0];
      if (whole.length === 0) {
        regex.lastIndex++;
      } else {
        if (!spanned && whole.includes('\n')) spanned = true;
        const secret = secretOf(match, rule.secretGroup);
        if (
          secret.length > 0 &&
          this.#isSecret(rule, secret, part, match.index, match.index + whole.length)
        ) {
          const offset = secret === whole ? 0 : whole.indexOf(secret);
          const start = from + match.index + Math.max(offset, 0);
          found.push({ ruleId: rule.id, start, end: start + secret.length, generic: rule.generic });
        }
      }
      match = regex.exec(part);
    }
    return spanned;
  }

  // gitleaks' checks after a regex match: entropy, digits for generic rules, the rule's and the global allow-lists
  #isSecret(rule: Rule, secret: string, text: string, at: number, end: number): boolean {
    if (rule.entropy > 0) {
      if (shannonEntropy(secret) <= rule.entropy) return false;
      if (rule.id.startsWith('generic') && !/[0-9]/.test(secret)) return false;
    }
    const whole = text.slice(reachBack(text, at, rule.reachBack), end);
    if (allowed(this.ruleSet.allow, secret, whole, text, at)) return false;
    for (const list of rule.allowlists) if (allowed(list, secret, whole, text, at)) return false;
    return true;
  }
}

// puts the rules not yet woken for this text (marked with its generation) into `woken` from entry n on; the new count
function wakeRules(
  rules: readonly number[],
  marks: Uint32Array,
  generation: number,
  woken: number[],
  n: number,
): number {
  let count = n;
  for (let k = 0; k < rules.length; k++) {
    const index = rules[k]!;
    if (marks[index] !== generation) {
      marks[index] = generation;
      woken[count++] = index;
    }
  }
  return count;
}

function secretOf(match: RegExpExecArray, group: number): string {
  if (match.length < 2) return match[0];
  if (group > 0) return match[group] ?? '';
  for (let i = 1; i < match.length; i++) {
    const value = match[i];
    if (value !== undefined && value.length > 0) return value;
  }
  return match[0];
}

function allowed(list: Allowlist, secret: string, whole: string, text: string, at: number): boolean {
  const hasRegexes = list.regexes.length > 0;
  const hasStopwords = list.stopwords.length > 0;
  let regexHit = false;
  if (hasRegexes) {
    const target = list.target === 'match' ? whole : list.target === 'line' ? lineAt(text, at) : secret;
    regexHit = list.regexes.some((r) => r.test(target));
  }
  let stopwordHit = false;
  if (hasStopwords) {
    const lower = secret.toLowerCase();
    stopwordHit = list.stopwords.some((s) => lower.includes(s));
  }
  if (list.condition === 'AND') return (!hasRegexes || regexHit) && (!hasStopwords || stopwordHit);
  return regexHit || stopwordHit;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  n: '\n',
  r: '\r',
  t: '\t',
  '"': '"',
  "'": "'",
  '\\': '\\',
  '/': '/',
};

const ESC = '\x1b';
// an ANSI escape sequence: a control sequence (ESC [, parameters, a final character: colours, cursor moves) or ESC and
// one character
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC is what starts the sequences this finds
const ANSI_SEQUENCE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])/g;

/** A text derived from another, with where each of its characters started and ended (exclusive) in that one. */
interface View {
  text: string;
  start(at: number): number;
  end(at: number): number;
}

/** The texts searched besides the text itself: its JSON escapes decoded, its ANSI escapes taken out, and both. */
function viewsOf(text: string): View[] {
  const views: View[] = [];
  const unescaped = text.includes('\\') ? unescapedView(text) : undefined;
  if (unescaped !== undefined) views.push(unescaped);
  const plain = text.includes(ESC) ? withoutAnsi(text) : undefined;
  if (plain !== undefined) views.push(plain);
  if (unescaped?.text.includes(ESC)) {
    const both = withoutAnsi(unescaped.text);
    if (both !== undefined)
      views.push({
        text: both.text,
        start: (at) => unescaped.start(both.start(at)),
        end: (at) => unescaped.end(both.start(at)),
      });
  }
  return views;
}

/**
 * The text with its ANSI escape sequences taken out; undefined when it has none. Where a character was is found from
 * the runs of text kept between the sequences (by a binary search, for a finding only): a list of two numbers per
 * character, made for every coloured line, cost 4.6 times the redaction of the line (20,000 coloured test-runner lines:
 * 46 ms against 10 before the ANSI view).
 */
function withoutAnsi(text: string): View | undefined {
  // the text without its sequences by a replace with no callback (V8's fast path: a callback per sequence was most of
  // a coloured line's redaction); where its characters were is worked out only when a finding asks
  const out = text.replace(ANSI_SEQUENCE, '');
  if (out.length === text.length) return undefined;
  // each run of text kept between two sequences: where it starts in the text without them, and in `text` (a run may be
  // empty: the last run that starts at or before a character is the one it is in)
  let runs: { at: number[]; from: number[] } | undefined;
  const runsOf = () => {
    if (runs !== undefined) return runs;
    const at = [0];
    const from = [0];
    let removed = 0;
    for (const match of text.matchAll(ANSI_SEQUENCE)) {
      removed += match[0].length;
      at.push(match.index + match[0].length - removed);
      from.push(match.index + match[0].length);
    }
    runs = { at, from };
    return runs;
  };
  const start = (i: number): number => {
    const { at, from } = runsOf();
    // the last run that starts at or before i
    let low = 0;
    let high = at.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (at[mid]! <= i) low = mid;
      else high = mid - 1;
    }
    return from[low]! + (i - at[low]!);
  };
  return { text: out, start, end: (i) => start(i) + 1 };
}

/**
 * The text with JSON-style escapes (\n, \", \\, \uXXXX) decoded, and for each character of it where it started and
 * ended in the original; undefined when there is nothing to decode.
 */
function unescapedView(text: string): View | undefined {
  let out = '';
  const starts: number[] = [];
  const ends: number[] = [];
  let decoded = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      const next = text[i + 1]!;
      const simple = SIMPLE_ESCAPES[next];
      if (simple !== undefined) {
        out += simple;
        starts.push(i);
        ends.push(i + 2);
        i += 2;
        decoded = true;
        continue;
      }
      if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
        out += String.fromCharCode(Number.parseInt(text.slice(i + 2, i + 6), 16));
        starts.push(i);
        ends.push(i + 6);
        i += 6;
        decoded = true;
        continue;
      }
    }
    out += c;
    starts.push(i);
    ends.push(i + 1);
    i++;
  }
  return decoded ? { text: out, start: (at) => starts[at]!, end: (at) => ends[at]! } : undefined;
}

// the match as gitleaks' pattern would have had it: with up to `max` identifier characters before it
function reachBack(text: string, at: number, max: number): number {
  let start = at;
  while (start > 0 && at - start < max && IDENTIFIER_CHAR.test(text[start - 1]!)) start--;
  return start;
}
const IDENTIFIER_CHAR = /[\w.-]/;

function lineAt(text: string, at: number): string {
  const start = text.lastIndexOf('\n', at) + 1;
  const end = text.indexOf('\n', at);
  return text.slice(start, end === -1 ? text.length : end);
}

/** Bits per character (gitleaks' measure for "looks random"). */
function shannonEntropy(text: string): number {
  if (text.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  let entropy = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}
