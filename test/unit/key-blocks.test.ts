import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OpenKeyBlocks } from '../../src/contract/redaction/key-blocks.ts';
import type { RedactionCounts } from '../../src/contract/redaction/redactor.ts';

const M = '[REDACTED:private-key]';

function pemLines(type: 'pkcs8' | 'pkcs1' = 'pkcs8'): string[] {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  return privateKey.export({ type, format: 'pem' }).toString().trimEnd().split('\n');
}

describe('OpenKeyBlocks', () => {
  it('passes text without a key through as the same string', () => {
    const blocks = new OpenKeyBlocks();
    const text = 'nothing to see\nhere';
    expect(blocks.apply('t', text)).toBe(text);
  });

  it('redacts a key printed one line per event, and counts one marker per event it touched', () => {
    const blocks = new OpenKeyBlocks();
    const counts: RedactionCounts = {};
    const lines = pemLines();
    const out = ['before', ...lines, 'after'].map((line) => blocks.apply('t', line, counts));
    expect(out[0]).toBe('before');
    expect(out.slice(1, -1).every((line) => line === M)).toBe(true);
    expect(out.at(-1)).toBe('after');
    expect(counts['private-key']).toBe(lines.length);
  });

  it('redacts a whole key inside one event to one marker, keeping the text around it', () => {
    const blocks = new OpenKeyBlocks();
    const text = ['$ cat id_rsa', ...pemLines('pkcs1'), '$ echo done'].join('\n');
    expect(blocks.apply('t', text)).toBe(`$ cat id_rsa\n${M}\n$ echo done`);
  });

  it('redacts a key inside JSON text, where its line breaks are escapes', () => {
    const blocks = new OpenKeyBlocks();
    const json = JSON.stringify({ content: pemLines().join('\n'), next: 'kept' });
    const out = blocks.apply('t', json);
    expect(out).toBe(`{"content":"${M}","next":"kept"}`);
  });

  it('keeps streams apart: a key open in one task does not touch another', () => {
    const blocks = new OpenKeyBlocks();
    const [begin, body] = pemLines();
    blocks.apply('a', begin!);
    expect(blocks.apply('b', body!)).toBe(body);
    expect(blocks.apply('a', body!)).toBe(M);
  });

  it('closes a block on the first line that is not key material, and keeps that line', () => {
    const blocks = new OpenKeyBlocks();
    blocks.apply('t', "grep: '-----BEGIN OPENSSH PRIVATE KEY-----'");
    expect(blocks.apply('t', 'Proc-Type: 4,ENCRYPTED')).toBe(M);
    expect(blocks.apply('t', 'a normal sentence, with spaces.')).toBe('a normal sentence, with spaces.');
    expect(blocks.apply('t', 'QUJDREVGR0g=')).toBe('QUJDREVGR0g=');
  });

  it('stops redacting a block that runs past any real key length', () => {
    const blocks = new OpenKeyBlocks();
    blocks.apply('t', '-----BEGIN PRIVATE KEY-----');
    const out = Array.from({ length: 300 }, () => blocks.apply('t', 'QUJDREVGR0g='));
    expect(out.filter((line) => line === M)).toHaveLength(256);
    expect(out.at(-1)).toBe('QUJDREVGR0g=');
  });
});
