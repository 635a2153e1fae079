import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeywordScan } from '../../src/contract/redaction/keyword-scan.ts';
import { re2ToJs } from '../../src/contract/redaction/re2-to-js.ts';
import { type RedactionCounts, Redactor } from '../../src/contract/redaction/redactor.ts';
import { buildRuleSet, gitleaksRules } from '../../src/contract/redaction/rule-set.ts';
import { configuredSecrets, gitleaksCases, lookAlikes, secretSamples } from '../helpers/secret-samples.ts';

const redactor = new Redactor(buildRuleSet({ values: Object.values(configuredSecrets()) }));

describe("gitleaks' own samples", () => {
  it('redacts every literal true positive of every rule and flags none of its false positives', () => {
    const { cases } = gitleaksCases();
    const full = buildRuleSet();
    const rulesById = new Map(full.rules.map((rule) => [rule.id, rule]));
    const tally = { rules: 0, truePositives: 0, redacted: 0, falsePositives: 0, untouched: 0, noRule: 0 };
    const missed: string[] = [];
    const flagged: string[] = [];
    for (const [id, { tps, fps }] of Object.entries(cases)) {
      const rule = rulesById.get(id);
      if (rule === undefined) {
        tally.noRule += tps.length + fps.length; // rules gitleaks keeps out of its default config
        continue;
      }
      tally.rules++;
      // what the rule alone calls the secret, as gitleaks' own validation runs each rule alone
      const alone = new Redactor({ ...full, rules: [rule], values: [] });
      for (const tp of tps) {
        tally.truePositives++;
        const secrets = alone.find(tp).map((f) => tp.slice(f.start, f.end));
        const out = redactor.redact(tp);
        if (secrets.length > 0 && secrets.every((s) => !out.includes(s)) && out.includes('[REDACTED:'))
          tally.redacted++;
        else missed.push(`${id}: ${tp.slice(0, 80)}`);
      }
      for (const fp of fps) {
        tally.falsePositives++;
        if (alone.find(fp).length === 0) tally.untouched++;
        else flagged.push(`${id}: ${fp.slice(0, 80)}`);
      }
    }
    console.log(
      `gitleaks samples: ${tally.rules} rules, true positives redacted ${tally.redacted}/${tally.truePositives}, ` +
        `false positives untouched ${tally.untouched}/${tally.falsePositives} ` +
        `(${tally.noRule} samples of rules outside the default config; ` +
        `${gitleaksRules().rules.length} rules compiled, ${gitleaksRules().skipped.length} path-only rules skipped)`,
    );
    expect(missed).toEqual([]);
    expect(flagged).toEqual([]);
    expect(tally.truePositives).toBeGreaterThan(200);
    expect(tally.falsePositives).toBeGreaterThan(200);
  });

  it('compiles every rule of the default config that applies to text', () => {
    const { skipped } = gitleaksRules();
    expect(skipped.filter((s) => !s.reason.includes('path'))).toEqual([]);
  });
});

