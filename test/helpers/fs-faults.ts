// Fault injection at Node's own file API, the way SQLite's ioerr tests fail calls at its VFS: every function of
// node:fs/promises that the product uses, and every FileHandle method, goes through a counter while armed; the Nth
// call (transient) or every call from the Nth on (persistent) fails with the planned errno instead. A short write
// writes half its bytes and reports so, and the write that would continue it fails with ENOSPC (a disk that filled
// up mid-write); a failed recursive rm removes one file first (a delete cut short). Named ESM imports of
// node:fs/promises see the patched functions through syncBuiltinESMExports; FileHandle methods are patched on the
// class's prototype, so streams made from a handle fail too; node:fs's callback write (the writer's appends) is
// patched as 'fd.write', counted only when a plan names it. One process, one plan at a time.
import fsCallbacks from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';

export const FAULT_CODES = ['EIO', 'ENOSPC', 'EACCES', 'EMFILE', 'SHORT_WRITE'] as const;
export type FaultCode = (typeof FAULT_CODES)[number];
export type FaultMode = 'transient' | 'persistent';

const FS_FUNCTIONS = [
  'open',
  'rename',
  'unlink',
  'rm',
  'mkdir',
  'readdir',
  'lstat',
  'stat',
  'link',
  'truncate',
  'readFile',
  'writeFile',
  'appendFile',
  'copyFile',
] as const;
const HANDLE_METHODS = ['read', 'write', 'stat', 'sync', 'datasync', 'truncate', 'close'] as const;

interface Plan {
  at: number;
  code: FaultCode;
  mode: FaultMode;
  /** only these operations are counted (all when absent) */
  only?: ReadonlySet<string>;
}

export interface FsFaults {
  /** counts operations from 0 and fails the planned one(s) */
  arm(at: number, code: FaultCode, mode: FaultMode, only?: readonly string[]): void;
  /** stops failing (and counting) */
  clear(): void;
  /** operations counted since arm() */
  ops(): number;
  /** the operations failed since arm(), by name (`rename`, `handle.write`, ...) */
  failed(): string[];
  /** the same faults with their number (the error says `injected fault #N in <op>`) and the product function that
   * made the call (`exporters/file-system.ts appendAll`): what a sweep needs to account for each fault */
  faults(): InjectedFault[];
  /** puts Node's functions back */
  restore(): void;
}

export interface InjectedFault {
  id: number;
  op: string;
  /** the first frame of src/ or exporters/ on the call's stack: `<file> <function>` ('?' when none is there) */
  site: string;
}

let installed: FsFaults | undefined;
let nextFaultId = 1;

// the product's own frame that called the failing function (the wrappers are entered synchronously by the caller)
function productSite(): string {
  const frames: string[] = [];
  for (const line of (new Error('site').stack ?? '').split('\n').slice(1)) {
    const m = /at (?:async )?(?:(\S+) \()?.*?\/((?:src|exporters)\/[^:)]+):\d+/.exec(line);
    if (m && !line.includes('/test/')) frames.push(`${m[2]} ${m[1] ?? '<anonymous>'}`);
  }
  return frames.join(' < ') || '?';
}

