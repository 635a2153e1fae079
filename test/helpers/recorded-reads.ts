// The paths a test's code opens, stats or lists through node:fs/promises while recorded: how a test sees which task
// folders a check read, without a mock in the way (the calls go through to the real functions). With `from`, only the
// calls made from that source file (its frame on the call's stack, async frames included). Stopped when the test ends.
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { onTestFinished } from 'vitest';

export function recordReads(from?: string): { paths: string[]; stop(): void } {
  const table = fsp as unknown as Record<string, (...args: unknown[]) => unknown>;
  const names = ['open', 'stat', 'lstat', 'readFile', 'readdir'];
  const originals = names.map((name) => table[name]!);
  const paths: string[] = [];
  names.forEach((name, i) => {
    table[name] = (...args: unknown[]) => {
      if (from === undefined || new Error('call site').stack?.includes(from)) paths.push(String(args[0]));
      return originals[i]!(...args);
    };
  });
  syncBuiltinESMExports();
  const stop = () => {
    names.forEach((name, i) => {
      table[name] = originals[i]!;
    });
    syncBuiltinESMExports();
  };
  onTestFinished(stop);
  return { paths, stop };
}
