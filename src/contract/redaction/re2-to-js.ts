// Go RE2 pattern syntax (as gitleaks writes its rules) translated to a JavaScript RegExp source and flags.
//
// RE2's flag groups (`(?i)` to the end of the group, `(?i:...)`, `(?-i:...)`, `(?s)`) are not emitted as JavaScript
// modifier groups: V8 (Node 24) ignores a modifier for character classes in the second and later branches of an
// alternation (`/(?i:b|[c])/` does not match "C"). Instead the translation case-folds letters and classes itself
// where `i` is on, and writes `.` as `[\s\S]` where `s` is on; a pattern that is case-insensitive throughout gets the
// plain `i` flag. Also handled: `(?P<name>` groups, `\z`, `\A`, POSIX classes such as `[[:alnum:]]`. Anything else
// JavaScript rejects makes `new RegExp` throw, and the caller counts the rule as not compiled.

const POSIX_CLASSES: Record<string, string> = {
  alnum: 'a-zA-Z0-9',
  alpha: 'a-zA-Z',
  digit: '0-9',
  lower: 'a-z',
  upper: 'A-Z',
  space: '\\s',
  xdigit: '0-9a-fA-F',
  word: '\\w',
  punct: '!-\\/:-@\\[-`{-~',
};

interface Flags {
  ignoreCase: boolean;
  dotAll: boolean;
}

interface Pass {
  source: string;
  /** letters or classes were written where `i` was off / on */
  caseSensitive: boolean;
  caseInsensitive: boolean;
}

/** Translates an RE2 pattern; flags that apply to the whole pattern come back separately. */
export function re2ToJs(pattern: string): { source: string; flags: string } {
  const folded = translate(pattern, true);
  if (folded.caseInsensitive && !folded.caseSensitive) {
    return { source: translate(pattern, false).source, flags: 'i' };
  }
  return { source: folded.source, flags: '' };
}

function translate(pattern: string, fold: boolean): Pass {
  let out = '';
  let flags: Flags = { ignoreCase: false, dotAll: false };
  const saved: Flags[] = [];
  let caseSensitive = false;
  let caseInsensitive = false;
  const sawLetters = () => {
    if (flags.ignoreCase) caseInsensitive = true;
    else caseSensitive = true;
  };
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (next === 'z') out += '(?![\\s\\S])';
      else if (next === 'A') out += '(?<![\\s\\S])';
      else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(pattern.slice(i + 2, i + 4))) {
        out += pattern.slice(i, i + 4);
        i += 4;
        continue;
      } else out += c + next;
      i += 2;
      continue;
    }
    if (c === '[') {
      const end = classEnd(pattern, i);
      const cls = translateClass(pattern.slice(i, end));
      if (/[a-zA-Z]/.test(cls.replace(/\\./g, ''))) sawLetters();
      out += flags.ignoreCase && fold ? foldClass(cls) : cls;
      i = end;
      continue;
    }
    if (c === '(') {
      const group = /^\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])/.exec(pattern.slice(i));
      if (group !== null && (group[1] !== '' || group[2] !== undefined)) {
        const scoped = group[3] === ':';
        if (scoped) {
          saved.push(flags);
          out += '(?:';
        }
        flags = applyFlags(flags, group[1] ?? '', group[2] ?? '');
        i += group[0].length;
        continue;
      }
      saved.push(flags);
      const prefix = /^\((?:\?P?<(?=[A-Za-z_])[\w]*>|\?[:=!]|\?<[=!])?/.exec(pattern.slice(i))![0];
      out += prefix.replace('?P<', '?<');
      i += prefix.length;
      continue;
    }
    if (c === ')') {
      flags = saved.pop() ?? flags;
      out += c;
      i += 1;
      continue;
    }
    if (c === '.' && flags.dotAll) {
      out += '[\\s\\S]';
      i += 1;
      continue;
    }
    if (/[a-zA-Z]/.test(c)) {
      sawLetters();
      const lower = c.toLowerCase();
      const upper = c.toUpperCase();
      out += flags.ignoreCase && fold && lower !== upper ? `[${lower}${upper}]` : c;
      i += 1;
      continue;
    }
    out += c;
    i += 1;
  }
  return { source: out, caseSensitive, caseInsensitive };
}

function applyFlags(flags: Flags, on: string, off: string): Flags {
  const next = { ...flags };
  if (on.includes('i')) next.ignoreCase = true;
  if (on.includes('s')) next.dotAll = true;
  if (off.includes('i')) next.ignoreCase = false;
  if (off.includes('s')) next.dotAll = false;
  return next;
}

function classEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === '^') i++;
  if (pattern[i] === ']') i++; // a leading ] is literal
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') i += 2;
    else if (c === '[' && pattern[i + 1] === ':') {
      const close = pattern.indexOf(':]', i + 2);
      i = close === -1 ? i + 1 : close + 2;
    } else if (c === ']') return i + 1;
    else i++;
  }
  return pattern.length;
}

function translateClass(text: string): string {
  let body = text.replace(/\[:(\^?)([a-z]+):\]/g, (whole, negated: string, name: string) => {
    const expansion = POSIX_CLASSES[name];
    if (expansion === undefined || negated) return whole;
    return expansion;
  });
  // a leading ] is literal in RE2 but ends the class in JavaScript
  body = body.replace(/^\[(\^?)\]/, '[$1\\]');
  return body;
}

// [a-f0-9] -> [a-f0-9A-F]: each letter and letter range gains its other case
function foldClass(cls: string): string {
  const negated = cls.startsWith('[^');
  const body = cls.slice(negated ? 2 : 1, -1);
  let extra = '';
  let i = 0;
  while (i < body.length) {
    let lo = body[i]!;
    let step = 1;
    if (lo === '\\') {
      // escapes (\w, \-, \x60) fold to themselves
      step = body[i + 1] === 'x' ? 4 : 2;
      i += step;
      continue;
    }
    let hi = lo;
    if (body[i + 1] === '-' && i + 2 < body.length && body[i + 2] !== '\\') {
      hi = body[i + 2]!;
      step = 3;
    }
    extra += otherCase(lo, hi);
    lo = hi;
    i += step;
  }
  return `[${negated ? '^' : ''}${body}${extra}]`;
}

function otherCase(lo: string, hi: string): string {
  let out = '';
  const from = lo.charCodeAt(0);
  const to = hi.charCodeAt(0);
  for (const [start, end, shift] of [
    [97, 122, -32],
    [65, 90, 32],
  ] as const) {
    const a = Math.max(from, start);
    const b = Math.min(to, end);
    if (a > b) continue;
    const first = String.fromCharCode(a + shift);
    const last = String.fromCharCode(b + shift);
    out += a === b ? first : `${first}-${last}`;
  }
  return out;
}
