import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

describe('loadConfig', () => {
  it('has the seed defaults', () => {
    const config = loadConfig({ env: {} });
    expect(config).toMatchObject({
      enabled: true,
      logsDir: resolve('./data/logs/tasks'),
      retentionDays: 30,
      durable: false,
      otlp: { traces: false, logs: false },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads the seed variables', () => {
    const config = loadConfig({
      env: {
        TASK_LOGS_ENABLED: 'false',
        TASK_LOGS_DIR: '/data/logs/tasks',
        TASK_LOGS_RETENTION_DAYS: '7',
        TASK_LOGS_DURABLE: 'true',
      },
    });
    expect(config).toMatchObject({
      enabled: false,
      logsDir: '/data/logs/tasks',
      retentionDays: 7,
      durable: true,
    });
  });

  it('names every bad variable in one message', () => {
    expect(() =>
      loadConfig({
        env: {
          TASK_LOGS_ENABLED: 'perhaps',
          TASK_LOGS_RETENTION_DAYS: '-1',
          OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url',
        },
      }),
    ).toThrowErrorMatchingInlineSnapshot(`
      [TaskLogsError: invalid settings:
        TASK_LOGS_ENABLED="perhaps": expected true or false
        TASK_LOGS_RETENTION_DAYS="-1": expected a whole number of days, at least 1
        OTEL_EXPORTER_OTLP_ENDPOINT="not a url": expected an http:// or https:// URL]
    `);
  });

  it('turns OTLP on for traces and logs when the standard endpoint is set', () => {
    const config = loadConfig({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' } });
    expect(config.otlp).toEqual({
      traces: true,
      logs: true,
      protocol: 'http/protobuf',
      spanLimits: {},
      logRecordLimits: {},
      spanBatch: {},
      logBatch: {},
    });
    const tracesOnly = loadConfig({
      env: {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces',
        OTEL_LOGS_EXPORTER: 'none',
      },
    });
    expect(tracesOnly.otlp).toMatchObject({ traces: true, logs: false });
  });

  it('reads the OTLP batch processors settings (OTEL_BSP_*, OTEL_BLRP_*) as NodeSDK does', () => {
    const config = loadConfig({
      env: {
        OTEL_BLRP_MAX_QUEUE_SIZE: '20000',
        OTEL_BLRP_SCHEDULE_DELAY: '200',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64',
      },
    });
    expect(config.otlp.logBatch).toEqual({ maxQueueSize: 20000, scheduledDelayMillis: 200 });
    expect(config.otlp.spanBatch).toEqual({ maxExportBatchSize: 64 });
    expect(() => loadConfig({ env: { OTEL_BLRP_MAX_QUEUE_SIZE: 'lots' } })).toThrow(
      /OTEL_BLRP_MAX_QUEUE_SIZE/,
    );
    // 0 makes the SDK's batch processor spin (empty exports without end, a flush that never returns) or fail every
    // export: refused at start-up; a delay of 0 (export at once) is fine
    for (const prefix of ['OTEL_BSP', 'OTEL_BLRP'])
      for (const name of ['MAX_EXPORT_BATCH_SIZE', 'MAX_QUEUE_SIZE', 'EXPORT_TIMEOUT'])
        expect(() => loadConfig({ env: { [`${prefix}_${name}`]: '0' } })).toThrow(
          new RegExp(`${prefix}_${name}.*at least 1`),
        );
    expect(loadConfig({ env: { OTEL_BSP_SCHEDULE_DELAY: '0' } }).otlp.spanBatch).toEqual({
      scheduledDelayMillis: 0,
    });
  });

  it('reads the OpenTelemetry attribute limits as NodeSDK does: the specific variable before the general one', () => {
    const config = loadConfig({
      env: {
        OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '100',
        OTEL_ATTRIBUTE_COUNT_LIMIT: '20',
        OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '10',
        OTEL_SPAN_EVENT_COUNT_LIMIT: '0',
        OTEL_SPAN_ATTRIBUTE_PER_EVENT_COUNT_LIMIT: '4',
        OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: '3',
        OTEL_SPAN_ATTRIBUTE_PER_LINK_COUNT_LIMIT: '5',
        OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT: '50',
        OTEL_SPAN_LINK_COUNT_LIMIT: ' ', // empty is unset, as for the SDK
      },
    });
    expect(config.otlp.spanLimits).toEqual({
      attributeValueLengthLimit: 100,
      attributeCountLimit: 10,
      eventCountLimit: 0,
      attributePerEventCountLimit: 3,
      attributePerLinkCountLimit: 5,
    });
    expect(config.otlp.logRecordLimits).toEqual({ attributeValueLengthLimit: 50, attributeCountLimit: 20 });
    expect(() => loadConfig({ env: { OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '-1' } })).toThrow(
      /OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT="-1": expected a whole number, at least 0/,
    );
    expect(() => loadConfig({ env: { OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: 'many' } })).toThrow(
      /OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT="many": expected a whole number/,
    );
  });

  it('takes values from a .env file where the environment has none', async () => {
    const dir = await tempLogsDir();
    const file = join(dir, '.env');
    await writeFile(file, 'TASK_LOGS_RETENTION_DAYS=9\nTASK_LOGS_DIR=/from/file\n');
    const env: NodeJS.ProcessEnv = { TASK_LOGS_DIR: '/from/env' };
    const config = loadConfig({ env, envFile: file });
    expect(config.retentionDays).toBe(9);
    expect(config.logsDir).toBe('/from/env');
    expect(env.TASK_LOGS_RETENTION_DAYS).toBe('9');
  });
});
