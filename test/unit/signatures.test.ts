import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkHubSignature,
  checkSlackSignature,
  hubSignature,
  slackSignature,
} from '../../src/intake/signatures.ts';

const SECRET = 'a-test-secret-123';
const BODY = Buffer.from('{"action":"created"}');

describe('checkHubSignature', () => {
  it('accepts the right signature and refuses everything else with a reason, never throwing', () => {
    expect(checkHubSignature(SECRET, BODY, hubSignature(SECRET, BODY))).toEqual({ ok: true });
    expect(checkHubSignature(SECRET, BODY, undefined)).toEqual({ ok: false, reason: 'signature_missing' });
    expect(checkHubSignature(SECRET, BODY, 'sha1=abc')).toEqual({ ok: false, reason: 'signature_malformed' });
    expect(checkHubSignature(SECRET, BODY, 'sha256=abc')).toEqual({ ok: false, reason: 'signature_invalid' });
    expect(checkHubSignature(SECRET, BODY, hubSignature('other-secret', BODY))).toEqual({
      ok: false,
      reason: 'signature_invalid',
    });
    expect(checkHubSignature(SECRET, Buffer.from(`${BODY} `), hubSignature(SECRET, BODY))).toMatchObject({
      ok: false,
    });
  });

  it('never throws on any header value', () => {
    fc.assert(
      fc.property(fc.string(), (header) => {
        const result = checkHubSignature(SECRET, BODY, header);
        return result.ok === false;
      }),
    );
  });
});

describe('checkSlackSignature', () => {
  const now = 1_700_000_000;
  it('accepts a fresh right signature and refuses stale, malformed or wrong ones', () => {
    const ts = String(now - 10);
    expect(checkSlackSignature(SECRET, BODY, ts, slackSignature(SECRET, ts, BODY), now)).toEqual({
      ok: true,
    });
    const old = String(now - 301);
    expect(checkSlackSignature(SECRET, BODY, old, slackSignature(SECRET, old, BODY), now)).toEqual({
      ok: false,
      reason: 'timestamp_stale',
    });
    const future = String(now + 301);
    expect(
      checkSlackSignature(SECRET, BODY, future, slackSignature(SECRET, future, BODY), now),
    ).toMatchObject({ reason: 'timestamp_stale' });
    expect(checkSlackSignature(SECRET, BODY, 'soon', 'v0=aa', now)).toEqual({
      ok: false,
      reason: 'timestamp_invalid',
    });
    expect(checkSlackSignature(SECRET, BODY, ts, 'v0=aa', now)).toEqual({
      ok: false,
      reason: 'signature_invalid',
    });
    expect(checkSlackSignature(SECRET, BODY, ts, undefined, now)).toEqual({
      ok: false,
      reason: 'signature_missing',
    });
  });
});
