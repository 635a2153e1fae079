// File systems with faults injected at the fs edge: failing with an errno, or stalled until released.
import type { FileSystem } from '../../exporters/file-system.ts';
import { nodeFileSystem } from '../../exporters/file-system.ts';

export function failingFs(code: string, isFailing: () => boolean): FileSystem {
  const fail = () => Object.assign(new Error(`${code}: injected fault`), { code });
  const guard =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (isFailing()) throw fail();
      return fn(...args);
    };
  return {
    mkdir: guard(nodeFileSystem.mkdir),
    openFolder: nodeFileSystem.openFolder,
    append: guard(nodeFileSystem.append),
    writeNew: guard(nodeFileSystem.writeNew),
    rename: guard(nodeFileSystem.rename),
    link: guard(nodeFileSystem.link),
    unlink: nodeFileSystem.unlink,
    rmdir: nodeFileSystem.rmdir,
    removeTree: nodeFileSystem.removeTree,
    list: nodeFileSystem.list,
    readFile: nodeFileSystem.readFile,
    mtimeMs: nodeFileSystem.mtimeMs,
    syncDir: nodeFileSystem.syncDir,
  };
}

/** Every write waits until `release()`: a disk that has stopped answering. */
export function stalledFs(): { fs: FileSystem; release: () => void; stalledCalls: () => number } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let calls = 0;
  const stall =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      calls++;
      await gate;
      return fn(...args);
    };
  return {
    fs: { ...nodeFileSystem, mkdir: stall(nodeFileSystem.mkdir), append: stall(nodeFileSystem.append) },
    release,
    stalledCalls: () => calls,
  };
}
