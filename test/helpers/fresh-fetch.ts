// fetch on a connection of its own: the request says `Connection: close`, so the server closes the socket after its
// answer and the client never puts it back in its pool. When every request a test sends a server goes this way, no
// kept-alive socket is ever reused, which removes a client-side race: a test process stalled for longer than the
// server's idle timeout (Node's 5 s keepAliveTimeout plus its 1 s buffer) resumes and writes its next request on the
// idle socket in the same turn, the server's expired timer runs before it reads that request and closes the socket
// with the request unread, and the client sees ECONNRESET (seen at load 25-31 in otlp-answers). A reset of a fresh
// connection is still an error here: nothing is retried.
export function freshFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('connection', 'close');
  return fetch(url, { ...init, headers });
}
