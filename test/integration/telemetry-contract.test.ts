// A task produced the way a service in another language would: raw OpenTelemetry API calls that follow
// docs/telemetry-contract.md, with attribute names written out as the document gives them (no helper of this project).

import { join } from 'node:path';
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { createTaskFileProcessors } from '../../exporters/index.ts';
import { expectTaskPassesChecker } from '../helpers/check-task.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const W3C = new CompositePropagator({
  propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
});
const STAGES = [
  'received',
  'validation',
  'command_matching',
  'immediate_response',
  'task_created',
  'queue_push',
];

describe('the telemetry contract, followed with the raw OpenTelemetry API', () => {
  it('makes a complete task of five correct files, across a queue hand-over', async () => {
    const root = await tempLogsDir();
    const taskFiles = createTaskFileProcessors({ root, flushMs: 5 });
    const tracerProvider = new TracerProvider({ spanProcessors: [taskFiles.spanProcessor] });
    const loggerProvider = new LoggerProvider({ processors: [taskFiles.logProcessor] });
    const tracer = tracerProvider.getTracer('other-language-service');
    const logger = loggerProvider.getLogger('other-language-service');
    const taskId = 'task-raw-api';
    const createdAt = new Date().toISOString();
    const common = { 'task.id': taskId, 'task.source': 'webhook', 'task.provider': 'github' };

    // --- web process: the root span, six stages, the input, and a queue message ------------------------------
    const rootSpan = tracer.startSpan('task', { kind: SpanKind.INTERNAL, attributes: common, root: true });
    const inTask = trace.setSpan(ROOT_CONTEXT, rootSpan);
    const stage = (
      name: string,
      fields: Record<string, string | number | boolean>,
      kind = SpanKind.INTERNAL,
    ) => {
      const attributes: Record<string, string | number | boolean> = { ...common, 'task.stage': name };
      for (const [key, value] of Object.entries(fields)) attributes[`task.stage.${key}`] = value;
      return tracer.startSpan(name, { kind, attributes }, inTask);
    };
    const received = stage('received', { event_type: 'issue_comment.created' });
    received.setAttributes({
      'task.input.message': '@agent review',
      'task.input.source_metadata': JSON.stringify({
        provider: 'github',
        event_type: 'issue_comment.created',
        webhook_id: 'wh-9',
        repo: 'owner/repo',
        issue_number: 42,
      }),
    });
    received.end();
    stage('validation', { status: 'passed' }).end();
    stage('command_matching', { command: 'review', matched: true }).end();
    const response = stage('immediate_response', { action: 'reaction' });
    response.setStatus({ code: SpanStatusCode.ERROR, message: 'GitHub answered 502' });
    response.end();
    const created = stage('task_created', {
      assigned_agent: 'brain',
      agent_type: 'planning',
      model: 'claude-x',
    });
    created.setAttribute('task.created_at', createdAt);
    created.end();
    const push = stage('queue_push', { queue: 'tasks' }, SpanKind.PRODUCER);
    const message: Record<string, string> = { task_id: taskId, created_at: createdAt };
    const withBaggage = propagation.setBaggage(
      inTask,
      propagation.createBaggage({ 'task.id': { value: taskId } }),
    );
    W3C.inject(withBaggage, message, { set: (carrier, key, value) => (carrier[key] = value) });
    push.end();
    rootSpan.end();
    const wire = JSON.parse(JSON.stringify(message)) as Record<string, string>;

    // --- worker process: extract, the agent span, output records, result attributes -------------------------
    const remote: Context = W3C.extract(ROOT_CONTEXT, wire, {
      get: (carrier, key) => carrier[key],
      keys: (carrier) => Object.keys(carrier),
    });
    expect(propagation.getBaggage(remote)?.getEntry('task.id')?.value).toBe(taskId);
    const workerCommon = {
      ...common,
      'task.id': wire.task_id as string,
      'task.created_at': wire.created_at as string,
    };
    const agent = tracer.startSpan(
      'invoke_agent brain',
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          ...workerCommon,
          'gen_ai.operation.name': 'invoke_agent',
          'gen_ai.agent.name': 'brain',
          'gen_ai.provider.name': 'anthropic',
          'task.agent.type': 'planning',
          'gen_ai.request.model': 'claude-x',
        },
      },
      remote,
    );
    const inAgent = trace.setSpan(remote, agent);
    let seq = 0;
    const output = (
      type: string,
      body: string,
      extra: Record<string, string | boolean> = {},
      ctx = inAgent,
    ) =>
      logger.emit({
        eventName: 'task.agent.output',
        severityNumber: type === 'error' ? SeverityNumber.ERROR : SeverityNumber.INFO,
        body,
        attributes: { 'task.id': taskId, 'task.output.type': type, 'task.output.seq': ++seq, ...extra },
        context: ctx,
      });
    output('system', '[SYSTEM] Task started');
    output('thinking', 'The comment asks for a review');
    const tool = tracer.startSpan(
      'execute_tool Read',
      {
        attributes: {
          'task.id': taskId,
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': 'Read',
          'gen_ai.tool.call.id': 'call-1',
        },
      },
      inAgent,
    );
    const inTool = trace.setSpan(remote, tool);
    output(
      'tool_call',
      'Using Read tool',
      {
        'gen_ai.tool.name': 'Read',
        'gen_ai.tool.call.id': 'call-1',
        'task.tool.input': JSON.stringify({ file_path: 'src/queue.ts' }),
        'task.output.details': JSON.stringify({ attempt: 1, type: 'not this one' }),
      },
      inTool,
    );
    output(
      'tool_result',
      'export const attempts = 3;',
      {
        'gen_ai.tool.call.id': 'call-1',
        'task.tool.is_error': false,
      },
      inTool,
    );
    tool.end();
    output('text', 'Analysis complete');
    output('error', 'a lint warning');
    output('final', 'Review: fine');
    agent.setAttributes({
      'task.result.success': true,
      'task.result.text': 'Review: fine',
      'task.cost_usd': 0.0234,
      'gen_ai.usage.input_tokens': 1500,
      'gen_ai.usage.output_tokens': 800,
      'gen_ai.usage.cache_read.input_tokens': 1000,
      'gen_ai.response.model': 'claude-x-2',
      'task.duration_seconds': 45.2,
    });
    agent.end();

    await tracerProvider.shutdown();
    await loggerProvider.shutdown();
    expect(context.active()).toBe(ROOT_CONTEXT); // nothing above relied on a registered context manager

    const folder = join(root, taskId);
    expectTaskPassesChecker(folder, 'completed');
    const files = readTaskFolder(folder);
    const traceId = rootSpan.spanContext().traceId;
    expect(files.metadata).toMatchObject({
      task_id: taskId,
      source: 'webhook',
      provider: 'github',
      created_at: createdAt,
      status: 'completed',
      assigned_agent: 'brain',
      agent_type: 'planning',
      model: 'claude-x-2',
      model_provider: 'anthropic',
      trace_id: traceId,
    });
    expect(files.input).toEqual({
      message: '@agent review',
      source_metadata: {
        provider: 'github',
        event_type: 'issue_comment.created',
        webhook_id: 'wh-9',
        repo: 'owner/repo',
        issue_number: 42,
      },
    });
    expect(files.webhookFlow.map((line) => line.stage)).toEqual(STAGES);
    expect(files.webhookFlow[2]).toMatchObject({ command: 'review', matched: true, trace_id: traceId });
    expect(files.webhookFlow[3]).toMatchObject({ status: 'failed', error: 'GitHub answered 502' });
    expect(files.agentOutput.map((line) => line.type)).toEqual([
      'system',
      'thinking',
      'tool_call',
      'tool_result',
      'text',
      'error',
      'final',
    ]);
    expect(files.agentOutput[2]).toMatchObject({
      content: 'Using Read tool',
      tool_name: 'Read',
      tool_call_id: 'call-1',
      input: { file_path: 'src/queue.ts' },
      attempt: 1,
      type: 'tool_call',
      seq: 3,
      trace_id: traceId,
      span_id: tool.spanContext().spanId,
    });
    expect(files.agentOutput[3]).toMatchObject({ tool_call_id: 'call-1', is_error: false });
    expect(files.finalResult).toMatchObject({
      success: true,
      result: 'Review: fine',
      error: null,
      metrics: {
        cost_usd: 0.0234,
        input_tokens: 1500,
        output_tokens: 800,
        duration_seconds: 45.2,
        cache_read_input_tokens: 1000,
      },
      trace_id: traceId,
    });
  });
});
