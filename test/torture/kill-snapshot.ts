// How the kill torture starts its victim cheaply. Each kill needs a fresh process, and a fresh Node that loads the
// OpenTelemetry SDK, the writer and the OTLP decoder costs several times a bare Node start. So kill-child.ts is
// bundled (rolldown) and loaded once into a V8 startup snapshot (`node --build-snapshot`); each child then starts
// from that heap, at about the cost of a bare `node -e 0`. The snapshot is kept in the system temp folder under a
// hash of everything it was built from (sources, lock file, Node version), so a later run with the same code reuses
// it. If it cannot be built, the child runs as a script (with a compile cache): slower, same checks.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const PROJECT = join(import.meta.dirname, '..', '..');
const CHILD = join(import.meta.dirname, 'kill-child.ts');
// where the sources the child bundles live (a superset: any change in them makes a new snapshot)
const SOURCE_DIRS = ['exporters', 'src/contract', 'src/ingest', 'src/instrumentation'];

export interface ChildCommand {
  /** argv of the child, program first */
  argv: string[];
  /** extra environment */
  env: Record<string, string>;
  mode: 'snapshot' | 'script';
  /** why the snapshot is not used, in script mode */
  reason?: string;
}

let pending: Promise<ChildCommand> | undefined;

/** The command that starts one victim; builds (or finds) the snapshot the first time. */
export function killChildCommand(): Promise<ChildCommand> {
  pending ??= build().catch((error: unknown) => ({
    argv: [process.execPath, CHILD],
    env: { NODE_COMPILE_CACHE: join(tmpdir(), 'task-logs-kill-child-cache') },
    mode: 'script' as const,
    reason: error instanceof Error ? error.message : String(error),
  }));
  return pending;
}

async function build(): Promise<ChildCommand> {
  const dir = join(tmpdir(), `task-logs-kill-child-${sourceHash()}`);
  const blob = join(dir, 'child.blob');
  const command = { argv: [process.execPath, '--snapshot-blob', blob], env: {}, mode: 'snapshot' as const };
  if (await exists(blob)) return command;
  const work = `${dir}.${process.pid}.tmp`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const { build: bundle } = await import('rolldown');
    await bundle({
      input: CHILD,
      platform: 'node',
      logLevel: 'silent',
      output: { format: 'cjs', file: join(work, 'child.cjs') },
    });
    // the OTLP schema is read at load, from beside the module (now the bundle)
    for (const proto of ['otlp.proto', 'rpc-status.proto'])
      await copyFile(join(PROJECT, 'src', 'ingest', proto), join(work, proto));
    const builder = spawn(
      process.execPath,
      ['--snapshot-blob', join(work, 'child.blob'), '--build-snapshot', join(work, 'child.cjs')],
      { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let errors = '';
    builder.stderr.on('data', (chunk: Buffer) => {
      if (errors.length < 4000) errors += chunk.toString();
    });
    const [code] = (await once(builder, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`node --build-snapshot failed (${code}): ${errors.trim().slice(0, 500)}`);
    try {
      await rename(work, dir);
    } catch (error) {
      // another run built the same snapshot meanwhile: use theirs
      if (!(await exists(blob))) throw error;
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return command;
}

function sourceHash(): string {
  const hash = createHash('sha256')
    .update(process.version)
    .update(readFileSync(join(PROJECT, 'package-lock.json')));
  const files = [CHILD];
  for (const dir of SOURCE_DIRS) {
    for (const entry of readdirSync(join(PROJECT, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && /\.(ts|proto|json)$/.test(entry.name))
        files.push(join(entry.parentPath, entry.name));
    }
  }
  for (const file of files.sort())
    hash.update(relative(PROJECT, file)).update('\0').update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