describe('Redactor', () => {
  it('redacts one secret of each promised kind, named by the rule that found it, and counts it', () => {
    const kinds = secretSamples();
    for (const sample of kinds) {
      const counts: RedactionCounts = {};
      const out = redactor.redact(sample.text, counts);
      expect(out, sample.kind).not.toContain(sample.secret);
      expect(out, sample.kind).toContain(`[REDACTED:${sample.rule}]`);
      expect(counts[sample.rule], sample.kind).toBe(1);
    }
    console.log(`secret kinds redacted: ${kinds.length}/${kinds.length}`);
  });

  it('keeps the text around a secret', () => {
    const sample = secretSamples().find((s) => s.rule === 'url-credentials')!;
    expect(redactor.redact(sample.text)).toBe(
      sample.text.replace(sample.secret, '[REDACTED:url-credentials]'),
    );
  });

  it("redacts this server's own secret values wherever they appear", () => {
    for (const [name, value] of Object.entries(configuredSecrets())) {
      const out = redactor.redact(`debug: ${name.toLowerCase()} is ${value}, and again:${value}`);
      expect(out, name).not.toContain(value);
    }
  });

  it('leaves git SHAs, UUIDs, hashes, base64 image data and plain prose untouched', () => {
    for (const text of lookAlikes()) expect(redactor.redact(text)).toBe(text);
  });

  it('redacts strings inside objects and arrays, and returns the same value when nothing is secret', () => {
    const [a, b] = secretSamples();
    const value = { ok: 'plain', list: [a!.text, 1, { deep: b!.text }] };
    const out = redactor.redactValue(value);
    expect(JSON.stringify(out)).not.toContain(a!.secret);
    expect(JSON.stringify(out)).not.toContain(b!.secret);
    expect(value.list[0]).toBe(a!.text); // the input is not changed
    const plain = { ok: 'plain', n: 1 };
    expect(redactor.redactValue(plain)).toBe(plain);
  });

  it('redacts a secret nested deeper than the walk goes (as JSON text), and marks what cannot be serialized', () => {
    const [a] = secretSamples();
    const nest = (inner: unknown, levels: number) => {
      let value = inner;
      for (let i = 0; i < levels; i++) value = i % 2 ? [value] : { at: i, next: value };
      return value;
    };
    const deep = nest({ token: a!.text }, 100);
    const counts: RedactionCounts = {};
    const out = JSON.stringify(redactor.redactValue(deep, counts));
    expect(out).not.toContain(a!.secret);
    expect(out).toContain(`[REDACTED:${a!.rule}]`);
    expect(counts[a!.rule]).toBe(1);
    const plainDeep = nest({ ok: 'plain' }, 100);
    expect(redactor.redactValue(plainDeep)).toBe(plainDeep); // nothing secret: the same value
    // too deep for JSON.stringify (a stack overflow) or a cycle past the walk: a marker, counted
    const overflow = nest({ token: a!.text }, 200_000);
    const cycle: Record<string, unknown> = { token: a!.text };
    cycle.self = cycle;
    for (const value of [overflow, cycle]) {
      const marked: RedactionCounts = {};
      const text = JSON.stringify(redactor.redactValue(value, marked), (_key, v: unknown) =>
        v === cycle ? undefined : v,
      );
      expect(text ?? '').not.toContain(a!.secret);
      expect(marked['nested-too-deep']).toBe(1);
    }
  });

  it('redacts a secret used as an object key, keeping the order, the value and keys that collide apart', () => {
    const token = `ghp_${'a1B2c3D4e5'.repeat(3)}a1B2c3`;
    const other = `ghp_${'z9Y8x7W6v5'.repeat(3)}z9Y8x7`;
    const counts: RedactionCounts = {};
    const out = redactor.redactValue(
      { first: 1, nested: { [token]: 'cached', [other]: 'also' }, last: 2 },
      counts,
    );
    expect(JSON.stringify(out)).toBe(
      '{"first":1,"nested":{"[REDACTED:github-pat]":"cached","[REDACTED:github-pat]#2":"also"},"last":2}',
    );
    expect(counts['github-pat']).toBe(2);
    const line = redactor.redactFields({ timestamp: 't', content: 'ok', [token]: true });
    expect(Object.keys(line)).toEqual(['timestamp', 'content', '[REDACTED:github-pat]']);
  });

  it('replaces exactly what find() reports, text after text: none, one, several, behind escapes, beside a marker', () => {
    // redact() looks with a list it reuses before it does find()'s whole work: no finding of one text may leak into
    // the next, and a text whose secret hides behind JSON escapes or sits beside an old marker is still found
    const samples = secretSamples();
    const texts: string[] = [];
    for (const [i, sample] of samples.entries()) {
      const next = samples[(i + 1) % samples.length]!;
      texts.push(
        sample.text,
        lookAlikes()[i % lookAlikes().length]!,
        `${sample.text} then ${next.text}`,
        JSON.stringify({ pasted: `${sample.text}\n"${next.secret}"` }),
        `[REDACTED:${sample.rule}] beside ${sample.text}`,
        'plain prose with no secret in it at all',
      );
    }
    for (const text of texts) {
      let expected = '';
      let at = 0;
      for (const f of redactor.find(text)) {
        expected += `${text.slice(at, f.start)}[REDACTED:${f.ruleId}]`;
        at = f.end;
      }
      expected += text.slice(at);
      expect(redactor.redact(text), text.slice(0, 60)).toBe(expected);
    }
  });

  it('is idempotent: redacted text has nothing left to redact', () => {
    const samples = secretSamples().map((s) => s.text);
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...samples), fc.string()), { maxLength: 6 }), (parts) => {
        const once = redactor.redact(parts.join(' '));
        return redactor.find(once).length === 0 && redactor.redact(once) === once;
      }),
      { numRuns: 200 },
    );
  });
});

