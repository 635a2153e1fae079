// The redaction rules: gitleaks' default rules (vendored data, compiled at start-up), the project's own rules for what
// gitleaks leaves to context (Authorization headers, credentials in URLs, connection strings, AWS secret keys), and an
// operator's file of extra rules and allow-list entries.
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { packageFile } from '../package-files.ts';
import { re2ToJs } from './re2-to-js.ts';

export interface Allowlist {
  /** what `regexes` are tested against: the secret (default), the whole match, or the line it is on */
  readonly target: 'secret' | 'match' | 'line';
  readonly regexes: readonly RegExp[];
  /** lower case; a secret containing one is allowed */
  readonly stopwords: readonly string[];
  /** AND: every criterion given must hold; OR: any one */
  readonly condition: 'AND' | 'OR';
}

export interface Rule {
  readonly id: string;
  /** global, so matches are found with exec in a loop */
  readonly regex: RegExp;
  /** lower case; the regex runs only on text that contains one of them (none: always) */
  readonly keywords: readonly string[];
  /** those of the keywords that wake the rule only where they start a word (the regex has a `\b` right before
   * them, so an occurrence inside a word cannot be part of a match) */
  readonly wordStartKeywords?: readonly string[];
  /** which capture group is the secret; 0: the first non-empty group, or the whole match without groups */
  readonly secretGroup: number;
  /** the secret's Shannon entropy must be above this (0: no check) */
  readonly entropy: number;
  readonly allowlists: readonly Allowlist[];
  /** a rule that finds secrets by their context (generic-api-key, an Authorization header): where its finding
   * overlaps one of a rule for a known format, the specific rule's finding is kept */
  readonly generic: boolean;
  /** how many [\w.-] characters before the match gitleaks' own pattern would have included in it (see below) */
  readonly reachBack: number;
}

export interface RuleSet {
  readonly rules: readonly Rule[];
  /** allowed whatever the rule: regexes tested against the secret, and stopwords */
  readonly allow: Allowlist;
  /** exact values that are always secrets (this server's own tokens), redacted as `configured-secret` */
  readonly values: readonly string[];
  /** rules of the sources that could not be used here: their regex did not compile, or they only apply to file paths */
  readonly skipped: readonly { id: string; reason: string }[];
}

/** An operator's additions (TASK_LOGS_REDACTION_FILE), already checked by the config schema. */
export interface ExtraRules {
  rules?: { id: string; regex: string; keywords?: string[]; secretGroup?: number; entropy?: number }[];
  /** regexes tested against a found secret: a match means it is not redacted */
  allow?: string[];
  /** substrings that make a found secret allowed */
  stopwords?: string[];
  /** rule ids to turn off */
  disable?: string[];
}

export const CONFIGURED_SECRET_RULE = 'configured-secret';
// shorter configured values would redact ordinary words
const MIN_CONFIGURED_SECRET_LENGTH = 8;

const GITLEAKS_TOML = packageFile('assets', 'redaction', 'gitleaks', 'gitleaks.toml');

/** Compiles a rule's regex written in gitleaks (Go RE2) syntax; throws a SyntaxError naming the problem. */
export function compileRe2(pattern: string, extraFlags = ''): RegExp {
  const { source, flags } = re2ToJs(pattern);
  return new RegExp(source, [...new Set(flags + extraFlags)].join(''));
}

// The project's own rules, for secrets that gitleaks finds only inside `curl` commands or not at all. Same shape as
// gitleaks' rules, same syntax.
// All of them are generic: a token of a known format inside one (a GitHub token in a URL) is named by its own rule.
const OWN_RULES: { id: string; regex: string; keywords: string[]; secretGroup?: number }[] = [
  {
    id: 'authorization-header',
    regex: String.raw`(?i)\b(?:proxy-)?authorization["']?[ \t]*[:=][ \t]*["']?(?:(?:bearer|basic|token|bot|digest|negotiate|apikey)[ \t]+)?([\w~+/.=-]{8,})`,
    keywords: ['authorization'],
  },
  {
    id: 'bearer-token',
    regex: String.raw`(?i)\bbearer[ \t]+([\w~+/.-]{16,}=*)`,
    keywords: ['bearer'],
  },
  {
    id: 'url-credentials',
    regex: String.raw`\b[a-zA-Z][a-zA-Z0-9+.-]{1,30}://[^\s:/?#@'"<>\x60]*:([^\s/?#@'"<>\x60]{3,})@[\w.-]`,
    keywords: ['://'],
  },
  {
    id: 'connection-string-password',
    regex: String.raw`(?i)(?:^|[;\s"'{,])(?:password|pwd)[ \t]*=[ \t]*([^;\s'"{}]{3,})`,
    keywords: ['password', 'pwd'],
  },
  {
    id: 'aws-secret-access-key',
    regex: String.raw`(?i)aws[_.-]?secret[_.-]?(?:access[_.-]?)?key(?:[ \t\w.-]{0,20})["']?[ \t]*(?:=|:|=>|:=)[ \t]*["']?([A-Za-z0-9/+=]{40})(?:[^A-Za-z0-9/+=]|$)`,
    keywords: ['aws_secret', 'aws-secret', 'aws.secret', 'awssecret', 'secret_access_key', 'secretaccesskey'],
  },
];

