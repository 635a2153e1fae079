// The log API's routes: the seed's six endpoints, live follow, listing and search, and the OpenAPI document.
import { Readable } from 'node:stream';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { quote, TaskLogsError } from '../contract/errors.ts';
import { TASK_FILES, type TaskFileName } from '../contract/task-files.ts';
import { parseTaskId } from '../contract/task-id.ts';
import { decodeCursor, type TaskIndex } from '../store/task-index.ts';
import type { TaskStore } from '../store/task-store.ts';
import { parseRequest, SearchQuery } from './api-schemas.ts';
import { followOutput } from './follow-output.ts';
import { asJsonArray, sendLines } from './line-responses.ts';
import { openApiDocument } from './openapi.ts';
import { strictRouter } from './strict-router.ts';

export interface RouteDeps {
  store: TaskStore;
  index: TaskIndex;
  /** how often a live follow looks for new lines */
  followPollMs?: number;
}

const JSON_FILES: Record<string, TaskFileName> = {
  metadata: TASK_FILES.metadata,
  input: TASK_FILES.input,
  'final-result': TASK_FILES.finalResult,
};

export function taskRoutes(deps: RouteDeps): Router {
  const { store, index } = deps;
  const router = strictRouter('/api');
  // the same check, and the same TASK_ID_INVALID error, as every other reader and writer
  const taskIdOf = (ctx: Context) => parseTaskId(ctx.params.task_id);

  router.get('/openapi.json', (ctx) => {
    ctx.body = openApiDocument();
  });

  router.get('/tasks', (ctx) => {
    const query = parseRequest(SearchQuery, ctx.query, 'query');
    if (query.cursor !== undefined) {
      try {
        decodeCursor(query.cursor);
      } catch {
        throw new TaskLogsError(
          'REQUEST_INVALID',
          `invalid query: cursor ${quote(query.cursor)} is not a next_cursor`,
        );
      }
    }
    ctx.body = index.search(query);
  });

  for (const [name, file] of Object.entries(JSON_FILES)) {
    router.get(`/tasks/:task_id/logs/${name}`, async (ctx) => {
      const taskId = taskIdOf(ctx);
      const text = await store.readJsonText(taskId, file);
      if (text === undefined) {
        throw new TaskLogsError('FILE_NOT_FOUND', `task ${quote(taskId)} has no ${file} yet`);
      }
      ctx.type = 'application/json; charset=utf-8';
      ctx.body = text; // the file's own bytes: no parse and re-serialise per request
    });
  }

  router.get('/tasks/:task_id/logs/webhook-flow', (ctx) =>
    sendLines(ctx, store, taskIdOf(ctx), TASK_FILES.webhookFlow),
  );
  router.get('/tasks/:task_id/logs/agent-output', (ctx) =>
    sendLines(ctx, store, taskIdOf(ctx), TASK_FILES.agentOutput),
  );
  router.get('/tasks/:task_id/logs/agent-output/stream', (ctx) =>
    followOutput(ctx, store, taskIdOf(ctx), { pollMs: deps.followPollMs ?? 100 }),
  );

  router.get('/tasks/:task_id/logs/full', async (ctx) => {
    const taskId = taskIdOf(ctx);
    await store.folder(taskId);
    const [metadata, input] = await Promise.all([
      store.readJson(taskId, TASK_FILES.metadata),
      store.readJson(taskId, TASK_FILES.input),
    ]);
    ctx.type = 'application/json; charset=utf-8';
    // streamed: a task with 100 MB of output is never held in memory whole
    ctx.body = Readable.from(
      (async function* () {
        yield `{"task_id":${JSON.stringify(taskId)},"metadata":${JSON.stringify(metadata ?? null)},"input":${JSON.stringify(input ?? null)},"webhook_flow":`;
        yield* asJsonArray(store.lines(taskId, TASK_FILES.webhookFlow));
        yield ',"agent_output":';
        yield* asJsonArray(store.lines(taskId, TASK_FILES.agentOutput));
        const finalResult = await store.readJson(taskId, TASK_FILES.finalResult);
        yield `,"final_result":${JSON.stringify(finalResult ?? null)}}`;
      })(),
    );
  });

  return router;
}
