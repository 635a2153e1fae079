// Requests Node's HTTP parser refuses (an unknown method, a malformed header, headers too large) get a JSON 4xx like
// every other refusal, instead of Node's bare "400 Bad Request"; a client that went away is simply let go.
import type { Duplex } from 'node:stream';

const STATUS_BY_PARSER_CODE: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
  HPE_HEADERS_TIMEOUT: [408, 'Request Timeout'],
};

export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, text] = STATUS_BY_PARSER_CODE[error.code ?? ''] ?? [400, 'Bad Request'];
  const body = JSON.stringify({
    error: {
      code: 'REQUEST_INVALID',
      message: `the request cannot be parsed as HTTP/1.1 (${text.toLowerCase()})`,
    },
  });
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
