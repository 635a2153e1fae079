// `npm install` run by an older system Node (the project brings its own Node 24 for every script) prints no wall of
// EBADENGINE warnings: .npmrc keeps npm's output to errors.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** The first executable of that name on PATH outside the project's node_modules/.bin: what a shell would run. */
function systemBinary(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || resolve(dir).startsWith(join(ROOT, 'node_modules'))) continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

describe('npm install with the system Node', () => {
  it('prints no EBADENGINE warnings, only errors', () => {
    const node = systemBinary('node');
    const npm = systemBinary('npm');
    if (node === undefined || npm === undefined) {
      console.warn('SKIPPED: no system node and npm on PATH');
      return;
    }
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    const [major = 0, minor = 0] = version.slice(1).split('.').map(Number);
    if (major > 22 || (major === 22 && minor >= 15)) {
      console.warn(
        `the system Node is ${version}, new enough for every package: there was nothing to warn about`,
      );
    }
    // npm-cli.js run by the system node, as `npm install` typed in a shell runs it; --dry-run changes nothing
    const result = spawnSync(
      node,
      [realpathSync(npm), 'install', '--dry-run', '--offline', '--no-audit', '--no-fund'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(result.stderr).not.toContain('EBADENGINE');
    expect(result.stderr.split('\n').filter((line) => line.trim() !== '').length).toBeLessThan(3);
    expect(result.status).toBe(0);
  });
});
