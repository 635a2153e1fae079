// A request body the server answers without reading (401, 404, 415, a 429 before the body): one declared small
// enough is drained, so the connection serves the client's next request; a larger one, or one of unknown length
// (chunked), is not worth reading: the answer says Connection: close and Node closes the connection after it.
// Left alone, Node drains any unread body after the answer, whatever its declared length, for as long as the
// request timeout allows (a minute), on a connection kept open for the client's next request.
import type { Context, Next } from 'koa';

/** what the server reads and throws away, at most, of a body it did not want (any route, before the token check) */
export const UNREAD_DRAIN_BYTES = 64 * 1024;

/** Decides the fate of a body nobody read: drained when declared within `drainBytes`, else the connection closes. */
export function leaveUnread(ctx: Context, drainBytes: number): void {
  const req = ctx.req;
  if (req.complete) return;
  const declared = req.headers['content-length'];
  if (declared === undefined && req.headers['transfer-encoding'] === undefined) return; // no body at all
  if (declared !== undefined && Number(declared) <= drainBytes) req.resume();
  else ctx.set('Connection', 'close');
}

/** First in the chain: after any answer, a body no handler touched gets leaveUnread's treatment. */
export async function closeUnreadBodies(ctx: Context, next: Next): Promise<void> {
  await next();
  // a handler that read the body, or decided about it (leaveUnread with its own bound), set it flowing
  if (ctx.req.readableFlowing === null) leaveUnread(ctx, UNREAD_DRAIN_BYTES);
}
