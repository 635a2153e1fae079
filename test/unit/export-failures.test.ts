// ExportFailures: an OTLP export that fails is reported, the first at once and the rest at most once a minute, and
// what is left at shutdown; a successful export says nothing, and the result still reaches the SDK.
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { ExportFailures } from '../../src/instrumentation/export-failures.ts';

function exporterAnswering(result: () => ExportResult) {
  return {
    export: (_items: unknown[], done: (result: ExportResult) => void) => done(result()),
    shutdown: async () => undefined,
    forceFlush: async () => undefined,
  };
}

describe('ExportFailures', () => {
  it('reports the first failure at once, holds later ones, and says what is left when flushed', () => {
    const reports: string[] = [];
    const failures = new ExportFailures((line) => reports.push(line));
    let code = ExportResultCode.SUCCESS;
    const spans = failures.spans(
      exporterAnswering(() => ({ code, error: new Error('connect ECONNREFUSED') })),
    );
    const logs = failures.logRecords(
      exporterAnswering(() => ({ code, error: new Error('connect ECONNREFUSED') })),
    );
    const results: ExportResultCode[] = [];
    spans.export([{} as ReadableSpan], (r) => results.push(r.code));
    expect(reports).toEqual([]);
    code = ExportResultCode.FAILED;
    spans.export([{} as ReadableSpan, {} as ReadableSpan], (r) => results.push(r.code));
    logs.export([{} as ReadableLogRecord], (r) => results.push(r.code));
    logs.export([{} as ReadableLogRecord, {} as ReadableLogRecord], (r) => results.push(r.code));
    expect(results).toEqual([ExportResultCode.SUCCESS, ...Array(3).fill(ExportResultCode.FAILED)]);
    expect(reports).toEqual([
      'OTLP export failed: 1 batch (2 spans) not delivered; last error: Error: connect ECONNREFUSED (the task files are written either way; is the collector up?)',
    ]);
    failures.flush();
    expect(reports[1]).toBe(
      'OTLP export failed: 2 batches (3 log records) not delivered since the last report; last error: Error: connect ECONNREFUSED (the task files are written either way; is the collector up?)',
    );
    failures.flush();
    expect(reports).toHaveLength(2);
  });

  it('keeps the export loop going when the report function throws', () => {
    const failures = new ExportFailures(() => {
      throw new Error('a broken report');
    });
    const spans = failures.spans(exporterAnswering(() => ({ code: ExportResultCode.FAILED })));
    let answered = false;
    spans.export([], () => {
      answered = true;
    });
    expect(answered).toBe(true);
  });
});
