import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Pipeline {
  receivers: string[];
  processors: string[];
  exporters: string[];
}
interface CollectorConfig {
  receivers: Record<string, unknown>;
  processors: Record<string, unknown>;
  exporters: Record<string, unknown>;
  connectors?: Record<string, unknown>;
  service: { pipelines: Record<string, Pipeline> };
}

const config = parse(
  readFileSync(resolve(import.meta.dirname, '../../collector-config.yaml'), 'utf8'),
) as CollectorConfig;

describe('collector-config.yaml', () => {
  it('names only components it defines, in every pipeline', () => {
    const connectors = Object.keys(config.connectors ?? {});
    for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
      for (const receiver of pipeline.receivers) {
        expect([...Object.keys(config.receivers), ...connectors], `${name} receiver`).toContain(receiver);
      }
      for (const processor of pipeline.processors)
        expect(Object.keys(config.processors)).toContain(processor);
      for (const exporter of pipeline.exporters) {
        expect([...Object.keys(config.exporters), ...connectors], `${name} exporter`).toContain(exporter);
      }
    }
  });

  it('puts memory_limiter first and batch after it, receives OTLP, and exports traces to Datadog and Jaeger', () => {
    for (const pipeline of Object.values(config.service.pipelines)) {
      expect(pipeline.processors).toEqual(['memory_limiter', 'batch']);
    }
    expect(config.receivers).toHaveProperty('otlp');
    expect(config.service.pipelines.traces!.exporters).toEqual(
      expect.arrayContaining(['datadog', 'otlp/jaeger', 'datadog/connector']),
    );
    expect(config.service.pipelines.logs!.exporters).toContain('datadog');
    // central mode: the task-logs server's OTLP ingest takes JSON only
    expect(config.exporters['otlphttp/tasklogs']).toMatchObject({ encoding: 'json' });
    expect(config.service.pipelines.traces!.exporters).toContain('otlphttp/tasklogs');
    expect(config.service.pipelines.logs!.exporters).toContain('otlphttp/tasklogs');
  });

  it('uses a connector it also reads from, so Datadog gets APM trace metrics', () => {
    expect(config.service.pipelines.metrics!.receivers).toContain('datadog/connector');
  });
});