/** Patches node:fs/promises and FileHandle (once per process); the patches do nothing until armed. */
export async function installFsFaults(): Promise<FsFaults> {
  if (installed !== undefined) return installed;
  const probe = await fsp.open(import.meta.filename, 'r');
  const handleProto = Object.getPrototypeOf(probe) as Record<string, unknown>;
  await probe.close();
  const fsTable = fsp as unknown as Record<string, unknown>;
  const originals = new Map<string, unknown>();
  const handleOriginals = new Map<string, unknown>();
  let plan: Plan | undefined;
  let count = 0;
  let failed: string[] = [];
  let records: InjectedFault[] = [];
  // a fault is recorded as it is injected; its error names it by number
  const record = (name: string): number => {
    const id = nextFaultId++;
    failed.push(name);
    records.push({ id, op: name, site: productSite() });
    return id;
  };
  // handles a short write left half-written: their next write fails with ENOSPC
  // (the ENOSPC that follows carries the short write's number: it is how that fault is reported)
  const diskFull = new WeakMap<object, number>();

  const due = (name: string): boolean => {
    if (plan === undefined) return false;
    if (plan.only !== undefined && !plan.only.has(name)) return false;
    count++;
    return plan.mode === 'transient' ? count === plan.at : count >= plan.at;
  };
  const error = (code: string, name: string, id?: number) =>
    Object.assign(new Error(`${code}: injected fault${id === undefined ? '' : ` #${id}`} in ${name}`), {
      code,
      syscall: name,
    });
  const errnoFor = (code: FaultCode) => (code === 'SHORT_WRITE' ? 'ENOSPC' : code);

  for (const name of FS_FUNCTIONS) {
    const original = fsTable[name] as (...args: unknown[]) => Promise<unknown>;
    originals.set(name, original);
    fsTable[name] = async (...args: unknown[]) => {
      if (!due(name)) return original(...args);
      const id = record(name);
      const code = errnoFor(plan!.code);
      if (name === 'rm') await removeOneFile(args[0] as string, originals);
      throw error(code, name, id);
    };
  }
  for (const name of HANDLE_METHODS) {
    const original = handleProto[name] as (this: FileHandle, ...args: unknown[]) => Promise<unknown>;
    handleOriginals.set(name, original);
    handleProto[name] = async function (this: FileHandle, ...args: unknown[]) {
      const key = `handle.${name}`;
      const fullAfter = name === 'write' ? diskFull.get(this) : undefined;
      if (fullAfter !== undefined) {
        diskFull.delete(this);
        throw error('ENOSPC', key, fullAfter);
      }
      if (!due(key)) return original.apply(this, args);
      const id = record(key);
      if (name === 'close') {
        // close(2) frees the descriptor even when it reports an error
        await original.apply(this, args);
        throw error(errnoFor(plan!.code), key, id);
      }
      if (name === 'write' && plan!.code === 'SHORT_WRITE' && Buffer.isBuffer(args[0])) {
        const data = args[0];
        const offset = typeof args[1] === 'number' ? args[1] : 0;
        const length = typeof args[2] === 'number' ? args[2] : data.length - offset;
        if (length > 1) {
          const half = length >> 1;
          const result = (await original.apply(this, [data, offset, half, ...args.slice(3)])) as {
            bytesWritten: number;
          };
          diskFull.set(this, id);
          return result;
        }
      }
      throw error(errnoFor(plan!.code), key, id);
    };
  }
  // the writer's appends write raw descriptors with node:fs's callback write: counted only when a plan names
  // 'fd.write' (other plans count what they did before), with the same short-write-then-disk-full behaviour
  const callbackTable = fsCallbacks as unknown as Record<string, unknown>;
  const originalWrite = callbackTable.write as (...args: unknown[]) => void;
  const fullFds = new Map<number, number>();
  callbackTable.write = function (this: unknown, fd: number, data: unknown, ...rest: unknown[]) {
    const key = 'fd.write';
    const callback = rest.at(-1) as (error: Error | null, written?: number) => void;
    const fullAfter = fullFds.get(fd);
    if (fullAfter !== undefined) {
      fullFds.delete(fd);
      process.nextTick(callback, error('ENOSPC', key, fullAfter));
      return;
    }
    if (plan?.only?.has(key) !== true || !due(key)) {
      originalWrite.call(this, fd, data, ...rest);
      return;
    }
    const id = record(key);
    if (plan.code === 'SHORT_WRITE' && Buffer.isBuffer(data)) {
      const offset = typeof rest[0] === 'number' ? rest[0] : 0;
      const length = typeof rest[1] === 'number' ? rest[1] : data.length - offset;
      if (length > 1) {
        fullFds.set(fd, id);
        originalWrite.call(this, fd, data, offset, length >> 1, null, callback);
        return;
      }
    }
    process.nextTick(callback, error(errnoFor(plan.code), key, id));
  };
  syncBuiltinESMExports();

  installed = {
    arm(at, code, mode, only) {
      count = 0;
      failed = [];
      records = [];
      plan = { at, code, mode, ...(only === undefined ? {} : { only: new Set(only) }) };
    },
    clear() {
      plan = undefined;
    },
    ops: () => count,
    failed: () => failed,
    faults: () => records,
    restore() {
      plan = undefined;
      for (const [name, fn] of originals) fsTable[name] = fn;
      for (const [name, fn] of handleOriginals) handleProto[name] = fn;
      callbackTable.write = originalWrite;
      syncBuiltinESMExports();
      installed = undefined;
    },
  };
  return installed;
}

// a recursive delete that failed part way: the first regular file found is gone, the rest is still there
async function removeOneFile(path: string, originals: Map<string, unknown>): Promise<void> {
  const readdir = originals.get('readdir') as typeof fsp.readdir;
  const unlink = originals.get('unlink') as typeof fsp.unlink;
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  const file = entries.find((entry) => entry.isFile());
  if (file !== undefined) await unlink(join(path, file.name)).catch(() => undefined);
}
