// Webhook signature checks over the raw body: HMAC-SHA256 digests compared in constant time at a fixed length, so a
// header of the wrong length is a refusal like any other, never an exception.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

const HEX64 = /^[0-9a-f]{64}$/i;

function equalHex(expected: Buffer, given: string): boolean {
  if (!HEX64.test(given)) return false;
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}

/** GitHub's X-Hub-Signature-256 and Jira's X-Hub-Signature: "sha256=" + hex HMAC of the body. */
export function checkHubSignature(secret: string, body: Buffer, header: string | undefined): SignatureCheck {
  if (header === undefined || header === '') return { ok: false, reason: 'signature_missing' };
  if (!header.startsWith('sha256=')) return { ok: false, reason: 'signature_malformed' };
  const expected = createHmac('sha256', secret).update(body).digest();
  return equalHex(expected, header.slice(7)) ? { ok: true } : { ok: false, reason: 'signature_invalid' };
}

/** Slack's v0 signature over "v0:<timestamp>:<body>", refused when the timestamp is more than 5 minutes off. */
export function checkSlackSignature(
  secret: string,
  body: Buffer,
  timestamp: string | undefined,
  header: string | undefined,
  nowSeconds = Math.floor(Date.now() / 1000),
): SignatureCheck {
  if (header === undefined || header === '' || timestamp === undefined)
    return { ok: false, reason: 'signature_missing' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'timestamp_invalid' };
  if (Math.abs(nowSeconds - Number(timestamp)) > 300) return { ok: false, reason: 'timestamp_stale' };
  if (!header.startsWith('v0=')) return { ok: false, reason: 'signature_malformed' };
  const expected = createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest();
  return equalHex(expected, header.slice(3)) ? { ok: true } : { ok: false, reason: 'signature_invalid' };
}

export function hubSignature(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function slackSignature(secret: string, timestamp: string, body: Buffer | string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`;
}
