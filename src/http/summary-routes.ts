// Counts and sums over the task index for the dashboard: tasks per status, and cost, tokens, tasks and failures per
// day, provider, agent or model, under the same filters as the search.
import type Router from '@koa/router';
import type { TaskIndex } from '../store/task-index.ts';
import { AggregateQuery, CountsQuery, parseRequest } from './api-schemas.ts';
import { strictRouter } from './strict-router.ts';

export function summaryRoutes(index: TaskIndex): Router {
  const router = strictRouter('/api');
  router.get('/tasks/counts', (ctx) => {
    ctx.body = index.countByStatus(parseRequest(CountsQuery, ctx.query, 'query'));
  });
  router.get('/tasks/aggregate', (ctx) => {
    const { by, ...filters } = parseRequest(AggregateQuery, ctx.query, 'query');
    ctx.body = { by, groups: index.aggregate(by, filters) };
  });
  return router;
}
