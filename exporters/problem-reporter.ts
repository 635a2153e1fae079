// ProblemReporter: reports write problems without flooding the log. The first occurrence of a kind is reported at
// once; repeats at most every 10 s, saying how many were held back.
const REPORT_EVERY_MS = 10_000;

export class ProblemReporter {
  readonly #report: (message: string) => void;
  readonly #context: () => string;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  /** `context` is appended to each report (the writer's counts, so a report says how bad things are). */
  constructor(report: (message: string) => void, context: () => string) {
    this.#report = report;
    this.#context = context;
  }

  problem(key: string, message: string): void {
    const now = Date.now();
    const last = this.#last.get(key);
    if (last !== undefined && now - last.at < REPORT_EVERY_MS) {
      last.suppressed++;
      return;
    }
    const held = last?.suppressed ? ` (${last.suppressed} similar since the last report)` : '';
    this.#report(`${message}${held}; ${this.#context()}`);
    this.#last.set(key, { at: now, suppressed: 0 });
  }
}
