// Failed OTLP exports, said out loud. The SDK's batch processors drop a batch the collector refused or never answered
// (once the exporter's retries are spent) without a word while the process runs, and a shutdown whose last export
// fails after its retries resolved quietly too: an operator learnt of a dead collector only from what was missing in
// Datadog. Each export's result is watched here: the first failure is reported at once, later ones at most once a
// minute with their counts, and what is left unreported when the telemetry shuts down.
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

const QUIET_MS = 60_000;

interface Counts {
  batches: number;
  spans: number;
  logRecords: number;
}

export class ExportFailures {
  readonly #report: (message: string) => void;
  #lastReportAt = Number.NEGATIVE_INFINITY;
  #since: Counts = { batches: 0, spans: 0, logRecords: 0 };
  #lastError = '';

  constructor(report: (message: string) => void) {
    this.#report = report;
  }

  /** The span exporter, its failed results counted and reported. */
  spans(exporter: SpanExporter): SpanExporter {
    return {
      export: (spans: ReadableSpan[], done: (result: ExportResult) => void) =>
        exporter.export(spans, (result) => {
          if (result.code !== ExportResultCode.SUCCESS) this.#failed('spans', spans.length, result.error);
          done(result);
        }),
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    };
  }

  /** The log record exporter, its failed results counted and reported. */
  logRecords(exporter: LogRecordExporter): LogRecordExporter {
    return {
      export: (records: ReadableLogRecord[], done: (result: ExportResult) => void) =>
        exporter.export(records, (result) => {
          if (result.code !== ExportResultCode.SUCCESS)
            this.#failed('logRecords', records.length, result.error);
          done(result);
        }),
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    };
  }

  /** Reports the failures not yet reported (at shutdown). */
  flush(): void {
    if (this.#since.batches > 0) this.#say(performance.now());
  }

  #failed(kind: 'spans' | 'logRecords', items: number, error: Error | undefined): void {
    this.#since.batches++;
    this.#since[kind] += items;
    this.#lastError = error === undefined ? 'no reason given' : `${error.name}: ${error.message}`;
    const now = performance.now();
    if (now - this.#lastReportAt >= QUIET_MS) this.#say(now);
  }

  #say(now: number): void {
    const { batches, spans, logRecords } = this.#since;
    const lost = [
      spans > 0 ? `${spans} ${spans === 1 ? 'span' : 'spans'}` : '',
      logRecords > 0 ? `${logRecords} ${logRecords === 1 ? 'log record' : 'log records'}` : '',
    ]
      .filter((part) => part !== '')
      .join(' and ');
    const message =
      `OTLP export failed: ${batches} ${batches === 1 ? 'batch' : 'batches'} (${lost}) not delivered` +
      `${Number.isFinite(this.#lastReportAt) ? ' since the last report' : ''}; last error: ${this.#lastError} ` +
      '(the task files are written either way; is the collector up?)';
    this.#since = { batches: 0, spans: 0, logRecords: 0 };
    this.#lastReportAt = now;
    try {
      this.#report(message);
    } catch {
      // a report function that throws must not break the SDK's export loop
    }
  }
}