describe('a token wrapped in characters that are no part of it', () => {
  // an emoji, a NUL or another control character, a non-ASCII letter or space right against a token: gitleaks' rules
  // end many tokens with a group of the characters that may follow one ([\x60'"\s;], an escaped newline, the end),
  // and these were none of them, so `🔑sk-ant-api03-…AA🔑` was written as it was
  const WRAPPERS: [string, string][] = [
    ['🔑', '🔑'],
    ['\u0000', '\u0000'],
    ['\u0001', '\u0007'],
    ['\u001b[31m', '\u001b[0m'],
    ['\u007f', '\u007f'],
    ['«', '»'],
    ['é', 'é'],
    ['\u200b', '\u200b'],
    ['\u3000', '\u3000'],
    ['\ufeff', '\ufffd'],
  ];
  const TOKEN_RULES = [
    'anthropic-api-key',
    'openai-api-key',
    'github-pat',
    'github-fine-grained-pat',
    'github-app-token',
    'aws-access-token',
    'slack-bot-token',
    'gcp-api-key',
    'atlassian-api-token',
    'stripe-access-token',
    'jwt',
  ];
  const tokens = secretSamples().filter((s) => TOKEN_RULES.includes(s.rule));

  it('is redacted whole, whatever the wrapper: Anthropic, OpenAI, GitHub, AWS, Slack and more', () => {
    expect(new Set(tokens.map((t) => t.rule))).toEqual(new Set(TOKEN_RULES));
    const missed = new Set<string>();
    for (const token of tokens)
      for (const [before, after] of WRAPPERS)
        for (const text of [
          `${before}${token.secret}${after}`,
          `key: ${before}${token.secret}${after} (old)`,
        ]) {
          const out = redactor.redact(text);
          if (out.includes(token.secret) || !out.includes(`${before}[REDACTED:${token.rule}]${after}`))
            missed.add(`${token.rule} in ${JSON.stringify(before)}…${JSON.stringify(after)}`);
          // the same line as JSON text, the wrappers behind escapes (\u0000, \u001b)
          const json = JSON.stringify({ line: text });
          const redacted = redactor.redact(json);
          if (redacted.includes(token.secret) || !redacted.includes(`[REDACTED:${token.rule}]`))
            missed.add(`${token.rule} in ${JSON.stringify(before)}…${JSON.stringify(after)}, as JSON`);
        }
    expect([...missed]).toEqual([]);
  });

  it('maps what it finds between ANSI sequences back exactly: several tokens, sequences side by side, as JSON too', () => {
    const pick = (rule: string) => tokens.find((t) => t.rule === rule)!;
    const aws = pick('aws-access-token');
    const openai = pick('openai-api-key');
    const line = (a: string, b: string) =>
      `\u001b[1m\u001b[31m${a}\u001b[0m\u001b[0m and \u001b[33m${b}\u001b[39m\u001b[0m; \u001b[2mdone\u001b[22m`;
    const expected = line(`[REDACTED:${aws.rule}]`, `[REDACTED:${openai.rule}]`);
    expect(redactor.redact(line(aws.secret, openai.secret))).toBe(expected);
    // JSON text holding the line: its \u001b escapes decoded, then the sequences taken out
    expect(redactor.redact(JSON.stringify({ output: line(aws.secret, openai.secret) }))).toBe(
      JSON.stringify({ output: expected }),
    );
  });

  it('still needs the whole token: one that runs on into more token characters is not cut short', () => {
    const ant = tokens.find((t) => t.rule === 'anthropic-api-key')!.secret;
    // 96 characters after the prefix: no Anthropic key (it has 93 and AA); what else it may be is another rule's call
    expect(redactor.find(`${ant}x`).some((f) => f.ruleId === 'anthropic-api-key')).toBe(false);
  });
});

