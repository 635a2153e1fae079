// Attribute and event names shared by the instrumentation API (which sets them) and the exporters (which read them).
// GenAI names follow the OpenTelemetry GenAI semantic conventions; they are still incubating there, so they are
// copied here rather than imported from the incubating entry point.

export const ATTR = {
  taskId: 'task.id',
  taskSource: 'task.source',
  taskProvider: 'task.provider',
  taskCreatedAt: 'task.created_at',
  taskStatus: 'task.status',
  /** the process that holds the task (JSON: host, pid, start), written as metadata.owner */
  taskOwner: 'task.owner',
  /** which run of the task this is (1, 2, ...), written as metadata.attempts */
  taskAttempt: 'task.attempt',
  /** stage fields ride as `task.stage.<field>` and come back flattened into the 02 line */
  stageFieldPrefix: 'task.stage.',
  stageName: 'task.stage',
  inputMessage: 'task.input.message',
  inputSourceMetadata: 'task.input.source_metadata',
  agentType: 'task.agent.type',
  resultSuccess: 'task.result.success',
  resultText: 'task.result.text',
  resultError: 'task.result.error',
  costUsd: 'task.cost_usd',
  durationSeconds: 'task.duration_seconds',
  outputType: 'task.output.type',
  outputSeq: 'task.output.seq',
  outputDetails: 'task.output.details',
  toolInput: 'task.tool.input',
  toolIsError: 'task.tool.is_error',

  genAiOperationName: 'gen_ai.operation.name',
  genAiProviderName: 'gen_ai.provider.name',
  /** the older name of gen_ai.provider.name, still sent by many emitters */
  genAiSystem: 'gen_ai.system',
  genAiAgentName: 'gen_ai.agent.name',
  genAiConversationId: 'gen_ai.conversation.id',
  genAiRequestModel: 'gen_ai.request.model',
  genAiResponseModel: 'gen_ai.response.model',
  genAiUsageInputTokens: 'gen_ai.usage.input_tokens',
  genAiUsageOutputTokens: 'gen_ai.usage.output_tokens',
  genAiUsageCacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  genAiUsageCacheCreationInputTokens: 'gen_ai.usage.cache_creation.input_tokens',
  /** another emitter's spelling of the tokens written to the prompt cache */
  genAiUsageCacheWriteInputTokens: 'gen_ai.usage.cache_write.input_tokens',
  genAiToolName: 'gen_ai.tool.name',
  genAiToolCallId: 'gen_ai.tool.call.id',
  errorType: 'error.type',
} as const;

export const OPERATION = { invokeAgent: 'invoke_agent', executeTool: 'execute_tool' } as const;

/** eventName of the log records that carry agent output */
export const OUTPUT_EVENT_NAME = 'task.agent.output';

export const INSTRUMENTATION_SCOPE = 'task-logs';
