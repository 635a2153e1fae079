// Bearer-token check, deny by default: every request that public-routes.ts does not name needs the token, whatever
// its path or method. Both sides are hashed to fixed-length digests and compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { TaskLogsError } from '../contract/errors.ts';
import { isPublicRoute } from './public-routes.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** `isPublic` decides what needs no token: public-routes.ts on the API listener, nothing on the ingest listener. */
export function requireToken(
  token: string,
  isPublic: (method: string, rawPath: string) => boolean = isPublicRoute,
) {
  const expected = digest(token);
  return async function checkBearerToken(ctx: Context, next: Next): Promise<void> {
    if (isPublic(ctx.method, ctx.path)) return next();
    const header = ctx.get('Authorization');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null || !timingSafeEqual(digest(match[1]!), expected)) {
      throw new TaskLogsError(
        'UNAUTHORIZED',
        match === null ? 'this API needs "Authorization: Bearer <token>"' : 'the bearer token is not valid',
      );
    }
    return next();
  };
}