describe("gitleaks' global allow-list", () => {
  // its `(?i)^true|false|null$` means `^true` or `false` or `null$`: any secret holding "false" in any case, or ending
  // in "null", was allowed, so about 2 in a million random GitHub tokens were written unredacted
  it('allows a secret that is only true, false or null, not one that holds those words', () => {
    const holding = [
      'ghp_rny5fAlSEi6H36Vt8guwMOpZK4f78cZSzGiu', // found by the redaction test's random tokens
      'ghp_0123456789abcdefghijklmnopqrstuvNULL',
      'ghp_FALSE3456789abcdefghijklmnopqrstuvwx',
    ];
    for (const token of holding) {
      expect(redactor.redact(`token ${token} here`)).toBe('token [REDACTED:github-pat] here');
    }
    const { allow } = buildRuleSet();
    const allowed = (secret: string) => allow.regexes.some((regex) => regex.test(secret));
    for (const word of ['true', 'false', 'null', 'FALSE', 'Null']) expect(allowed(word), word).toBe(true);
    for (const secret of holding) expect(allowed(secret), secret).toBe(false);
  });
});

describe("vault-service-token's keywords", () => {
  const full = buildRuleSet();
  const vault = full.rules.find((rule) => rule.id === 'vault-service-token')!;
  // the rule's regex, counting its runs
  class CountingRegExp extends RegExp {
    runs = 0;
    override exec(text: string): RegExpExecArray | null {
      this.runs++;
      return super.exec(text);
    }
  }
  const alone = (wordStart: boolean) => {
    const regex = new CountingRegExp(vault.regex.source, vault.regex.flags);
    const rule = { ...vault, regex, wordStartKeywords: wordStart ? vault.wordStartKeywords : [] };
    return { redactor: new Redactor({ ...full, rules: [rule], values: [] }), regex };
  };
  const token = 's.Zx8Qw2Er6Ty1Ui9Op3As7DfG';

  it('does not run the rule on prose where `s.` ends a word', () => {
    const { redactor, regex } = alone(true);
    for (const text of [
      'Analyzing src/queue.ts: the retry loop uses a fixed delay of one second between attempts.',
      'I ran its tests. All of them pass, as do the linters.',
    ])
      expect(redactor.redact(text)).toBe(text);
    expect(regex.runs).toBe(0);
  });

  it('still redacts its tokens where `s.` starts a word: at the start, after a quote, behind a JSON escape', () => {
    const { redactor } = alone(true);
    for (const text of [
      `${token} is the token`,
      `export VAULT_TOKEN="${token}"`,
      `{"log":"login done\\n${token}\\n"}`,
      `token: ${token};`,
    ]) {
      const out = redactor.redact(text);
      expect(out, text).not.toContain(token.slice(2));
      expect(out, text).toContain('[REDACTED:vault-service-token]');
    }
  });

  it('finds the same secrets as the rule woken by every `s.`', () => {
    const everywhere = alone(false).redactor;
    const atWordStart = alone(true).redactor;
    const part = fc.oneof(
      fc.constantFrom(token, 'hvs.', 's.', 'S.', 'its.', '\\n', '\\"', '"', ' ', '_', 'é', 'x'),
      fc.string({ unit: fc.constantFrom(...'sS.hv019aZ_ "\\n'), maxLength: 30 }),
    );
    fc.assert(
      fc.property(fc.array(part, { maxLength: 8 }), (parts) => {
        const text = parts.join('');
        expect(atWordStart.find(text)).toEqual(everywhere.find(text));
      }),
      { numRuns: 500 },
    );
  });
});