// Keywords of gitleaks' rules that can only be part of a match where they start a word: the rule's regex opens with
// `\b` and each of its alternatives begins with one of them. vault-service-token's `s.` otherwise woke the rule (and
// ran its regex) on most prose: "attempts.", "its.", "tests.". Taken only while the vendored regex still opens as
// written here.
const WORD_START_KEYWORDS: Readonly<Record<string, { opens: string; keywords: readonly string[] }>> = {
  'vault-service-token': { opens: String.raw`\b((?:hvs\.[\w-]{90,120}|s\.`, keywords: ['hvs.', 's.'] },
};

function wordStartKeywords(id: string, pattern: string, keywords: readonly string[]): string[] {
  const known = WORD_START_KEYWORDS[id];
  if (known === undefined || !pattern.startsWith(known.opens)) return [];
  return known.keywords.filter((k) => keywords.includes(k));
}

interface TomlAllowlist {
  regexes?: string[];
  stopwords?: string[];
  regexTarget?: string;
  condition?: string;
  paths?: string[];
  commits?: string[];
}
interface TomlRule {
  id: string;
  regex?: string;
  path?: string;
  keywords?: string[];
  secretGroup?: number;
  entropy?: number;
  allowlists?: TomlAllowlist[];
  allowlist?: TomlAllowlist;
}
interface TomlConfig {
  allowlist?: TomlAllowlist;
  rules: TomlRule[];
}

let gitleaks: { rules: Rule[]; allow: Allowlist; skipped: { id: string; reason: string }[] } | undefined;

/** gitleaks' default rules, compiled once per process. */
export function gitleaksRules(): NonNullable<typeof gitleaks> {
  if (gitleaks !== undefined) return gitleaks;
  const config = parseToml(readFileSync(GITLEAKS_TOML, 'utf8')) as unknown as TomlConfig;
  const rules: Rule[] = [];
  const skipped: { id: string; reason: string }[] = [];
  for (const raw of config.rules) {
    if (raw.regex === undefined) {
      skipped.push({ id: raw.id, reason: 'matches file paths only' });
      continue;
    }
    if (raw.path !== undefined) {
      skipped.push({ id: raw.id, reason: 'applies to some file paths only' });
      continue;
    }
    try {
      const lists = [...(raw.allowlists ?? []), ...(raw.allowlist ? [raw.allowlist] : [])];
      const { pattern, reachBack } = withoutIdentifierPrefix(widenSecretEnd(raw.regex));
      const keywords = (raw.keywords ?? []).map((k) => k.toLowerCase());
      rules.push({
        id: raw.id,
        regex: compileRe2(pattern, 'g'),
        reachBack,
        keywords,
        wordStartKeywords: wordStartKeywords(raw.id, pattern, keywords),
        secretGroup: raw.secretGroup ?? 0,
        entropy: raw.entropy ?? 0,
        allowlists: lists.flatMap((list) => toAllowlist(list) ?? []),
        generic: raw.id.startsWith('generic'),
      });
    } catch (error) {
      skipped.push({
        id: raw.id,
        reason: `regex does not compile in JavaScript: ${(error as Error).message}`,
      });
    }
  }
  const allow = toAllowlist(config.allowlist ?? {}) ?? emptyAllowlist();
  gitleaks = { rules, allow, skipped };
  return gitleaks;
}

// A hundred of gitleaks' rules start with a lazy `[\w.-]{0,50}?` (twice, for some) that only takes the identifier
// before a keyword into the match: it never changes which secret is found, but a backtracking engine tries it at
// every position (RE2 does not backtrack), which made a 40 kB text take seconds. It is taken off the pattern, and put
// back by hand where an allow-list looks at the whole match.
const IDENTIFIER_PREFIX = '[\\w.-]{0,50}?';

function withoutIdentifierPrefix(pattern: string): { pattern: string; reachBack: number } {
  let rest = pattern;
  let reachBack = 0;
  const strip = (lead: string, keep: string) => {
    if (!rest.startsWith(lead + IDENTIFIER_PREFIX)) return;
    rest = keep + rest.slice(lead.length + IDENTIFIER_PREFIX.length);
    reachBack += 50;
  };
  strip('', '');
  strip('(?i)', '(?i)');
  strip('(?i:', '(?i:');
  return { pattern: rest, reachBack };
}

// gitleaks ends 150 of its rules' secrets with `(?:[\x60'"\s;]|\\[nr]|$)`: a quote, a space, a semicolon, an escaped
// newline or the end must follow, so a token is not taken from inside a longer one. Its `\s` is RE2's ASCII space,
// and nothing else that cannot go on a token was in it: a key right against an emoji (`🔑sk-ant-api03-…AA🔑`), a NUL
// or another control character (an ANSI colour), a non-ASCII letter, punctuation or space was written unredacted.
// Each such end now takes any character but the printable ASCII ones other than those four (written as the negated
// class, which the case folding of re2-to-js leaves as it is): below U+0020, U+007F and up. None of these tokens is
// made of such characters (they are ASCII), so a token still cannot end inside a longer one. An operator's rule
// written with the same ending gets the same.
const SECRET_END = String.raw`(?:[\x60'"\s;]|\\[nr]|$`;
const WIDER_SECRET_END = String.raw`(?:[^\x21\x23-\x26\x28-\x3a\x3c-\x5f\x61-\x7e]|\\[nr]|$`;

