import type { Attributes } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { TaskChangeSet } from '../../exporters/task-changes.ts';
import type { SpanLike } from '../../exporters/telemetry-item.ts';

function agentSpan(attributes: Attributes): SpanLike {
  return {
    name: 'invoke_agent',
    attributes: { 'task.id': 'task-g', 'gen_ai.operation.name': 'invoke_agent', ...attributes },
    startTime: [1_700_000_000, 0],
    endTime: [1_700_000_010, 0],
    status: { code: 1 },
    spanContext: () => ({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 }),
  };
}

function mapped(attributes: Attributes) {
  const set = new TaskChangeSet();
  expect(set.add(agentSpan(attributes))).toBe('mapped');
  return set.byTask.get('task-g')!;
}

describe('GenAI attribute spellings from other emitters', () => {
  it('reads cache tokens as cache_read, cache_creation or cache_write', () => {
    const conventions = mapped({
      'gen_ai.usage.cache_read.input_tokens': 100,
      'gen_ai.usage.cache_creation.input_tokens': 20,
    });
    expect(conventions.finalResult!.metrics).toMatchObject({
      cache_read_input_tokens: 100,
      cache_creation_input_tokens: 20,
    });
    const writeSpelling = mapped({ 'gen_ai.usage.cache_write.input_tokens': 30 });
    expect(writeSpelling.finalResult!.metrics.cache_creation_input_tokens).toBe(30);
    const both = mapped({
      'gen_ai.usage.cache_creation.input_tokens': 20,
      'gen_ai.usage.cache_write.input_tokens': 30,
    });
    expect(both.finalResult!.metrics.cache_creation_input_tokens).toBe(20);
  });

  it('takes the provider from gen_ai.provider.name, else the older gen_ai.system', () => {
    expect(mapped({ 'gen_ai.provider.name': 'anthropic' }).metadata!.model_provider).toBe('anthropic');
    expect(mapped({ 'gen_ai.system': 'openai' }).metadata!.model_provider).toBe('openai');
    expect(
      mapped({ 'gen_ai.provider.name': 'aws.bedrock', 'gen_ai.system': 'anthropic' }).metadata!
        .model_provider,
    ).toBe('aws.bedrock');
    expect(mapped({}).metadata!.model_provider).toBeUndefined();
  });
});
