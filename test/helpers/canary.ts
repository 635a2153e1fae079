// A canary tree outside the logs folder: files whose checksum proves nothing outside the root was read or written.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Creates a canary folder with files named like task files; returns its path. */
export function plantCanary(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const name of [
    'metadata.json',
    '01-input.json',
    '02-webhook-flow.jsonl',
    '03-agent-output.jsonl',
    '04-final-result.json',
    'secret.txt',
  ]) {
    writeFileSync(join(dir, name), `canary ${name}: not a task file, must never change\n{"torn":`);
  }
  return dir;
}

/** A checksum of every name, size, mode and byte under dir (atime aside). */
export function checksumTree(dir: string): string {
  const hash = createHash('sha256');
  const walk = (path: string) => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const stat = statSync(full);
      hash.update(`${full}\0${stat.mode}\0${stat.size}\0${stat.mtimeMs}\0`);
      if (stat.isDirectory()) walk(full);
      else if (stat.isFile()) hash.update(readFileSync(full));
    }
  };
  walk(dir);
  return hash.digest('hex');
}
