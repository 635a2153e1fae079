import { describe, expect, it } from 'vitest';
import { withoutPaths } from '../../src/http/without-paths.ts';

describe('withoutPaths', () => {
  it.each([
    ["EACCES: permission denied, mkdir '/srv/logs/task-x'", "EACCES: permission denied, mkdir '<path>'"],
    [
      'ENOENT: no such file or directory, open /tmp/a/b.json',
      'ENOENT: no such file or directory, open <path>',
    ],
    ['cannot read (/home/u/data/logs/.index.sqlite)', 'cannot read (<path>)'],
    ['at /work/x/src/http/app.ts:12:3', 'at <path>'],
    ['path=/var/lib/x', 'path=<path>'],
    ['"/etc/passwd" is not allowed', '"<path>" is not allowed'],
  ])('cuts the file path out of %j', (text, expected) => {
    expect(withoutPaths(text)).toBe(expected);
  });

  it.each([
    'content type "application/json" is not taken',
    'X-GitHub-Event "issue_comment" is missing',
    'the body is larger than the 1024 bytes allowed',
    'a / b',
    'owner/repo',
  ])('leaves text without a file path alone: %j', (text) => {
    expect(withoutPaths(text)).toBe(text);
  });

  it('bounds the text', () => {
    expect(withoutPaths('x'.repeat(10_000)).length).toBeLessThanOrEqual(501);
  });
});
