// Token usage in the GenAI conventions' sense (input counts every input token, cached ones included), and the
// conversion from Anthropic's usage, whose input_tokens leaves out cache reads and cache writes.

export interface AgentUsage {
  /** all input tokens: uncached + cache reads + cache writes */
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens?: number;
  cacheCreationInputTokens?: number;
}

export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

const count = (value: number | null | undefined) => (typeof value === 'number' && value > 0 ? value : 0);

/** Each cached token is counted once: Anthropic's three input counts are disjoint, so their sum is the total. */
export function usageFromAnthropic(usage: AnthropicUsage): AgentUsage {
  const cacheRead = count(usage.cache_read_input_tokens);
  const cacheCreation = count(usage.cache_creation_input_tokens);
  const result: AgentUsage = {
    inputTokens: count(usage.input_tokens) + cacheRead + cacheCreation,
    outputTokens: count(usage.output_tokens),
  };
  if (usage.cache_read_input_tokens != null) result.cacheReadInputTokens = cacheRead;
  if (usage.cache_creation_input_tokens != null) result.cacheCreationInputTokens = cacheCreation;
  return result;
}
