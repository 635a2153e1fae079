// 20 SSE followers of a running task with 50 MB of output that never read a byte: the server's peak RSS over its idle
// RSS. Each follow waits for its socket's `drain`, so a stalled client should cost a small fixed buffer, not the file
// (target < 64 MB for all 20).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { writeTask } from '../helpers/old-tasks.ts';
import { atMost, benchDir, fmt, QUICK, report } from './bench-kit.ts';

const FOLLOWERS = 20;
const MB = 1024 * 1024;
const FILE_MB = 50;
const SETTLE_MS = QUICK ? 2000 : 5000;

const { dir, cleanup } = benchDir('sse');
try {
  mkdirSync(dir, { recursive: true });
  const taskDir = writeTask(dir, 'task-big', { status: 'running', lines: 0 });
  const line = `${JSON.stringify({ timestamp: '2026-11-26T10:00:00.000Z', type: 'text', content: 'x'.repeat(1000) })}\n`;
  const block = line.repeat(1024);
  const blocks = Math.ceil((FILE_MB * MB) / Buffer.byteLength(block));
  writeFileSync(join(taskDir, '03-agent-output.jsonl'), block.repeat(blocks));

  const child = spawn(process.execPath, ['--expose-gc', join(import.meta.dirname, 'api-server.ts'), dir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const next = async () => JSON.parse((await once(lines, 'line'))[0] as string);
  const { ours } = (await next()) as { ours: string };
  const rss = async () => {
    child.stdin!.write('\n');
    return ((await next()) as { rss: number }).rss;
  };
  const vmRss = () =>
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

  const idle = await rss();
  const url = new URL(ours);
  const sockets: Socket[] = [];
  for (let i = 0; i < FOLLOWERS; i++) {
    const socket = connect(Number(url.port), url.hostname);
    await once(socket, 'connect');
    socket.write(
      'GET /api/tasks/task-big/logs/agent-output/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n',
    );
    socket.pause(); // never reads: the kernel buffers fill, then the server must wait
    sockets.push(socket);
  }
  let peak = idle;
  const started = performance.now();
  while (performance.now() - started < SETTLE_MS) {
    peak = Math.max(peak, vmRss());
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  for (const socket of sockets) socket.destroy();
  child.kill();
  await once(child, 'exit');
  report(
    `${FOLLOWERS} SSE followers that never read a running task's ${FILE_MB} MB output, ${SETTLE_MS / 1000} s  ` +
      `extra RSS ${fmt((peak - idle) / MB, 1)} MB`,
    atMost('extra RSS', (peak - idle) / MB, 64, ' MB', 1),
  );
} finally {
  cleanup();
}
