// A real redis-server for the split-mode tests, on a free loopback port, stopped when the test ends. Without the
// binary the tests are skipped loudly outside CI, and fail in CI (whose .ci/run installs it).
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { onTestFinished } from 'vitest';

function hasRedis(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export async function startRedis(): Promise<string | undefined> {
  return (await startStoppableRedis())?.url;
}

/** A redis-server the test can stop (and start again on the same port) to play an outage. */
export async function startStoppableRedis(
  port?: number,
): Promise<{ url: string; stop(): Promise<void> } | undefined> {
  if (!hasRedis()) {
    if (process.env.CI)
      throw new Error('redis-server is not installed, and CI needs it: .ci/run installs it from Debian');
    console.warn(
      '\n*** SKIPPED: redis-server not found. Install it with `apt-get install redis-server` to run the Redis tests. ***\n',
    );
    return undefined;
  }
  if (port !== undefined) return spawnRedis(port);
  // the free port is closed again before redis-server binds it: another process on the machine may take it in
  // between, and then redis-server exits at once; a new port is tried
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnRedis(await freePort());
    } catch (error) {
      if (attempt === 5 || !(error as Error).message.includes('Address already in use')) throw error;
    }
  }
}

async function spawnRedis(port: number): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  onTestFinished(() => {
    child.kill('SIGTERM');
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      if (out.includes('Ready to accept connections')) resolve();
    });
    // 'close', not 'exit': its last output (why it stopped) is read by then
    child.once('close', (code) => reject(new Error(`redis-server exited with ${code}: ${out.slice(-500)}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
