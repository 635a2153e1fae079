// Runs a child process and hands over its stdout and stderr line by line, with a timeout that ends it. The child
// runs in its own process group under a small sh watchdog that holds one end of a pipe (fd 3) to this process: when
// this process dies, even by kill -9, the pipe closes and the watchdog kills the whole group, so no agent (nor
// anything it started) runs on unowned.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** the spawn itself failed (no such program, not executable) */
  spawnError: Error | undefined;
}

/** Why a child did not succeed, in words: it could not start, it timed out, or it exited (`exited` is added then). */
export function describeChildEnd(
  result: ChildResult,
  how: { program: string; timeoutMs: number; exited?: string },
): string {
  if (result.spawnError) return `could not start ${how.program}: ${result.spawnError.message}`;
  if (result.timedOut) return `timed out after ${how.timeoutMs / 1000} s`;
  const end = result.signal ? `signal ${result.signal}` : `code ${result.code}`;
  return `exited with ${end}${how.exited ?? ''}`;
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

// $@ is the agent's argv. fd 4 keeps our stdin for it (a background job's stdin is /dev/null otherwise). The
// watcher blocks on fd 3 until this process's end of the pipe closes, then kills the group (kill 0). When the agent
// ends first, the watcher is stopped and sh ends the way the agent did (the same exit code, or the same signal).
const WATCHDOG = [
  'exec 4<&0',
  '"$@" <&4 4<&- 3<&- &',
  'agent=$!',
  'exec 4<&-',
  '( read _ <&3; kill -KILL 0 ) &',
  'watch=$!',
  'exec 3<&-',
  'wait "$agent"; status=$?',
  'kill "$watch" 2>/dev/null',
  'if [ "$status" -gt 128 ]; then trap - "$(kill -l "$status")"; kill -s "$(kill -l "$status")" $$; fi',
  'exit "$status"',
].join('\n');

// one 'exit' listener for every running child, not one each
const onProcessExit = new Set<() => void>();
process.once('exit', () => {
  for (const kill of onProcessExit) kill();
});

export function runChild(options: ChildOptions): Promise<ChildResult> {
  const [program, ...args] = options.argv;
  const env = options.env ?? process.env;
  return new Promise((resolve) => {
    let timedOut = false;
    let spawnError: Error | undefined;
    // the spawn error Node would give for a missing program, since sh would only say "not found" on stderr
    if (program === undefined || !isRunnable(program, env.PATH, options.cwd)) {
      const error = Object.assign(new Error(`spawn ${program} ENOENT`), { code: 'ENOENT' });
      resolve({ code: null, signal: null, timedOut: false, spawnError: error });
      return;
    }
    const child = spawn('/bin/sh', ['-c', WATCHDOG, 'agent-watchdog', program, ...args], {
      cwd: options.cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      detached: true, // its own process group, so a kill reaches everything the agent started
    });
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        child.kill(signal); // the group is gone already; the child itself, if anything
      }
    };
    // a normal exit of this process takes the agent with it at once (kill -9 is the watchdog's job)
    const onExit = () => killGroup('SIGKILL');
    onProcessExit.add(onExit);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
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
      onProcessExit.delete(onExit);
      (child.stdio[3] as NodeJS.WritableStream | null)?.end();
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

function isRunnable(program: string, path: string | undefined, cwd: string | undefined): boolean {
  const candidates = program.includes('/')
    ? [isAbsolute(program) ? program : join(cwd ?? process.cwd(), program)]
    : (path ?? '')
        .split(delimiter)
        .filter((dir) => dir !== '')
        .map((dir) => join(dir, program));
  return candidates.some((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false; // not here: try the next folder
    }
  });
}