function widenSecretEnd(pattern: string): string {
  return pattern.replaceAll(SECRET_END, WIDER_SECRET_END);
}

// gitleaks' global allow-list has `(?i)^true|false|null$`, meant as "the secret is only true, false or null"; as
// written the anchors bind to the first and last alternatives only, so it allowed any secret holding "false" in any
// case or ending in "null" (about 2 in a million random GitHub tokens). An allow-list pattern anchored at both ends
// with alternatives outside any group is read as meant: the anchors around all of them.
function anchorAlternatives(pattern: string): string {
  const flags = /^\(\?[a-zA-Z]+\)/.exec(pattern)?.[0] ?? '';
  const body = pattern.slice(flags.length);
  if (!body.startsWith('^') || !body.endsWith('$') || body.endsWith('\\$')) return pattern;
  let depth = 0;
  let inClass = false;
  let alternatives = false;
  for (let i = 1; i < body.length - 1; i++) {
    const c = body[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) alternatives = true;
  }
  return alternatives ? `${flags}^(?:${body.slice(1, -1)})$` : pattern;
}

// An allow-list that needs a path or commit can never hold for text that has neither: it is left out.
function toAllowlist(raw: TomlAllowlist): Allowlist | undefined {
  const condition = raw.condition === 'AND' ? 'AND' : 'OR';
  const needsPath = (raw.paths?.length ?? 0) > 0 || (raw.commits?.length ?? 0) > 0;
  if (needsPath && condition === 'AND') return undefined;
  const regexes: RegExp[] = [];
  for (const pattern of raw.regexes ?? []) {
    try {
      regexes.push(compileRe2(anchorAlternatives(pattern)));
    } catch {
      // an allow-list entry that cannot compile allows nothing: the stricter outcome
    }
  }
  const stopwords = (raw.stopwords ?? []).map((s) => s.toLowerCase());
  if (regexes.length === 0 && stopwords.length === 0) return undefined;
  const target = raw.regexTarget === 'match' ? 'match' : raw.regexTarget === 'line' ? 'line' : 'secret';
  return { target, regexes, stopwords, condition };
}

function emptyAllowlist(): Allowlist {
  return { target: 'secret', regexes: [], stopwords: [], condition: 'OR' };
}

/**
 * The whole rule set: gitleaks' rules, ours, the operator's extras, and exact configured values. A bad regex in the
 * extras throws a SyntaxError that names the rule (the config turns it into a start-up error).
 */
export function buildRuleSet(
  options: { extra?: ExtraRules; values?: readonly (string | undefined)[] } = {},
): RuleSet {
  const base = gitleaksRules();
  const extra = options.extra ?? {};
  const own = OWN_RULES.map((r) => compileRule({ ...r, secretGroup: r.secretGroup ?? 0, entropy: 0 }, true));
  const operator = (extra.rules ?? []).map((r) => compileRule(r, false));
  const disabled = new Set(extra.disable ?? []);
  const byId = new Map<string, Rule>();
  for (const rule of [...base.rules, ...own, ...operator])
    if (!disabled.has(rule.id)) byId.set(rule.id, rule);
  const extraAllow = (extra.allow ?? []).map((pattern, i) => compileOrThrow(pattern, `allow[${i}]`, ''));
  const allow: Allowlist = {
    target: 'secret',
    regexes: [...base.allow.regexes, ...extraAllow],
    stopwords: [...base.allow.stopwords, ...(extra.stopwords ?? []).map((s) => s.toLowerCase())],
    condition: 'OR',
  };
  const values = [
    ...new Set(
      (options.values ?? []).filter(
        (v): v is string => typeof v === 'string' && v.length >= MIN_CONFIGURED_SECRET_LENGTH,
      ),
    ),
  ];
  return { rules: [...byId.values()], allow, values, skipped: base.skipped };
}

function compileRule(
  raw: { id: string; regex: string; keywords?: string[]; secretGroup?: number; entropy?: number },
  generic: boolean,
): Rule {
  return {
    id: raw.id,
    regex: compileOrThrow(widenSecretEnd(raw.regex), `rule ${JSON.stringify(raw.id)}`, 'g'),
    keywords: (raw.keywords ?? []).map((k) => k.toLowerCase()),
    secretGroup: raw.secretGroup ?? 0,
    entropy: raw.entropy ?? 0,
    allowlists: [],
    generic,
    reachBack: 0,
  };
}

function compileOrThrow(pattern: string, name: string, flags: string): RegExp {
  try {
    return compileRe2(pattern, flags);
  } catch (error) {
    throw new SyntaxError(
      `${name}: regex ${JSON.stringify(pattern).slice(0, 100)} does not compile: ${(error as Error).message}`,
    );
  }
}