describe('re2ToJs', () => {
  it('turns a leading (?i) into the i flag', () => {
    expect(re2ToJs('(?i)abc[a-z]')).toEqual({ source: 'abc[a-z]', flags: 'i' });
  });

  it('case-folds a (?i) that starts mid-pattern itself, to the end of its group, across later branches', () => {
    const { source, flags } = re2ToJs('x(?i)b|[c]');
    const re = new RegExp(`^(?:${source})$`, flags);
    expect(['xb', 'xB', 'c', 'C'].every((s) => re.test(s))).toBe(true);
    expect(re.test('Xb')).toBe(false);
  });

  it('keeps (?-i:...) case-sensitive inside a case-insensitive pattern', () => {
    const { source, flags } = re2ToJs('(?i)key(?-i:[Aa]pi|API)');
    const re = new RegExp(`^(?:${source})$`, flags);
    expect(['KEYapi', 'keyApi', 'keyAPI'].every((s) => re.test(s))).toBe(true);
    expect(['keyaPI', 'keyApI'].some((s) => re.test(s))).toBe(false);
  });

  it('translates (?P<name>, \\z, (?s:.) and POSIX classes', () => {
    const named = new RegExp(re2ToJs('(?P<x>a)').source);
    expect(named.exec('a')?.groups?.x).toBe('a');
    expect(new RegExp(re2ToJs('a\\z').source).test('a\n')).toBe(false);
    expect(new RegExp(re2ToJs('(?s:.)').source).test('\n')).toBe(true);
    expect(new RegExp(re2ToJs('^[[:alnum:]]+$').source).test('aZ9')).toBe(true);
  });
});

describe('KeywordScan', () => {
  it('finds exactly the keywords a case-insensitive substring search finds', () => {
    const word = fc.string({ unit: fc.constantFrom(...'abcAB_-.:'), minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(
        fc.uniqueArray(
          word.map((w) => w.toLowerCase()),
          { minLength: 1, maxLength: 8 },
        ),
        fc.string({ unit: fc.constantFrom(...'abcABC_-.: é') }),
        (keywords, text) => {
          const scan = new KeywordScan(keywords);
          scan.scan(`${text}${keywords.join('')}`); // a longer scan first: its entries must not leak into the next
          const hits = scan.scan(text);
          const ids = scan.ids.slice(0, hits);
          const found = new Set(ids.map((id) => keywords[id]));
          const expected = new Set(keywords.filter((k) => text.toLowerCase().includes(k)));
          expect(found).toEqual(expected);
          // each hit says where it ends
          ids.forEach((id, h) => {
            const keyword = keywords[id]!;
            expect(text.slice(scan.ends[h]! - keyword.length, scan.ends[h]).toLowerCase()).toBe(keyword);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports a keyword once per text, and a word-start one again at its first word start', () => {
    const scan = new KeywordScan(['s.', 'key'], { atWordStart: [true, false] });
    // ids.s.s.: `s.` first inside a word (at 1), then at a word start (after the `.` at 3)
    const hits = scan.scan(`ids.s.s.${' key'.repeat(5)}`);
    expect(scan.ids.slice(0, hits)).toEqual([0, 0, 1]);
    expect(scan.ends.slice(0, hits)).toEqual([4, 6, 12]);
    // a word start first: nothing more to say about `s.`
    expect(scan.ids.slice(0, scan.scan('s. its. s.'))).toEqual([0]);
  });

  it('keeps nothing of the size of a text dense with keywords (an 18 MiB line of `s.s.s.` kept 150 MB)', () => {
    const scan = new KeywordScan(['s.', 'hvs.'], { atWordStart: [true, true] });
    expect(scan.scan('hvs.s.'.repeat(100_000))).toBe(3);
    expect(scan.ids.length).toBeLessThanOrEqual(4);
    expect(scan.ends.length).toBeLessThanOrEqual(4);
  });
});
