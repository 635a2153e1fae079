// A task's JSON files are written whole (renamed into place), so one that does not parse was damaged or edited by
// hand. The API answered such a file with a bare 500 "internal error" and logged a stack whose message quoted the
// file's raw bytes: a planted escape sequence reached the operator's terminal through the server's log.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it, onTestFinished, vi } from 'vitest';
import { TASK_FILES } from '../../src/contract/task-files.ts';
import { UNSAFE_CHARS } from '../../src/contract/terminal-safe.ts';
import { getJson, testServer } from '../helpers/server.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

// what could drive a terminal: C0 controls but newline and tab, DEL and C1, bidi controls
const DRIVES_A_TERMINAL = new RegExp(UNSAFE_CHARS);

it('a task file that is not JSON is answered with a code naming it, and logged in one safe line', async () => {
  const root = await tempLogsDir();
  const dir = join(root, 'task-damaged1');
  await mkdir(dir);
  // V8's SyntaxError quotes the text it could not parse: here an OSC title sequence and a bidi override
  await writeFile(join(dir, TASK_FILES.metadata), '{"task_id": x\x1b]0;pwned\x07\u202e}');
  await writeFile(join(dir, TASK_FILES.input), '{"source": "github"}\n');
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === 'string' && chunk.includes('task-damaged1')) {
      written.push(chunk);
      return true;
    }
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  });
  onTestFinished(() => spy.mockRestore());
  const server = await testServer(root);

  for (const path of ['metadata', 'full']) {
    const answer = await getJson(`${server.url}/api/tasks/task-damaged1/logs/${path}`);
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({
      error: {
        code: 'TASK_FILE_INVALID',
        message: 'metadata.json of task task-damaged1 is not valid JSON (damaged, or edited by hand)',
      },
    });
  }
  // the files that do parse are still served
  expect((await getJson(`${server.url}/api/tasks/task-damaged1/logs/input`)).status).toBe(200);

  expect(written).toHaveLength(2);
  for (const line of written) {
    expect(line).toMatch(
      /answered 500: TASK_FILE_INVALID: metadata\.json of task task-damaged1 is not valid JSON/,
    );
    expect(line).not.toMatch(DRIVES_A_TERMINAL);
    expect(line.trimEnd()).not.toContain('\n'); // one line, not a stack
  }
});
