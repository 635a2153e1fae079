// The victim of the kill -9 torture. It writes tasks through both front doors of one task file writer until it is
// killed: the in-process exporters (an OpenTelemetry SDK with the task file processors) and OTLP ingest (a real
// HTTP POST of protobuf OTLP to an ingest server in this process, decoded and written by the product's ingest code).
//
// It reports on stdout, one line each, written with a synchronous write(2) so a report is in the pipe before what it
// reports starts (and survives the kill):
//   p <pid>                    this process has started (its pid, to be killed by)
//   ready                      the ingest server is up
//   v <task>/<file> <sha256>   a JSON file version is about to be written (reported before its first byte)
//   a <bytes>                  a large append (several pages, one write(2)) is about to start
//   f <task> <n>               lines 0..n-1 of the task's output are written (forceFlush resolved, nothing dropped)
//   x <message>                something went wrong that is not the kill (a drop, a failed export): a failure
//
// Settings come from the environment (a startup snapshot's main function gets no script arguments):
// TASK_LOGS_DIR, TORTURE_SEED. The file is also the entry of the startup snapshot kill-snapshot.ts builds, which is
// why nothing here touches the disk, the network or the clock at import.
import { createHash } from 'node:crypto';
import { readlinkSync, writeSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname } from 'node:path';
import v8 from 'node:v8';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import {
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { type FileSystem, nodeFileSystem } from '../../exporters/file-system.ts';
import { createTaskFileProcessors } from '../../exporters/task-file-processors.ts';
import type { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import { NEW_FOLDERS_DIR } from '../../exporters/task-folder-writer.ts';
import { ATTR, INSTRUMENTATION_SCOPE } from '../../src/contract/attributes.ts';
import { WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { exportAnswer } from '../../src/ingest/otlp-answer.ts';
import { decodeExport, type Signal } from '../../src/ingest/otlp-decode.ts';
import { OtlpIngest } from '../../src/ingest/otlp-ingest.ts';
import { OTLP } from '../../src/ingest/otlp-schema.ts';
import { TaskRecorder } from '../../src/instrumentation/task-recorder.ts';

/** One report line, in the pipe before this returns. */
function report(line: string): void {
  const bytes = Buffer.from(`${line}\n`);
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(1, bytes, offset);
    } catch (error) {
      // a non-blocking pipe that is full: the parent reads it, so it drains
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    }
  }
}

// appends this large are reported, so a kill can be aimed at them: a kill inside a multi-page write is what leaves a
// torn last line
const LARGE_APPEND = 128 * 1024;

// The writer's file system, reporting each JSON version before its temp file is written, and each large append.
// Paths reach the task folder through /proc/self/fd/N (an open folder handle), so the folder is read from that link.
function reportingFileSystem(): FileSystem {
  return {
    ...nodeFileSystem,
    append(path, chunks, options) {
      const bytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
      if (bytes >= LARGE_APPEND) report(`a ${bytes}`);
      return nodeFileSystem.append(path, chunks, options);
    },
    writeNew(path, data, options) {
      const name = basename(path);
      // a temp file's target, or a file of a new task folder, written where no reader looks and renamed into place
      const json =
        /^\.(.+\.json)\.[^/]*\.tmp$/.exec(name)?.[1] ?? (name.endsWith('.json') ? name : undefined);
      if (json !== undefined) {
        const folder = readlinkSync(dirname(path));
        // a new task folder is named `<pid>.<token>.<n>.<task id>` in .new~
        const task =
          basename(dirname(folder)) === NEW_FOLDERS_DIR
            ? basename(folder).split('.').slice(3).join('.')
            : basename(folder);
        report(`v ${task}/${json} ${createHash('sha256').update(data).digest('hex')}`);
      }
      return nodeFileSystem.writeNew(path, data, options);
    },
  };
}

// xorshift32: the same seed gives the same tasks (the kill point is the parent's, and where it lands is the OS's)
function randomFrom(seed: number): (below: number) => number {
  let state = (seed * 2_654_435_761) >>> 0 || 1;
  return (below) => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state % below;
  };
}

// An OTLP/HTTP protobuf exporter for the sending side, answering SUCCESS only when the server took every item.
class OtlpPost {
  failures = 0;
  readonly #url: string;

  constructor(url: string) {
    this.#url = url;
  }

