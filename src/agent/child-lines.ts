// Runs a child process and hands over its stdout and stderr line by line, with a timeout that ends it.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** the spawn itself failed (no such program, not executable) */
  spawnError: Error | undefined;
}

export interface ChildOptions {
  argv: string[];
  stdin?: string;
  timeoutMs: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  onStdout: (line: string) => void;
  onStderr: (line: string) => void;
}

const KILL_GRACE_MS = 5000;

export function runChild(options: ChildOptions): Promise<ChildResult> {
  const [program, ...args] = options.argv;
  return new Promise((resolve) => {
    let timedOut = false;
    let spawnError: Error | undefined;
    const child = spawn(program!, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
    }, options.timeoutMs);
    timer.unref();
    child.on('error', (error) => {
      spawnError = error;
    });
    // an agent that exits without reading its prompt closes stdin under us: that is its business, not a crash
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
    const stdout = createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
    const stderr = createInterface({ input: child.stderr, crlfDelay: Number.POSITIVE_INFINITY });
    stdout.on('line', options.onStdout);
    stderr.on('line', options.onStderr);
    let streamsOpen = 2;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const done = () => {
      if (streamsOpen > 0 || exit === undefined) return;
      clearTimeout(timer);
      resolve({ ...exit, timedOut, spawnError });
    };
    stdout.on('close', () => {
      streamsOpen--;
      done();
    });
    stderr.on('close', () => {
      streamsOpen--;
      done();
    });
    child.on('close', (code, signal) => {
      exit = { code, signal };
      done();
    });
  });
}
