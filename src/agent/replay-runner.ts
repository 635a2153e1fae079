// ReplayRunner: plays a recorded stream-json transcript through the same parser as a live Claude run, so the whole
// pipeline works on a machine without an agent installed. It says so in its first output line.
import { readFile } from 'node:fs/promises';
import { packageFile } from '../contract/package-files.ts';
import type { AgentRun } from '../instrumentation/agent-run.ts';
import type { AgentJob, AgentRunner } from './agent-runner.ts';
import { StreamJsonParser } from './stream-json-parser.ts';

export const BUNDLED_TRANSCRIPT = packageFile('assets', 'replay', 'review-transcript.jsonl');

export class ReplayRunner implements AgentRunner {
  readonly name = 'replay';
  readonly #file: string;
  readonly #delayMs: number;

  constructor(options: { file?: string; delayMs?: number } = {}) {
    this.#file = options.file ?? BUNDLED_TRANSCRIPT;
    this.#delayMs = options.delayMs ?? 20;
  }

  async run(run: AgentRun, _job: AgentJob): Promise<void> {
    run.system(
      `[REPLAY] This is a replay of a recorded agent transcript (${this.#file}), not a live agent.`,
      {
        replay: true,
      },
    );
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (error) {
      run.fail(new Error(`cannot read the replay transcript: ${(error as Error).message}`));
      return;
    }
    // the transcript's cost and tokens are kept (they are what the recorded run used), but not its duration: the
    // task's duration is this replay's, as its waterfall shows (a 38.5 s recording replays in about half a second)
    const parser = new StreamJsonParser(run, { recordedDuration: false });
    for (const line of text.split('\n')) {
      parser.line(line);
      if (run.finished) return;
      if (this.#delayMs > 0 && line.trim() !== '') await new Promise((r) => setTimeout(r, this.#delayMs));
    }
    run.error('the transcript ended without a result message');
    run.fail(new Error('the transcript ended without a result message'));
  }
}
