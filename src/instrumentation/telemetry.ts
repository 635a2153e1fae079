// Telemetry set-up: the file processors that write the five files, plus OTLP/HTTP when OTEL_EXPORTER_OTLP_* asks for it.
import { context, logs, ProxyTracerProvider, propagation, trace } from '@opentelemetry/api';
import { OTLPLogExporter as OTLPLogExporterJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPLogExporterProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordLimits,
  type LogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  type SpanLimits,
  type SpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { FileSystem } from '../../exporters/file-system.ts';
import { LimitingLogRecordExporter, LimitingSpanExporter } from '../../exporters/limiting-exporter.ts';
import { RedactingLogRecordExporter, RedactingSpanExporter } from '../../exporters/redacting-exporter.ts';
import { TaskFileWriter, type WrittenFiles } from '../../exporters/task-file-writer.ts';
import { TaskFilesLogger } from '../../exporters/task-files-logger.ts';
import { TaskFilesTracer } from '../../exporters/task-files-tracer.ts';
import { TaskFilesLogProcessor } from '../../exporters/task-log-processor.ts';
import { TaskFilesSpanProcessor } from '../../exporters/task-span-processor.ts';
import type { Config } from '../config.ts';
import { INSTRUMENTATION_SCOPE } from '../contract/attributes.ts';
import { moduleBeside } from '../contract/package-files.ts';
import { withTimeout } from '../contract/with-timeout.ts';
import { corruptIndexLine, TaskIndex } from '../store/task-index.ts';
import { ExportFailures } from './export-failures.ts';
import { redactorFor } from './redactor-for-config.ts';
import { taskFileWriterOptions } from './task-file-writer-options.ts';
import { TaskRecorder } from './task-recorder.ts';

export interface TelemetryOptions {
  /**
   * true (the default for services): register as the process's global OpenTelemetry SDK through NodeSDK, so other
   * instrumentation joins the same traces. false: private providers, for tests and for embedding next to another SDK.
   */
  register?: boolean;
  /** replaces the file system under the writer (fault tests) */
  fs?: FileSystem;
  report?: (message: string) => void;
  /** how long shutdown waits for a stuck disk or collector before giving up */
  shutdownTimeoutMs?: number;
  /**
   * the task index to keep current as files are written: by default the one at TASK_LOGS_INDEX_PATH (shared by
   * every process writing the same folder); false for none
   */
  index?: TaskIndex | false;
  /** told what each flush wrote, after the index (the server keeps the tasks it holds from it) */
  onWritten?: (written: WrittenFiles[]) => void;
}

export interface Telemetry {
  readonly config: Config;
  /** the recorder services use to start and resume tasks */
  readonly tasks: TaskRecorder;
  /** the file writer (undefined when TASK_LOGS_ENABLED=false) */
  readonly writer: TaskFileWriter | undefined;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

export function startTelemetry(config: Config, options: TelemetryOptions = {}): Telemetry {
  if (!config.enabled) {
    return {
      config,
      tasks: new TaskRecorder({ enabled: false }),
      writer: undefined,
      forceFlush: async () => undefined,
      shutdown: async () => undefined,
    };
  }
  // a caller's report function that throws must not turn a flush or a shutdown into a rejection: telemetry never
  // throws into the application
  const given = options.report ?? ((message: string) => process.emitWarning(message, 'TaskLogsWarning'));
  const report = (message: string) => {
    try {
      given(message);
    } catch {
      // nowhere left to say it
    }
  };
  const ownIndex = options.index === undefined ? openIndex(config, report) : undefined;
  const index = options.index === false ? undefined : (options.index ?? ownIndex);
  // secrets are redacted off the caller's stack: in the writer's flush and in the OTLP exporters' batches
  const redactor = redactorFor(config);
  const writer = new TaskFileWriter({
    ...taskFileWriterOptions(config),
    report,
    ...(options.fs ? { fs: options.fs } : {}),
    // the writer thread keeps a file index current itself (a connection of its own, off the event loop)
    index:
      index === undefined || index.path === ':memory:'
        ? undefined
        : {
            path: index.path,
            module: moduleBeside(import.meta.url, '../store/writer-index').href,
            // this process's own writes of the index go between the thread's transactions
            waiting: index.sharedWaiting(),
          },
    onWritten: (written) => {
      if (index === undefined) return options.onWritten?.(written);
      const left = written.filter((files) => files.indexed !== true);
      if (left.length === 0) return options.onWritten?.(written);
      if (left.length < written.length)
        options.onWritten?.(written.filter((files) => files.indexed === true));
      return indexInSlices(index, left, options.onWritten);
    },
  });
  const closeIndex = () => ownIndex?.close();
  const spanProcessors: SpanProcessor[] = [new TaskFilesSpanProcessor({ writer })];
  // output lines reach the writer through TaskFilesLogger, not through the SDK's log pipeline, which carries the OTLP
  // export when it is configured (and, registered, the records of other loggers)
  const logProcessors: LogRecordProcessor[] = [];
  // the exporters read their endpoint, headers and timeout from the standard OTEL_EXPORTER_OTLP_* variables
  const json = config.otlp.protocol === 'http/json';
  // an export the collector refused or never answered is reported, not only a flush that failed
  const failures = new ExportFailures(report);
  // the operator's attribute limits cut what is exported, after redaction (a secret is redacted whole, then cut)
  if (config.otlp.traces) {
    const otlp = failures.spans(json ? new OTLPTraceExporterJson() : new OTLPTraceExporterProto());
    const limited = new LimitingSpanExporter(otlp, config.otlp.spanLimits);
    const exporter = redactor ? new RedactingSpanExporter(limited, redactor) : limited;
    spanProcessors.push(new BatchSpanProcessor({ exporter, ...config.otlp.spanBatch }));
  }
  if (config.otlp.logs) {
    const otlp = failures.logRecords(json ? new OTLPLogExporterJson() : new OTLPLogExporterProto());
    const limited = new LimitingLogRecordExporter(otlp, config.otlp.logRecordLimits);
    const exporter = redactor ? new RedactingLogRecordExporter(limited, redactor) : limited;
    logProcessors.push(new BatchLogRecordProcessor({ exporter, ...config.otlp.logBatch }));
  }
  // every task is recorded: the files are an audit trail, so trace sampling would leave holes in them
  const sampler = new AlwaysOnSampler();
  const spanLimits = fileSpanLimits(config.otlp.spanLimits);
  // With OTLP trace export off, the task's own spans go straight into the writer's queue (TaskFilesTracer), without
  // an SDK span each; other tracers' spans with task.id still reach the files through the SDK's TaskFilesSpanProcessor.
  // With it on, the task's spans are the SDK's: the export needs its spans and its batch processor.
  const spans = config.otlp.traces
    ? undefined
    : new TaskFilesTracer({ writer, attributeCountLimit: spanLimits.attributeCountLimit });
  const timeoutMs = options.shutdownTimeoutMs ?? 10_000;
  // a stuck disk or collector: shutdown stops waiting, says so (with the default OTLP timeout, also 10 s, a collector
  // that is down is otherwise never named) and the process may exit
  const giveUp = () =>
    report(
      `telemetry did not shut down within ${timeoutMs / 1000} s (an OTLP export or the disk still waiting: is the ` +
        'collector down?); stopped waiting',
    );

  // A second SDK cannot register (the API keeps the first), and the task's spans would go to the first one's
  // pipeline, which has no task processors: no metadata.json, 02 or 04. Tasks are then recorded through providers of
  // our own, as with register: false.
  const register = (options.register ?? true) && !tracerProviderRegistered(report);
  if (register) {
    // The process's other loggers on the global API (a TaskRecorder made without a logger, raw logs API calls with
    // task.id) reach the files through the SDK's pipeline, as the telemetry contract says; the lines' own records
    // pass through it only for the OTLP export and are queued already.
    let forwarding: TaskFilesLogger | undefined;
    const others = new TaskFilesLogProcessor({ writer, skip: () => forwarding?.forwarding === true });
    const sdk = new NodeSDK({
      serviceName: config.serviceName,
      sampler,
      // NodeSDK reads the OTEL_*_LIMIT variables into its TracerProvider unless spanLimits sets each one
      spanLimits,
      spanProcessors,
      logRecordProcessors: [others, ...logProcessors],
      metricReaders: [],
    });
    withLogRecordLimits(fileLogRecordLimits(config.otlp.logRecordLimits), () => sdk.start());
    const lines = new TaskFilesLogger({
      writer,
      also: config.otlp.logs ? logs.getLogger(INSTRUMENTATION_SCOPE) : undefined,
    });
    forwarding = lines;
    const tasks = new TaskRecorder({
      redactor,
      tracer: spans ?? trace.getTracer(INSTRUMENTATION_SCOPE),
      logger: lines,
    });
    let stopping: Promise<void> | undefined;
    return {
      config,
      tasks,
      writer,
      forceFlush: () =>
        settled(
          'flush',
          Promise.all([...spanProcessors, ...logProcessors].map((p) => p.forceFlush())),
          report,
        ).then(() => writer.forceFlush()),
      shutdown: () =>
        (stopping ??= withTimeout(
          settled('shut down', stopLines(lines, sdk.shutdown()), report),
          timeoutMs,
          giveUp,
        ).finally(() => {
          failures.flush();
          closeIndex();
          // let a later start in the same process register again
          trace.disable();
          logs.disable();
          context.disable();
          propagation.disable();
        })),
    };
  }

  const resource = resourceFromAttributes({ 'service.name': config.serviceName });
  const tracerProvider = new TracerProvider({
    resource,
    sampler,
    spanLimits,
    spanProcessors,
  });
  const loggerProvider = new LoggerProvider({
    resource,
    processors: logProcessors,
    logRecordLimits: fileLogRecordLimits(config.otlp.logRecordLimits),
  });
  const lines = new TaskFilesLogger({
    writer,
    also: config.otlp.logs ? loggerProvider.getLogger(INSTRUMENTATION_SCOPE) : undefined,
  });
  const tasks = new TaskRecorder({
    redactor,
    tracer: spans ?? tracerProvider.getTracer(INSTRUMENTATION_SCOPE),
    logger: lines,
  });
  let stopping: Promise<void> | undefined;
  return {
    config,
    tasks,
    writer,
    forceFlush: async () => {
      await settled('flush', Promise.all([tracerProvider.forceFlush(), loggerProvider.forceFlush()]), report);
      await writer.forceFlush();
    },
    shutdown: () =>
      (stopping ??= withTimeout(
        settled(
          'shut down',
          stopLines(lines, Promise.all([tracerProvider.shutdown(), loggerProvider.shutdown()])),
          report,
        ),
        timeoutMs,
        giveUp,
      ).finally(() => {
        failures.flush();
        closeIndex();
      })),
  };
}

/** Whether a tracer provider is registered globally already (and says so when one is). */
function tracerProviderRegistered(report: (message: string) => void): boolean {
  const global = trace.getTracerProvider();
  // an unset proxy delegates to the API's no-op provider, the same one a fresh proxy hands out
  const registered =
    !(global instanceof ProxyTracerProvider) ||
    global.getDelegate() !== new ProxyTracerProvider().getDelegate();
  if (registered)
    report(
      'an OpenTelemetry SDK is already registered in this process, so startTelemetry does not register its own: tasks ' +
        'are recorded to the files through private providers, and other instrumentation keeps exporting through the ' +
        "registered SDK (add the task processors to it instead: see the README's own-SDK section)",
    );
  return registered;
}

// The limits of what the file processors see: no value is cut (the files are the audit trail; a cut task id or
// status left a task without metadata.json and 04), and each count is the SDK's default (128), which bounds an item's
// size whatever a caller records, or the operator's when higher (the export cannot carry more than the files see).
// Every field is set, so none comes from the environment: the operator's limits cut the OTLP export only
// (LimitingSpanExporter, LimitingLogRecordExporter).
const DEFAULT_COUNT = 128;
const atLeastDefault = (count: number | undefined) => Math.max(DEFAULT_COUNT, count ?? DEFAULT_COUNT);

function fileSpanLimits(exported: SpanLimits): Required<SpanLimits> {
  return {
    attributeValueLengthLimit: Infinity,
    attributeCountLimit: atLeastDefault(exported.attributeCountLimit),
    eventCountLimit: atLeastDefault(exported.eventCountLimit),
    linkCountLimit: atLeastDefault(exported.linkCountLimit),
    attributePerEventCountLimit: atLeastDefault(exported.attributePerEventCountLimit),
    attributePerLinkCountLimit: atLeastDefault(exported.attributePerLinkCountLimit),
  };
}

function fileLogRecordLimits(exported: LogRecordLimits): Required<LogRecordLimits> {
  return {
    attributeValueLengthLimit: Infinity,
    attributeCountLimit: atLeastDefault(exported.attributeCountLimit),
  };
}

// NodeSDK gives its LoggerProvider the log record limits from these variables, with no option to override them
// (spanLimits is the TracerProvider's only). That provider carries the other loggers' records to the files (a
// TaskRecorder made without a logger lost its whole 03 line to OTEL_ATTRIBUTE_COUNT_LIMIT=2), and it cut every record
// before the exporters' redaction: a token cut in the middle no longer matches its rule, and its first part left over
// OTLP (OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT=30 and a GitHub token in a tool's input). So the SDK starts with them saying
// the files' limits; the export is cut to the operator's after redaction (LimitingLogRecordExporter). The provider
// reads them only in start(), which is synchronous: nothing else runs while they are changed.
const LOG_RECORD_LIMIT_VARIABLES = [
  'OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT',
  'OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT',
  'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT',
  'OTEL_ATTRIBUTE_COUNT_LIMIT',
];

/** Runs `start` with the log record limit variables saying `limits` (no value length limit: unset), then restores them. */
function withLogRecordLimits(limits: Required<LogRecordLimits>, start: () => void): void {
  const before = LOG_RECORD_LIMIT_VARIABLES.map((name) => [name, process.env[name]] as const);
  for (const name of LOG_RECORD_LIMIT_VARIABLES) delete process.env[name];
  process.env.OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT = String(limits.attributeCountLimit);
  try {
    start();
  } finally {
    for (const [name, value] of before) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

// The SDK's logger ignores records from the moment its provider begins to shut down; the lines' logger does the same.
// Called with the shutdown's promise already made, so the stop comes right after the SDK's. The task's spans are not
// stopped: the SDK calls its span processors after a shutdown too, so a span ended while the writer closes (a run
// finished in the same turn) is written, and a later one counted as shut_down, whichever tracer made it.
function stopLines(lines: TaskFilesLogger, shutdown: Promise<unknown>): Promise<unknown> {
  lines.stop();
  return shutdown;
}

// A flush's rows go into the index in slices of at most INDEX_SLICE_MS, one transaction each, with a turn of the
// event loop between them. After a burst the writer thread hands back one flush of thousands of tasks: their upserts
// in one transaction held the event loop for 0.5-0.9 s (webhooks at 100/s right after 25,000 at saturation: p99
// 120-790 ms, every request in that window waiting). A small flush is one slice, done at once as before. The writer
// awaits the last slice before its next flush, so a finished forceFlush still means "indexed".
const INDEX_SLICE_MS = 4;

async function indexInSlices(
  index: TaskIndex,
  written: WrittenFiles[],
  then: ((written: WrittenFiles[]) => void) | undefined,
): Promise<void> {
  let next = 0;
  while (next < written.length) {
    if (next > 0) await new Promise((resolve) => setImmediate(resolve));
    const from = next;
    const until = performance.now() + INDEX_SLICE_MS;
    try {
      index.upsertMany(sliceOf(written, from, until, (end) => (next = end)));
    } catch (error) {
      then?.(written.slice(from)); // the files are written whether or not the index took them
      throw error;
    }
    then?.(written.slice(from, next));
  }
}

/** The rows from `from` on while time is left (at least one), telling `reached` how far it got. */
function* sliceOf(
  written: WrittenFiles[],
  from: number,
  until: number,
  reached: (end: number) => void,
): Generator<[string, WrittenFiles]> {
  for (let i = from; i < written.length; i++) {
    if (i > from && (i & 7) === 0 && performance.now() > until) return;
    reached(i + 1);
    yield [written[i]!.taskId, written[i]!];
  }
}

// The index is a convenience next to the files: if it cannot be opened the files are still written, and the server
// rebuilds it from them.
function openIndex(config: Config, report: (message: string) => void): TaskIndex | undefined {
  try {
    const index = new TaskIndex(config.indexPath, { busyTimeoutMs: 100 });
    if (index.setAside !== undefined) report(corruptIndexLine(index));
    return index;
  } catch (error) {
    report(
      `task index ${config.indexPath} could not be opened, so it is not kept current here: ${String(error)}`,
    );
    return undefined;
  }
}

// The OTLP exporters reject flush and shutdown with their export error (ECONNREFUSED, a 415): telemetry never
// throws into the application, so the error is reported and the promise resolves. The files are written by the
// file processors either way.
function settled(what: string, promise: Promise<unknown>, report: (message: string) => void): Promise<void> {
  return promise.then(
    () => undefined,
    (error: unknown) => {
      report(`telemetry could not ${what} cleanly (OTLP export): ${describeError(error)}`);
    },
  );
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  const errors = (error as { errors?: unknown }).errors;
  const inner = Array.isArray(errors) && errors[0] instanceof Error ? `: ${errors[0].message}` : '';
  return `${code ? `${code} ` : ''}${error.message}${inner}`.slice(0, 300);
}
