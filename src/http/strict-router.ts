// Every router of the app is strict (no trailing-slash twin) and case-sensitive, so a route has one spelling only.
// app.ts refuses to mount a router made any other way.
import Router from '@koa/router';

export function strictRouter(prefix?: string): Router {
  return new Router({ ...(prefix === undefined ? {} : { prefix }), strict: true, sensitive: true });
}

export function isStrictRouter(router: Router): boolean {
  return router.opts.strict === true && router.opts.sensitive === true;
}
