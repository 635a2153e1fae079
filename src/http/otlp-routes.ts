// POST /v1/traces and /v1/logs: the OTLP/HTTP ingest of the central mode. A Collector (otlphttp exporter with
// `encoding: json`) sends every service's telemetry here, and this server writes the five files through the same
// mapping as the in-process exporters.
import { gunzipSync } from 'node:zlib';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import type { TelemetryItem } from '../../exporters/telemetry-item.ts';
import { TaskLogsError } from '../contract/errors.ts';
import { decodeLogs, decodeTraces } from '../ingest/otlp-ingest.ts';
import { readRawBody } from './raw-body.ts';
import { strictRouter } from './strict-router.ts';

const MAX_BYTES = 32 * 1024 * 1024;

export function otlpRoutes(writer: TaskFileWriter | undefined): Router {
  const router = strictRouter('/v1');
  const ingest =
    (decode: (body: unknown) => TelemetryItem[], rejectedField: string) => async (ctx: Context) => {
      if (writer === undefined) {
        throw new TaskLogsError(
          'WEBHOOK_NOT_CONFIGURED',
          'this server writes no task files (TASK_LOGS_ENABLED=false)',
        );
      }
      const type = ctx.get('Content-Type').split(';')[0]!.trim();
      if (type !== 'application/json') {
        throw new TaskLogsError(
          'UNSUPPORTED_MEDIA_TYPE',
          `content type ${JSON.stringify(type)} is not taken: send OTLP/JSON (in the Collector, otlphttp with encoding: json)`,
        );
      }
      let raw = await readRawBody(ctx.req, MAX_BYTES);
      if (ctx.get('Content-Encoding') === 'gzip') {
        try {
          raw = gunzipSync(raw, { maxOutputLength: MAX_BYTES });
        } catch (error) {
          throw new TaskLogsError(
            'REQUEST_INVALID',
            `the gzip body cannot be read: ${(error as Error).message}`,
          );
        }
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new TaskLogsError('REQUEST_INVALID', 'the body is not JSON');
      }
      const items = decode(body);
      const error = await new Promise<Error | undefined>((resolve) => writer.pushAll(items, resolve));
      // a failed write is reported, not retried: a retry could write lines twice (the writer counts what it lost)
      ctx.body =
        error === undefined
          ? {}
          : {
              partialSuccess: {
                [rejectedField]: items.length,
                errorMessage: `task files not written: ${error.message}`,
              },
            };
    };
  router.post('/traces', ingest(decodeTraces, 'rejectedSpans'));
  router.post('/logs', ingest(decodeLogs, 'rejectedLogRecords'));
  return router;
}
