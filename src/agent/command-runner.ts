// CommandRunner: any command as the agent. Its stdout lines become text output, its stderr lines errors; exit code 0
// is success, with the last stdout line as the result.
import type { AgentRun } from '../instrumentation/agent-run.ts';
import type { AgentJob, AgentRunner } from './agent-runner.ts';
import { describeChildEnd, runChild } from './child-lines.ts';

export class CommandRunner implements AgentRunner {
  readonly name = 'command';
  readonly #argv: string[];
  readonly #timeoutMs: number;

  constructor(options: { argv: string[]; timeoutSeconds: number }) {
    this.#argv = options.argv;
    this.#timeoutMs = options.timeoutSeconds * 1000;
  }

  async run(run: AgentRun, job: AgentJob): Promise<void> {
    run.system(`[SYSTEM] Running ${this.#argv[0]}`);
    let last = null as string | null;
    const result = await runChild({
      argv: this.#argv,
      stdin: job.prompt,
      timeoutMs: this.#timeoutMs,
      onStdout: (line) => {
        if (line.trim() === '') return;
        last = line;
        run.text(line);
      },
      onStderr: (line) => {
        if (line.trim() !== '') run.error(line, { stream: 'stderr' });
      },
    });
    if (result.code === 0 && !result.timedOut) {
      run.finish({ success: true, result: last });
      return;
    }
    const why = describeChildEnd(result, { program: this.#argv[0] ?? '', timeoutMs: this.#timeoutMs });
    run.error(`command ${why}`);
    run.fail(new Error(`command ${why}`), { result: last });
  }
}
