// A load generator's HTTP/1.1 client for the benchmarks: requests built as bytes before the clock starts, sent one
// at a time on a keep-alive socket, and the answer read by its status line and Content-Length only. node:http's
// client costs about as much CPU per request as the server's whole webhook path (~160-240 µs against ~75 µs here,
// measured on this 2-core machine), and the benchmark's client shares the server's cores: a saturation figure taken
// with it says as much about the client as about the server.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

/** One POST as the bytes on the wire (HTTP/1.1, keep-alive, a Content-Length body). */
export function rawPost(url: string, path: string, body: string, headers: Record<string, string>): Buffer {
  const { host } = new URL(url);
  let head = `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return Buffer.from(`${head}\r\n${body}`);
}

const HEAD_END = Buffer.from('\r\n\r\n');
const MAX_HEAD = 64 * 1024;

/** A keep-alive connection that sends one prebuilt request at a time and resolves with the answer's status. */
export class RawConnection {
  readonly #socket: Socket;
  #buffered: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (status: number) => void; reject: (error: Error) => void } | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new Error('the server closed the connection')));
  }

  static async open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    socket.setNoDelay(true);
    await once(socket, 'connect');
    return new RawConnection(socket);
  }

  /** Sends one request (see rawPost) and waits for its whole answer; resolves with the status code. */
  send(request: Buffer): Promise<number> {
    if (this.#waiting !== undefined) throw new Error('one request at a time on a RawConnection');
    const answer = new Promise<number>((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
    this.#socket.write(request);
    return answer;
  }

  close(): void {
    this.#socket.destroy();
  }

  #read(chunk: Buffer): void {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    const end = this.#buffered.indexOf(HEAD_END);
    if (end < 0) {
      if (this.#buffered.length > MAX_HEAD) this.#fail(new Error('an answer head over 64 KiB'));
      return;
    }
    const head = this.#buffered.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (length === null) {
      this.#fail(new Error(`an answer without Content-Length: ${head.slice(0, 200)}`));
      return;
    }
    const total = end + HEAD_END.length + Number(length[1]);
    if (this.#buffered.length < total) return;
    if (this.#buffered.length > total) {
      this.#fail(new Error('an answer nobody asked for'));
      return;
    }
    this.#buffered = Buffer.alloc(0);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve(Number(head.slice(9, 12)));
  }

  #fail(error: Error): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(error);
  }
}
