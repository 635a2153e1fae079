// A loopback OTLP/HTTP endpoint that keeps every request an SDK exporter sends (path, headers, raw body) and answers
// 200 with an empty response, so tests can replay real payloads to the server in any order.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';

export interface CapturedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export async function otlpCapture(): Promise<{ url: string; requests: CapturedRequest[] }> {
  const requests: CapturedRequest[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    requests.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
    const json = (req.headers['content-type'] ?? '').startsWith('application/json');
    res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
    res.end(json ? '{}' : '');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** Sends a captured request to another server as it was sent (type and encoding headers kept). */
export function replay(
  url: string,
  request: CapturedRequest,
  body = request.body,
  extra: Record<string, string> = {},
) {
  const headers: Record<string, string> = {
    'content-type': String(request.headers['content-type']),
    ...extra,
  };
  const coding = request.headers['content-encoding'];
  if (coding !== undefined && body === request.body) headers['content-encoding'] = String(coding);
  return fetch(`${url}${request.path}`, { method: 'POST', headers, body });
}
