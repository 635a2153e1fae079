// Bearer-token check for the /api routes and the OTLP ingest (/v1): both sides hashed to fixed-length digests and compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { TaskLogsError } from '../contract/errors.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();

export function requireToken(token: string) {
  const expected = digest(token);
  return async function checkBearerToken(ctx: Context, next: Next): Promise<void> {
    if (!ctx.path.startsWith('/api') && !ctx.path.startsWith('/v1/')) return next();
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
