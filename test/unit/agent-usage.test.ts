import { describe, expect, it } from 'vitest';
import { usageFromAnthropic } from '../../src/instrumentation/agent-usage.ts';

describe('usageFromAnthropic', () => {
  it('counts every input token once: uncached + cache reads + cache writes', () => {
    expect(
      usageFromAnthropic({
        input_tokens: 12,
        cache_read_input_tokens: 15000,
        cache_creation_input_tokens: 900,
        output_tokens: 450,
      }),
    ).toEqual({
      inputTokens: 15912,
      outputTokens: 450,
      cacheReadInputTokens: 15000,
      cacheCreationInputTokens: 900,
    });
  });

  it('leaves the cache fields out when the agent did not report them', () => {
    expect(usageFromAnthropic({ input_tokens: 10, output_tokens: 5 })).toEqual({
      inputTokens: 10,
      outputTokens: 5,
    });
  });

  it('treats missing, null and negative counts as zero, and a null cache count as unknown', () => {
    expect(
      usageFromAnthropic({ input_tokens: null, output_tokens: -3, cache_read_input_tokens: null }),
    ).toEqual({
      inputTokens: 0,
      outputTokens: 0,
    });
    expect(usageFromAnthropic({ input_tokens: 5, cache_read_input_tokens: -1 })).toEqual({
      inputTokens: 5,
      outputTokens: 0,
      cacheReadInputTokens: 0,
    });
  });
});
