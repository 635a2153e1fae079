import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run-cli.ts';
import { writeTask } from '../helpers/old-tasks.ts';
import { recordSampleTask } from '../helpers/sample-task.ts';
import { BIN, cli, PATH, tasklogs, tasklogsWith } from '../helpers/tasklogs-cli.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

async function logsWithTasks() {
  const dir = await tempLogsDir();
  const telemetry = testTelemetry(dir);
  await recordSampleTask(telemetry.tasks, {
    taskId: 'task-abc123',
    costUsd: 0.5,
    conversationId: 'github:owner/repo#42',
  });
  await recordSampleTask(telemetry.tasks, { taskId: 'task-bad', fail: true, costUsd: 0.25 });
  await telemetry.forceFlush();
  return dir;
}

// The characters of a CLI output that could drive a terminal: every control but the newline and the tab, C1 controls,
// bidi controls; paint()'s own colour codes are taken out first (only they may pass, on a terminal)
function terminalDrivers(text: string): string[] {
  let left = text;
  for (const code of [0, 1, 2, 31, 32, 33, 36]) left = left.replaceAll(`\x1b[${code}m`, '');
  return [...left].filter((c) => {
    const n = c.codePointAt(0) ?? 0;
    return (
      (n < 0x20 && c !== '\n' && c !== '\t') ||
      (n >= 0x7f && n <= 0x9f) ||
      n === 0x061c ||
      n === 0x200e ||
      n === 0x200f ||
      (n >= 0x202a && n <= 0x202e) ||
      (n >= 0x2066 && n <= 0x2069)
    );
  });
}

