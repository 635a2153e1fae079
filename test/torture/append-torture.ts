// Concurrent appends: several processes append lines of 10 B to 64 KiB to the same task at once. Every line must
// come out whole (it parses), none lost, none twice.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const CHILD = join(import.meta.dirname, 'append-child.ts');

export async function appendTorture(options: {
  processes: number;
  linesEach: number;
}): Promise<{ lines: number; bytes: number; failures: string[] }> {
  const root = await mkdtemp(join(tmpdir(), 'task-logs-appends-'));
  const failures: string[] = [];
  try {
    const children = Array.from({ length: options.processes }, (_, p) => {
      const child = spawn(process.execPath, [CHILD, root, String(options.linesEach), `p${p}`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk;
      });
      return new Promise<string>((resolve) => child.once('exit', () => resolve(out)));
    });
    for (const [p, out] of (await Promise.all(children)).entries()) {
      const stats = JSON.parse(out || '{}') as { written?: number; dropped?: number };
      if (stats.written !== options.linesEach || stats.dropped !== 0)
        failures.push(`process p${p} reported ${out.trim() || 'nothing'}`);
    }
    const seen = new Map<string, Set<number>>();
    let lines = 0;
    let bytes = 0;
    const input = createReadStream(join(root, 'task-shared', '03-agent-output.jsonl'));
    for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
      lines++;
      bytes += Buffer.byteLength(line) + 1;
      let content: string;
      try {
        content = JSON.parse(line).content;
      } catch {
        failures.push(`line ${lines} is not whole JSON (${line.length} bytes, starts ${line.slice(0, 40)})`);
        continue;
      }
      const [tag, number] = content.split(':');
      let numbers = seen.get(tag!);
      if (numbers === undefined) {
        numbers = new Set();
        seen.set(tag!, numbers);
      }
      if (numbers.has(Number(number))) failures.push(`line ${tag}:${number} written twice`);
      numbers.add(Number(number));
    }
    for (let p = 0; p < options.processes; p++) {
      const got = seen.get(`p${p}`)?.size ?? 0;
      if (got !== options.linesEach) failures.push(`p${p}: ${got} of ${options.linesEach} lines`);
    }
    return { lines, bytes, failures };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
