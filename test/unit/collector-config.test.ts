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
    // central mode: the task-logs server takes the otlphttp exporter's default encoding (protobuf)
    expect(config.exporters['otlphttp/tasklogs']).not.toHaveProperty('encoding');
    expect(config.service.pipelines.traces!.exporters).toContain('otlphttp/tasklogs');
    expect(config.service.pipelines.logs!.exporters).toContain('otlphttp/tasklogs');
  });

  it('comments every key ops fill in', () => {
    const text = readFileSync(resolve(import.meta.dirname, '../../collector-config.yaml'), 'utf8');
    const lines = text.split('\n');
    // every value that names a host, a secret or a size of this deployment says FILL IN on its line
    const deploymentSpecific = /\$\{env:|endpoint: (?!0\.0\.0\.0)|hostnames:|queue_size:|insecure:/;
    const unexplained = lines.filter((line) => deploymentSpecific.test(line) && !line.includes('FILL IN'));
    expect(unexplained).toEqual([]);
    expect(lines.filter((line) => line.includes('FILL IN')).length).toBeGreaterThanOrEqual(8);
  });

  it('shows, commented, a loadbalancing exporter that routes by trace id to several ingest servers', () => {
    const text = readFileSync(resolve(import.meta.dirname, '../../collector-config.yaml'), 'utf8');
    const commented = text
      .split('\n')
      .filter((line) => /^\s*# /.test(line) && /^\s*#\s{2,}\S|^\s*# [a-z_/]+:/.test(line))
      .map((line) => line.replace(/^(\s*)# /, '$1'))
      .join('\n');
    const block = parse(commented.slice(commented.indexOf('loadbalancing/tasklogs:'))) as Record<
      string,
      { routing_key: string; resolver: { static: { hostnames: string[] } } }
    >;
    expect(block['loadbalancing/tasklogs']!.routing_key).toBe('traceID');
    expect(block['loadbalancing/tasklogs']!.resolver.static.hostnames.length).toBeGreaterThan(1);
  });

  it('uses a connector it also reads from, so Datadog gets APM trace metrics', () => {
    expect(config.service.pipelines.metrics!.receivers).toContain('datadog/connector');
  });
});
