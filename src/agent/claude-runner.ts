// ClaudeRunner: runs the Claude Code CLI (AGENT_COMMAND, stream-json output) with the prompt on stdin, and maps
// every message it prints through the stream-json parser.
import type { AgentRun } from '../instrumentation/agent-run.ts';
import type { AgentJob, AgentRunner } from './agent-runner.ts';
import { describeChildEnd, runChild } from './child-lines.ts';
import { StreamJsonParser } from './stream-json-parser.ts';

export const DEFAULT_CLAUDE_COMMAND = 'claude -p --output-format stream-json --verbose';

export class ClaudeRunner implements AgentRunner {
  readonly name = 'claude';
  readonly #argv: string[];
  readonly #timeoutMs: number;
  readonly #cwd: string | undefined;

  constructor(options: { argv: string[]; timeoutSeconds: number; cwd?: string }) {
    this.#argv = options.argv;
    this.#timeoutMs = options.timeoutSeconds * 1000;
    this.#cwd = options.cwd;
  }

  async run(run: AgentRun, job: AgentJob): Promise<void> {
    // the result ends the run once the process has ended: its stderr (another pipe) may arrive after stdout's result
    const parser = new StreamJsonParser(run, { deferFinish: true });
    const stderr: string[] = [];
    const result = await runChild({
      argv: this.#argv,
      stdin: job.prompt,
      timeoutMs: this.#timeoutMs,
      ...(this.#cwd ? { cwd: this.#cwd } : {}),
      onStdout: (line) => parser.line(line),
      onStderr: (line) => {
        if (line.trim() === '') return;
        stderr.push(line);
        if (stderr.length > 20) stderr.shift();
        run.system(`[stderr] ${line}`, { stream: 'stderr' });
      },
    });
    parser.finishPending();
    if (run.finished) return;
    const tail = stderr.length ? `: ${stderr.slice(-3).join(' | ')}` : '';
    const why = describeChildEnd(result, {
      program: this.#argv[0] ?? '',
      timeoutMs: this.#timeoutMs,
      exited: ` before its result${tail}`,
    });
    run.error(`agent ${why}`);
    run.fail(new Error(`agent ${why}`));
  }
}