describe('tasklogs', () => {
  // the bin itself, as a process: its stdout, stderr and exit status (the other cases run the same function in process)
  it('as a process, prints on stdout and stderr and exits 0, 1 or 2', async () => {
    const dir = await logsWithTasks();
    const help = tasklogs(dir, '--help');
    expect(help).toMatchObject({ code: 0, err: '' });
    expect(help.out).toContain('usage: tasklogs <command> [options]');
    const list = tasklogs(dir, 'ls');
    expect(list).toMatchObject({ code: 0, err: '' });
    expect(list.out).toMatch(/task-abc123\s+completed\s+github/);
    expect(tasklogs(dir, 'show', 'task-nope')).toEqual({
      code: 1,
      out: '',
      err: 'tasklogs: task "task-nope" not found\n',
    });
    expect(tasklogs(dir, 'frobnicate')).toEqual({
      code: 2,
      out: '',
      err: 'tasklogs: unknown command "frobnicate"\n(see tasklogs --help)\n',
    });
  });

  // a logs folder this user may read but not write (a backup's read-only mount, another user's folder): the index
  // beside the tasks cannot be opened for writing; the command used to die on SQLite's error with Node's stack
  it.skipIf(process.getuid?.() !== 0)(
    'ls in a folder it cannot write says in one line where to put the index instead',
    async () => {
      const dir = await tempLogsDir();
      writeTask(dir, 'task-abc123');
      chmodSync(dir, 0o755); // readable by everyone, writable by root only
      await cli(dir, 'ls'); // root's, which makes the index, as a backup of the folder would carry it
      // one process as another user (a process start is the test's cost; with no index yet the same open fails
      // one step earlier, in SQLite's open rather than its WAL pragma, and takes the same way out)
      const run = tasklogsWith(dir, ['ls'], { uid: 65534 });
      expect(run.err).toMatch(
        /^tasklogs: cannot open the task index \/.*\/\.index\.sqlite \(.*\): .*TASK_LOGS_INDEX_PATH.*\n$/,
      );
      expect(run).toMatchObject({ code: 1, out: '' });
    },
  );

  it('prints help with exit 0, and exits 2 on bad usage with a pointer to --help', async () => {
    const dir = await tempLogsDir();
    const help = await cli(dir, '--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('usage: tasklogs <command> [options]');
    for (const command of [
      'serve',
      'ls',
      'show',
      'tail',
      'stats',
      'prune',
      'compress',
      'reindex',
      'verify',
    ]) {
      expect(help.out).toContain(`  ${command}`);
      const own = await cli(dir, command, '--help');
      expect(own.code, command).toBe(0);
      expect(own.out).toContain(`usage: tasklogs ${command}`);
    }
    expect(await cli(dir)).toMatchObject({ code: 2 });
    expect(await cli(dir, 'list')).toMatchObject({ code: 0, out: expect.stringContaining('TASK  STATUS') });
    expect(await cli(dir, 'stat')).toMatchObject({
      code: 2,
      err: expect.stringContaining('unknown command "stat"; did you mean serve or show or stats or scan?'),
    });
    expect(await cli(dir, 'frobnicate')).toMatchObject({
      code: 2,
      err: expect.stringContaining('unknown command "frobnicate"'),
    });
    expect(await cli(dir, 'ls', '--bogus')).toMatchObject({
      code: 2,
      err: expect.stringContaining("Unknown option '--bogus'"),
    });
    expect(await cli(dir, 'show')).toMatchObject({
      code: 2,
      err: expect.stringContaining('show takes 1 argument, got 0'),
    });
    expect(await cli(dir, 'ls', '--status', 'sleeping')).toMatchObject({
      code: 2,
      err: expect.stringContaining('--status'),
    });
    expect(await cli(dir, 'tail', '-n', 'many', 'task-x')).toMatchObject({ code: 2 });
  });

  it('ls, show and stats read the tasks, as tables or --json', async () => {
    const dir = await logsWithTasks();
    const list = await cli(dir, 'ls');
    expect(list.code).toBe(0);
    expect(list.out.split('\n')[0]).toMatch(/^TASK\s+STATUS\s+PROVIDER/);
    expect(list.out).toMatch(/task-abc123\s+completed\s+github/);
    // on a terminal each status has its own colour, as in show: a failed task is red, not green
    let painted = '';
    const env: NodeJS.ProcessEnv = { ...process.env, TASK_LOGS_DIR: dir };
    delete env.NO_COLOR;
    const write = (text: string) => (painted += text);
    await runCli(['ls'], { stdout: { isTTY: true, write }, stderr: { write: () => true }, env });
    const row = (id: string) => painted.split('\n').find((line) => line.startsWith(id));
    expect(row('task-abc123')).toContain('\x1b[32mcompleted');
    expect(row('task-bad')).toContain('\x1b[31mfailed');
    const failed = JSON.parse((await cli(dir, 'ls', '--status', 'failed', '--json')).out);
    expect(failed.tasks.map((t: { task_id: string }) => t.task_id)).toEqual(['task-bad']);
    const talk = await cli(dir, 'ls', '--conversation', 'github:owner/repo#42', '--json');
    expect(talk.err).toBe('');
    expect(JSON.parse(talk.out).tasks.map((t: { task_id: string }) => t.task_id)).toEqual(['task-abc123']);

    const show = await cli(dir, 'show', 'task-abc123');
    expect(show.code).toBe(0);
    expect(show.out).toContain('task-abc123  completed');
    expect(show.out).toMatch(/received\s+\d+\.\d ms/);
    expect(show.out).toContain(
      'result: success, $0.5, 1500 tokens in (1000 cache read, 200 cache write) / 800 out',
    );
    const showFailed = await cli(dir, 'show', 'task-bad');
    expect(showFailed.out).toContain('error: Agent crashed: out of budget');

    const stats = JSON.parse((await cli(dir, 'stats', '--json')).out);
    expect(stats.total).toMatchObject({
      tasks: 2,
      completed: 1,
      failed: 1,
      failure_rate: 0.5,
      cost_usd: 0.75,
    });
    expect(stats.by_provider.github.tasks).toBe(2);
    expect(stats.bytes_per_task).toBeGreaterThan(0);
    expect((await cli(dir, 'stats')).out).toMatch(/disk: .* in all, .* per task/);

    // a task written by a process that keeps no index (a service's own SDK set-up) is listed after --refresh
    const noIndex = testTelemetry(dir, {}, { index: false });
    await recordSampleTask(noIndex.tasks, { taskId: 'task-own-sdk' });
    await noIndex.forceFlush();
    expect((await cli(dir, 'ls', '--refresh')).out).toMatch(/task-own-sdk\s+completed/);
  });

  it('prints control characters of task content as escapes, never as what drives a terminal', async () => {
    // walk9: a record's content '\x1b]0;pwned\x07...\x1b[2J' set the terminal's title and cleared it under tail
    const hostile = 'A\x1b]0;pwned\x07B\x1b[2JC\rD\u009b31mE\u202eF\x7fG\tH\x1b[32mI';
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir);
    const task = telemetry.tasks.start({
      taskId: 'task-esc',
      source: 'webhook',
      provider: 'github',
      input: { message: hostile, source_metadata: { provider: 'github', event_type: hostile } },
    });
    task.recordStage('validation', { status: 'failed', detail: hostile });
    const run = task.startAgent({ name: 'brain', model: hostile });
    run.text(hostile);
    run.fail(new Error(hostile));
    await telemetry.forceFlush();
    const env: NodeJS.ProcessEnv = { ...process.env, TASK_LOGS_DIR: dir };
    delete env.NO_COLOR;
    const shown = { tty: '', pipe: '' };
    for (const command of [
      ['show', 'task-esc'],
      ['tail', 'task-esc'],
      ['ls'],
      ['tail', '--json', 'task-esc'],
    ]) {
      for (const kind of ['tty', 'pipe'] as const) {
        const write = (text: string) => (shown[kind] += text);
        const code = await runCli(command, {
          stdout: { isTTY: kind === 'tty', write },
          stderr: { write: () => true },
          env,
        });
        expect(code).toBe(0);
      }
    }
    for (const text of [shown.tty, shown.pipe]) {
      // a colour code in the content too: only paint()'s own pass (review9)
      expect(text).toContain(
        'A\\u001b]0;pwned\\u0007B\\u001b[2JC\\u000dD\\u009b31mE\\u202eF\\u007fG\tH\\u001b[32mI',
      );
      expect(terminalDrivers(text)).toEqual([]);
    }
    expect(shown.tty).toContain('\x1b[31m'); // colour stays on a terminal
    expect(shown.pipe).not.toContain('\x1b');
    expect(shown.tty).not.toContain('H\x1b[32mI');
    await telemetry.shutdown();
  });

  it('lets no planted task drive the terminal through any command, stdout or stderr; tail --json stays JSON', async () => {
    // review9: tail --json and the end line printed task text without plain(); a broken file crashed show with
    // JSON.parse's message, which quotes the file's raw bytes, on stderr
    const hostile = 'A\x1b[32mPWN\x1b]0;title\x07\u009b2J\u202eX\u2067Y\u200fZ\r';
    const dir = await tempLogsDir();
    const folder = writeTask(dir, 'task-planted', { endedDaysAgo: 40 });
    const metadata = JSON.parse(readFileSync(join(folder, 'metadata.json'), 'utf8'));
    writeFileSync(
      join(folder, 'metadata.json'),
      JSON.stringify({ ...metadata, provider: hostile, assigned_agent: hostile, model: hostile }),
    );
    // valid JSON lines both: C1 and bidi stay raw in JSON.stringify's output, a CR is JSON's whitespace
    const lines = [
      JSON.stringify({ timestamp: metadata.created_at, type: hostile, content: hostile, seq: 1 }),
      '{"type":"text",\r"content":"a CR between the keys"}',
    ];
    writeFileSync(join(folder, '03-agent-output.jsonl'), `${lines.join('\n')}\n`);
    writeFileSync(join(writeTask(dir, 'task-broken'), 'metadata.json'), `x${hostile}`);
    const env: NodeJS.ProcessEnv = { ...process.env, TASK_LOGS_DIR: dir };
    delete env.NO_COLOR;
    const printed: string[] = [];
    const run = async (...command: string[]) => {
      let out = '';
      let err = '';
      const code = await runCli(command, {
        stdout: { isTTY: true, write: (text: string) => (out += text) },
        stderr: { isTTY: true, write: (text: string) => (err += text) },
        env,
      });
      printed.push(out, err);
      return { code, out, err };
    };
    for (const command of [
      ['ls', '--refresh'],
      ['show', 'task-planted'],
      ['tail', 'task-planted'],
      ['tail', '-f', 'task-planted'],
      ['stats'],
      ['verify'],
      ['prune', '--dry-run'],
      ['show', '\u202etask-x'],
    ])
      await run(...command);
    const json = await run('tail', '--json', 'task-planted');
    expect(
      json.out
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual(lines.map((l) => JSON.parse(l)));
    const broken = await run('show', 'task-broken');
    expect(broken).toMatchObject({ code: 1, out: '' });
    expect(broken.err).toMatch(/^tasklogs: task-broken's metadata\.json is not valid JSON.*\n$/);
    for (const text of printed) {
      expect(text).not.toContain('\x1b[32mPWN');
      expect(terminalDrivers(text)).toEqual([]);
    }
  });

  it('answers an unknown task with exit 1 and a hostile id with exit 2, writing nothing', async () => {
    const dir = await logsWithTasks();
    expect(await cli(dir, 'show', 'task-nope')).toMatchObject({
      code: 1,
      err: 'tasklogs: task "task-nope" not found\n',
    });
    expect(await cli(dir, 'tail', 'task-nope')).toMatchObject({ code: 1 });
    expect(await cli(dir, 'show', '../etc')).toMatchObject({
      code: 2,
      err: expect.stringContaining('is not 1-128 characters'),
    });
  });

  it('tail prints the last lines, and tail -f follows a running task until it ends', async () => {
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir);
    const run = telemetry.tasks.start({ taskId: 'task-live' }).startAgent({ name: 'brain' });
    for (let i = 0; i < 30; i++) run.text(`line ${i}`);
    await telemetry.forceFlush();
    const last = await cli(dir, 'tail', '-n', '3', 'task-live');
    expect(
      last.out
        .trim()
        .split('\n')
        .map((l) => l.slice(9)),
    ).toEqual(['text        line 27', 'text        line 28', 'text        line 29']);

    const follower = spawn(BIN, ['tail', '-f', '-n', '1', 'task-live'], {
      env: { ...process.env, PATH, TASK_LOGS_DIR: dir, NO_COLOR: '1' },
    });
    let out = '';
    follower.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    // its first output (the last line so far) is the signal: from here on it follows after line 30, so the new line
    // shows however late its first poll comes
    await expect.poll(() => out, { timeout: 60_000 }).toContain('line 29');
    run.text('a new line');
    await expect.poll(() => out, { timeout: 60_000 }).toContain('a new line');
    run.finish({ result: 'ok' });
    const [code] = await once(follower, 'exit');
    expect(code).toBe(0);
    expect(out).toContain('-- task completed --');
    expect(out).not.toContain('line 28');
  });

  it('show counts one output line as "1 line"', async () => {
    const dir = await tempLogsDir();
    writeTask(dir, 'task-one-line', { lines: 1 });
    expect((await cli(dir, 'show', 'task-one-line')).out).toMatch(/^output: 1 line \(/m);
  });

  it('prune --dry-run, prune, compress, reindex and verify --repair do what they say, with exit codes', async () => {
    const dir = await tempLogsDir();
    writeTask(dir, 'task-ancient', { endedDaysAgo: 100 });
    writeTask(dir, 'task-week-old', { endedDaysAgo: 9 });
    writeTask(dir, 'task-fresh', { endedDaysAgo: 1 });
    const dry = await cli(dir, 'prune', '--dry-run');
    expect(dry).toMatchObject({ code: 0 });
    expect(dry.out).toContain('would delete 1 of 3 tasks');
    expect(dry.out).toMatch(/task-ancient\s+expired/);
    expect(
      JSON.parse((await cli(dir, 'prune', '--json')).out).deleted.map((d: { task_id: string }) => d.task_id),
    ).toEqual(['task-ancient']);
    const compressed = await cli(dir, 'compress');
    expect(compressed.out).toMatch(/^compressed 1 of 2 tasks: /);
    expect((await cli(dir, 'show', 'task-week-old')).out).toContain('output: 50 lines');
    expect((await cli(dir, 'reindex')).out).toMatch(/^indexed 2 tasks/);
    expect(await cli(dir, 'verify')).toMatchObject({ code: 0, out: '2 tasks checked, 0 with problems\n' });

    // a killed writer's torn last line: found (exit 1), repaired (exit 0), then clean
    const file = join(dir, 'task-fresh', '03-agent-output.jsonl');
    const whole = readFileSync(file, 'utf8');
    appendFileSync(file, '{"timestamp":"2026-01-01T00:00:00.000Z","type":"te');
    const found = await cli(dir, 'verify');
    expect(found.code).toBe(1);
    expect(found.out).toContain('task-fresh: 03-agent-output.jsonl: torn last line');
    const repaired = await cli(dir, 'verify', '--repair');
    expect(repaired).toMatchObject({ code: 0 });
    expect(repaired.out).toMatch(
      /task-fresh: repaired: 03-agent-output.jsonl: cut a torn last line \(\d+ bytes\)/,
    );
    expect(readFileSync(file, 'utf8')).toBe(whole);
    expect((await cli(dir, 'verify')).code).toBe(0);

    // what prune keeps it says in words for what it read (walk9: a folder with no metadata.json was "still queued or
    // running"): a running task, a folder whose writer has not written metadata.json yet (an old one stays too)
    writeTask(dir, 'task-running', { status: 'running', endedDaysAgo: 100 });
    const unrecorded = writeTask(dir, 'task-unrecorded', { endedDaysAgo: 100 });
    for (const name of ['metadata.json', '04-final-result.json']) rmSync(join(unrecorded, name));
    expect((await cli(dir, 'prune')).out).toMatch(
      /^deleted 0 of 4 tasks \(0 B\); kept, not known to have ended: 1 queued or running, 1 with no readable metadata\.json yet\n$/,
    );
  });

  it('serve runs the server until SIGTERM, and its curl hint carries the token when the API needs one', async () => {
    const dir = await tempLogsDir();
    // port 0: the system picks a free one (a random fixed port could be taken by another process on the machine)
    const token = 'serve-test-token-0123456789';
    const server = spawn(BIN, ['serve'], {
      env: {
        ...process.env,
        PATH,
        TASK_LOGS_DIR: dir,
        PORT: '0',
        HOST: '127.0.0.1',
        TASK_LOGS_API_TOKEN: token,
      },
    });
    let out = '';
    server.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    await expect
      .poll(() => out, { timeout: 60_000 })
      .toMatch(/task-logs listening on http:\/\/127\.0\.0\.1:\d+ /);
    const url = /task-logs listening on (http:\/\/\S+) /.exec(out)![1];
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({
      status: 'ok',
      logging: true,
    });
    await expect.poll(() => out).toContain('try: curl');
    expect(out).toContain(`try: curl -H "Authorization: Bearer $TASK_LOGS_API_TOKEN" ${url}/api/tasks`);
    server.kill('SIGTERM');
    const [code] = await once(server, 'exit');
    expect(code).toBe(0);
  });
});
