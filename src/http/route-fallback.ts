// The last middleware: a request no route answered is a 404, or a 405 with Allow when the path exists under another
// method (TRACE, PROPFIND and any other method included), never a 500. OPTIONS on a known path lists its methods.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { TaskLogsError } from '../contract/errors.ts';

export function routeFallback(routers: readonly Router[]) {
  return async function noRouteAnswered(ctx: Context): Promise<void> {
    const allowed = new Set<string>();
    for (const router of routers) {
      for (const layer of router.match(ctx.path, ctx.method).path) {
        for (const method of layer.methods) allowed.add(method);
      }
    }
    if (allowed.size === 0) {
      throw new TaskLogsError('NOT_FOUND', `no route for ${ctx.method} ${ctx.path.slice(0, 200)}`);
    }
    const allow = [...allowed].sort().join(', ');
    ctx.set('Allow', allow);
    if (ctx.method === 'OPTIONS') {
      ctx.status = 204;
      return;
    }
    throw new TaskLogsError(
      'METHOD_NOT_ALLOWED',
      `${ctx.method.slice(0, 20)} is not allowed here: use ${allow}`,
    );
  };
}
