// Where the package's own files (config/, assets/) are: beside src/ in a checkout, one level up from dist/src/ once built.
import { resolve } from 'node:path';

// this file is src/contract/package-files.ts, or dist/src/contract/package-files.js in the published package
const BUILT = import.meta.url.endsWith('.js');
const PACKAGE_ROOT = resolve(import.meta.dirname, BUILT ? '../../..' : '../..');

/** The absolute path of a file shipped with the package, for example `packageFile('config', 'commands.json')`. */
export function packageFile(...segments: string[]): string {
  return resolve(PACKAGE_ROOT, ...segments);
}

/** A module beside the caller's, by its name without extension (for `new Worker(...)`): `.ts` here, `.js` once built. */
export function moduleBeside(callerUrl: string, name: string): URL {
  return new URL(`./${name}${BUILT ? '.js' : '.ts'}`, callerUrl);
}