  send(
    signal: Signal,
    body: Uint8Array | undefined,
    done: (result: ExportResult) => void,
    accepted: () => void = () => undefined,
  ): void {
    const fail = (message: string) => {
      this.failures++;
      report(`x OTLP ${signal} export failed: ${message}`);
      done({ code: ExportResultCode.FAILED, error: new Error(message) });
    };
    if (body === undefined) {
      fail('the serializer gave no body');
      return;
    }
    const http = process.getBuiltinModule('node:http');
    const request = http.request(`${this.#url}/v1/${signal}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
    });
    request.on('error', (error) => fail(error.message));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) return fail(`HTTP ${response.statusCode}`);
        const bytes = Buffer.concat(chunks);
        const answer =
          signal === 'traces'
            ? ProtobufTraceSerializer.deserializeResponse(bytes).partialSuccess?.rejectedSpans
            : ProtobufLogsSerializer.deserializeResponse(bytes).partialSuccess?.rejectedLogRecords;
        if (answer !== undefined && Number(answer) > 0) return fail(`${answer} items rejected`);
        accepted();
        done({ code: ExportResultCode.SUCCESS });
      });
    });
    request.end(body);
  }
}

function spanPoster(post: OtlpPost): SpanExporter {
  return {
    export: (spans: ReadableSpan[], done) =>
      post.send('traces', ProtobufTraceSerializer.serializeRequest(spans), done),
    shutdown: async () => undefined,
  };
}

// Reports the output lines the ingest took, once the writer has them on disk. The ingest answers when the writer's
// queue has the items (not after the write), so the lines count as flushed after an answer without rejections and a
// writer forceFlush after it, with nothing dropped. Counted per export, not after the SDK's forceFlush: an export
// its timer started may still be in flight when that resolves.
function logPoster(post: OtlpPost, writer: TaskFileWriter): LogRecordExporter {
  const taken = new Map<string, { numbers: Set<number>; upTo: number }>();
  const accepted = async (records: ReadableLogRecord[]) => {
    await writer.forceFlush();
    if (writer.stats().dropped > 0) return;
    const touched = new Set<string>();
    for (const record of records) {
      const taskId = record.attributes[ATTR.taskId];
      const number = typeof record.body === 'string' ? /^(\d+) /.exec(record.body)?.[1] : undefined;
      if (typeof taskId !== 'string' || number === undefined) continue;
      const task = taken.get(taskId) ?? { numbers: new Set<number>(), upTo: 0 };
      taken.set(taskId, task);
      task.numbers.add(Number(number));
      touched.add(taskId);
    }
    for (const taskId of touched) {
      const task = taken.get(taskId)!;
      const before = task.upTo;
      while (task.numbers.has(task.upTo)) task.upTo++;
      if (task.upTo > before) report(`f ${taskId} ${task.upTo}`);
    }
  };
  return {
    export: (records: ReadableLogRecord[], done) =>
      post.send('logs', ProtobufLogsSerializer.serializeRequest(records), done, () => void accepted(records)),
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
}

/** The ingest server: POST /v1/traces and /v1/logs, protobuf, decoded and handed to the writer. */
async function startIngest(writer: TaskFileWriter): Promise<string> {
  const http = process.getBuiltinModule('node:http');
  const ingest = new OtlpIngest(writer, { maxQueue: 65_536 });
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const signal = req.url === '/v1/traces' ? 'traces' : req.url === '/v1/logs' ? 'logs' : undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (signal === undefined || req.method !== 'POST') return void res.writeHead(404).end();
    const decoded = decodeExport(signal, 'protobuf', Buffer.concat(chunks));
    if (!decoded.ok) return void res.writeHead(400).end(decoded.message);
    const taken = ingest.take(decoded);
    if (taken.kind === 'full') return void res.writeHead(503).end();
    const answer = exportAnswer(signal, 'protobuf', taken.rejected, taken.message);
    res.writeHead(answer.status, { 'content-type': answer.type }).end(answer.body);
  };
  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      report(`x ingest failed: ${String(error)}`);
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Side {
  recorder: TaskRecorder;
  /** resolves when what was recorded so far is written; true: report the lines flushed (false when anything was
   * lost, or when the side reports its lines itself) */
  flush(): Promise<boolean>;
}

/** Writes tasks one after another through one side until the process dies. */
async function writeTasks(side: Side, prefix: string, random: (below: number) => number): Promise<never> {
  for (let n = 0; ; n++) {
    const taskId = `task-${prefix}${n}`;
    const task = side.recorder.start({
      taskId,
      source: 'webhook',
      provider: 'github',
      input: { message: `torture ${n}`, source_metadata: { provider: 'github', issue_number: n } },
    });
    for (const stage of WEBHOOK_STAGES) task.recordStage(stage, { detail: 'd'.repeat(random(100)) });
    const run = task.startAgent({ name: 'brain', model: 'claude' });
    let lines = 0;
    const steps = 1 + random(4);
    for (let step = 0; step < steps; step++) {
      const burst = 1 + random(20);
      // mostly short lines, now and then one of many pages (a write the kill can cut between pages)
      for (let i = 0; i < burst; i++) {
        const roll = random(40);
        const size =
          roll === 0 ? LARGE_APPEND + random(LARGE_APPEND) : roll < 4 ? random(20_000) : random(300);
        run.text(`${lines++} ${'x'.repeat(size)}`);
      }
      if (await side.flush()) report(`f ${taskId} ${lines}`);
    }
    if (random(5) > 0) run.finish({ result: 'done', costUsd: 0.01 });
    else run.fail(new Error('agent failed on purpose'));
    if (await side.flush()) report(`f ${taskId} ${lines}`);
  }
}

async function main(): Promise<void> {
  report(`p ${process.pid}`);
  const root = process.env.TASK_LOGS_DIR;
  if (root === undefined) throw new Error('TASK_LOGS_DIR is not set');
  const seed = Number(process.env.TORTURE_SEED ?? 1);
  const random = randomFrom(seed);
  const { writer, spanProcessor, logProcessor } = createTaskFileProcessors({
    root,
    flushMs: 5,
    fs: reportingFileSystem(),
    report: (message) => report(`x writer: ${message}`),
  });
  const dropped = () => writer.stats().dropped;

  // in-process: the SDK with the task file processors, as startTelemetry builds it
  const tracer = new TracerProvider({ spanProcessors: [spanProcessor] });
  const logger = new LoggerProvider({ processors: [logProcessor] });
  const local: Side = {
    recorder: new TaskRecorder({
      tracer: tracer.getTracer(INSTRUMENTATION_SCOPE),
      logger: logger.getLogger(INSTRUMENTATION_SCOPE),
    }),
    flush: async () => {
      await Promise.all([tracer.forceFlush(), logger.forceFlush()]);
      await writer.forceFlush();
      return dropped() === 0;
    },
  };
  const writing = writeTasks(local, 'l', random);

  // over OTLP: a second SDK, as another service would run it, exporting to this process's ingest server
  const url = await startIngest(writer);
  report('ready');
  const post = new OtlpPost(url);
  const remoteTracer = new TracerProvider({
    spanProcessors: [new BatchSpanProcessor({ exporter: spanPoster(post), scheduledDelayMillis: 20 })],
  });
  const remoteLogger = new LoggerProvider({
    processors: [
      new BatchLogRecordProcessor({ exporter: logPoster(post, writer), scheduledDelayMillis: 20 }),
    ],
  });
  const remote: Side = {
    recorder: new TaskRecorder({
      tracer: remoteTracer.getTracer(INSTRUMENTATION_SCOPE),
      logger: remoteLogger.getLogger(INSTRUMENTATION_SCOPE),
    }),
    flush: async () => {
      await Promise.all([remoteTracer.forceFlush(), remoteLogger.forceFlush()]);
      return false; // the log exporter reports what the ingest took
    },
  };
  await Promise.all([writing, writeTasks(remote, 'o', randomFrom(seed + 7919))]);
}

const run = () =>
  main().catch((error: unknown) => {
    report(
      `x ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`.replace(/\n/g, ' | '),
    );
    process.exit(1);
  });
// protobufjs generates each message type's encoder and decoder (five functions compiled from source) the first time
// the type is used, in every child anew: about a tenth of a child's CPU until its kill. Generated while the snapshot
// is built, they are in its heap. Pure: no disk, network or clock.
function generateProtobufCode(): void {
  const done = new Set<unknown>();
  const visit = (type: (typeof OTLP)[keyof typeof OTLP]) => {
    if (done.has(type)) return;
    done.add(type);
    type.setup();
    for (const field of type.fieldsArray) {
      const resolved = field.resolve().resolvedType;
      if (resolved !== null && 'fieldsArray' in resolved) visit(resolved);
    }
  };
  for (const type of Object.values(OTLP)) visit(type);
}

if (v8.startupSnapshot.isBuildingSnapshot()) {
  generateProtobufCode();
  v8.startupSnapshot.setDeserializeMainFunction(run);
} else void run();
