// Decodes one OTLP export request (protobuf or OTLP/JSON, already decompressed) into plain spans and log records for
// the task writer, checking every value at the door: a request that breaks the schema is malformed (400); an item
// with a missing or bad task id, an id of the wrong size, an out-of-range time, an oversized value or a value the
// files have no place for is refused and counted for partial_success, and the rest of the request still goes
// through. Pure and cloneable, so it can run in a worker thread.
import { hash } from 'node:crypto';
import type { Attributes } from '@opentelemetry/api';
import type Long from 'long';
import { ATTR } from '../contract/attributes.ts';
import { isOutputType, isWebhookStage, OUTPUT_TYPES, WEBHOOK_STAGES } from '../contract/task-files.ts';
import { tryParseTaskId } from '../contract/task-id.ts';
import { isTaskStatus, TASK_STATUSES } from '../contract/task-status.ts';
import {
  attributesFromJson,
  attributesFromProtobuf,
  ItemRefused,
  type PbKeyValue,
  RequestMalformed,
  valueFromJson,
  valueFromProtobuf,
} from './any-value.ts';
import { parseJsonBytes } from './json-pieces.ts';
import { OTLP } from './otlp-schema.ts';

export type Signal = 'traces' | 'logs';
export type Encoding = 'protobuf' | 'json';

export interface PlainSpan {
  readonly name: string;
  readonly attributes: Attributes;
  readonly start: [number, number];
  readonly end: [number, number];
  readonly statusCode: number;
  readonly statusMessage: string | undefined;
  readonly traceId: string;
  readonly spanId: string;
  /** identity within its task, for dropping repeats */
  readonly key: string;
  readonly taskId: string;
}

export interface PlainLogRecord {
  readonly time: [number, number];
  readonly attributes: Attributes;
  readonly body: unknown;
  readonly traceId: string | undefined;
  readonly spanId: string | undefined;
  readonly key: string;
  readonly taskId: string;
}

export type DecodeResult =
  | {
      readonly ok: true;
      /** the decoded request's size in bytes (after decompression) */
      readonly size: number;
      readonly spans: PlainSpan[];
      readonly logs: PlainLogRecord[];
      /** items refused, and why (reason -> count) */
      readonly refused: Record<string, number>;
    }
  | { readonly ok: false; readonly message: string };

// Date covers +-8.64e15 ms; fixed64 nanoseconds never reach it, but OTLP/JSON strings can say anything
const MAX_NANOS = 2n ** 64n - 1n;
const BILLION = 1_000_000_000n;
const HEX32 = /^[0-9a-fA-F]{32}$/;
const HEX16 = /^[0-9a-fA-F]{16}$/;
const UNSIGNED = /^\d{1,30}$/;
const NOT_A_STAGE = `a task.stage that is not one of ${WEBHOOK_STAGES.join(', ')}`;
const NOT_A_STATUS = `a task.status that is not one of ${TASK_STATUSES.join(', ')}`;
const NOT_AN_OUTPUT_TYPE = `a task.output.type that is not one of ${OUTPUT_TYPES.join(', ')}`;

export function decodeExport(signal: Signal, encoding: Encoding, bytes: Uint8Array): DecodeResult {
  const refused: Record<string, number> = {};
  const spans: PlainSpan[] = [];
  const logs: PlainLogRecord[] = [];
  const refuse = (reason: string) => {
    refused[reason] = (refused[reason] ?? 0) + 1;
  };
  try {
    if (encoding === 'protobuf') {
      const type = signal === 'traces' ? OTLP.traceRequest : OTLP.logsRequest;
      let message: PbRequest;
      try {
        message = type.decode(bytes) as unknown as PbRequest;
      } catch (error) {
        throw new RequestMalformed(`the body is not a protobuf ${type.name}: ${(error as Error).message}`);
      }
      if (signal === 'traces') {
        for (const rs of message.resourceSpans ?? [])
          for (const ss of rs.scopeSpans ?? [])
            for (const span of ss.spans ?? []) tryItem(() => spans.push(spanFromProtobuf(span)), refuse);
      } else {
        for (const rl of message.resourceLogs ?? [])
          for (const sl of rl.scopeLogs ?? [])
            for (const record of sl.logRecords ?? [])
              tryItem(() => logs.push(logFromProtobuf(record)), refuse);
      }
    } else {
      let body: unknown;
      try {
        body = parseJsonBytes(bytes);
      } catch {
        throw new RequestMalformed('the body is not JSON');
      }
      const top = object(body, 'the body');
      if (signal === 'traces') {
        list(top.resourceSpans, 'resourceSpans').forEach((rs, i) => {
          const path = `resourceSpans[${i}]`;
          list(object(rs, path).scopeSpans, `${path}.scopeSpans`).forEach((ss, j) => {
            const at = `${path}.scopeSpans[${j}]`;
            list(object(ss, at).spans, `${at}.spans`).forEach((span, k) => {
              tryItem(
                () => spans.push(spanFromJson(object(span, `${at}.spans[${k}]`), `${at}.spans[${k}]`)),
                refuse,
              );
            });
          });
        });
      } else {
        list(top.resourceLogs, 'resourceLogs').forEach((rl, i) => {
          const path = `resourceLogs[${i}]`;
          list(object(rl, path).scopeLogs, `${path}.scopeLogs`).forEach((sl, j) => {
            const at = `${path}.scopeLogs[${j}]`;
            list(object(sl, at).logRecords, `${at}.logRecords`).forEach((record, k) => {
              const where = `${at}.logRecords[${k}]`;
              tryItem(() => logs.push(logFromJson(object(record, where), where)), refuse);
            });
          });
        });
      }
    }
  } catch (error) {
    if (error instanceof RequestMalformed) return { ok: false, message: error.message };
    if (error instanceof RangeError) return { ok: false, message: 'the request is nested too deeply' };
    throw error;
  }
  return { ok: true, size: bytes.byteLength, spans, logs, refused };
}

function tryItem(decode: () => void, refuse: (reason: string) => void): void {
  try {
    decode();
  } catch (error) {
    if (error instanceof ItemRefused) refuse(error.reason);
    else throw error;
  }
}

// ---- protobuf ----

interface PbRequest {
  resourceSpans?: { scopeSpans?: { spans?: PbSpan[] }[] }[];
  resourceLogs?: { scopeLogs?: { logRecords?: PbLogRecord[] }[] }[];
}
interface PbSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  name: string;
  startTimeUnixNano: Long | number;
  endTimeUnixNano: Long | number;
  attributes?: PbKeyValue[];
  status?: { code?: number; message?: string } | null;
}
interface PbLogRecord {
  timeUnixNano: Long | number;
  observedTimeUnixNano: Long | number;
  body?: Parameters<typeof valueFromProtobuf>[0];
  attributes?: PbKeyValue[];
  traceId: Uint8Array;
  spanId: Uint8Array;
}

function spanFromProtobuf(span: PbSpan): PlainSpan {
  const attributes = attributesFromProtobuf(span.attributes);
  return checkedSpan({
    name: span.name ?? '',
    attributes,
    startNanos: longToBig(span.startTimeUnixNano),
    endNanos: longToBig(span.endTimeUnixNano),
    statusCode: span.status?.code ?? 0,
    statusMessage: span.status?.message || undefined,
    traceId: bytesToHex(span.traceId, 16, 'trace id'),
    spanId: bytesToHex(span.spanId, 8, 'span id'),
  });
}

function logFromProtobuf(record: PbLogRecord): PlainLogRecord {
  return checkedLog({
    attributes: attributesFromProtobuf(record.attributes),
    body: valueFromProtobuf(record.body),
    timeNanos: longToBig(record.timeUnixNano),
    observedNanos: longToBig(record.observedTimeUnixNano),
    traceId: optionalBytesToHex(record.traceId, 16, 'trace id'),
    spanId: optionalBytesToHex(record.spanId, 8, 'span id'),
  });
}

function longToBig(value: Long | number | undefined): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'number') return BigInt(value);
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
}

function bytesToHex(bytes: Uint8Array | undefined, size: number, what: string): string {
  if (bytes === undefined || bytes.length === 0) throw new ItemRefused(`no ${what}`);
  if (bytes.length !== size) throw new ItemRefused(`a ${what} that is not ${size} bytes`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function optionalBytesToHex(bytes: Uint8Array | undefined, size: number, what: string): string | undefined {
  return bytes === undefined || bytes.length === 0 ? undefined : bytesToHex(bytes, size, what);
}

// ---- OTLP/JSON ----

function spanFromJson(span: Record<string, unknown>, path: string): PlainSpan {
  const status =
    span.status === undefined || span.status === null ? {} : object(span.status, `${path}.status`);
  return checkedSpan({
    name: optionalString(span.name, `${path}.name`) ?? '',
    attributes: attributesFromJson(span.attributes, `${path}.attributes`),
    startNanos: jsonNanos(span.startTimeUnixNano, `${path}.startTimeUnixNano`),
    endNanos: jsonNanos(span.endTimeUnixNano, `${path}.endTimeUnixNano`),
    statusCode: statusCode(status.code, `${path}.status.code`),
    statusMessage: optionalString(status.message, `${path}.status.message`) || undefined,
    traceId: jsonId(span.traceId, HEX32, 'trace id', `${path}.traceId`) ?? refuseMissing('trace id'),
    spanId: jsonId(span.spanId, HEX16, 'span id', `${path}.spanId`) ?? refuseMissing('span id'),
  });
}

function logFromJson(record: Record<string, unknown>, path: string): PlainLogRecord {
  return checkedLog({
    attributes: attributesFromJson(record.attributes, `${path}.attributes`),
    body: valueFromJson(record.body, `${path}.body`),
    timeNanos: jsonNanos(record.timeUnixNano, `${path}.timeUnixNano`),
    observedNanos: jsonNanos(record.observedTimeUnixNano, `${path}.observedTimeUnixNano`),
    traceId: jsonId(record.traceId, HEX32, 'trace id', `${path}.traceId`),
    spanId: jsonId(record.spanId, HEX16, 'span id', `${path}.spanId`),
  });
}

function refuseMissing(what: string): never {
  throw new ItemRefused(`no ${what}`);
}

/** a fixed64 of nanoseconds: a number or a decimal string (absent is 0); past 64 bits refuses the item */
function jsonNanos(raw: unknown, path: string): bigint {
  if (raw === undefined || raw === null) return 0n;
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw)) throw new RequestMalformed(`${path} is not a whole number of nanoseconds`);
    if (raw < 0 || raw > 2 ** 64) throw new ItemRefused('a time out of range');
    return BigInt(raw);
  }
  if (typeof raw !== 'string') throw new RequestMalformed(`${path} is not a number of nanoseconds`);
  if (/^-\d+$/.test(raw)) throw new ItemRefused('a time out of range');
  if (!UNSIGNED.test(raw)) throw new RequestMalformed(`${path} is not a whole number of nanoseconds`);
  const nanos = BigInt(raw);
  if (nanos > MAX_NANOS) throw new ItemRefused('a time out of range');
  return nanos;
}

/** OTLP/JSON ids are hex (not base64, unlike other bytes fields): the wrong length or alphabet refuses the item */
function jsonId(raw: unknown, pattern: RegExp, what: string, path: string): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw !== 'string') throw new RequestMalformed(`${path} is not a string`);
  if (!pattern.test(raw)) throw new ItemRefused(`a ${what} that is not hex of the right length`);
  return raw.toLowerCase();
}

function statusCode(raw: unknown, path: string): number {
  if (raw === undefined || raw === null) return 0;
  if (raw === 1 || raw === 'STATUS_CODE_OK') return 1;
  if (raw === 2 || raw === 'STATUS_CODE_ERROR') return 2;
  if (raw === 0 || raw === 'STATUS_CODE_UNSET') return 0;
  if (typeof raw === 'number' && Number.isInteger(raw)) return 0; // an unknown enum value: proto3 enums are open
  throw new RequestMalformed(`${path} is not a status code`);
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new RequestMalformed(`${path} is not an object`);
  return value as Record<string, unknown>;
}

function list(value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new RequestMalformed(`${path} is not a list`);
  return value;
}

function optionalString(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new RequestMalformed(`${path} is not a string`);
  return value;
}

// ---- the checks both encodings share ----

interface RawSpan {
  name: string;
  attributes: Attributes;
  startNanos: bigint;
  endNanos: bigint;
  statusCode: number;
  statusMessage: string | undefined;
  traceId: string;
  spanId: string;
}

function checkedSpan(raw: RawSpan): PlainSpan {
  const taskId = taskIdOf(raw.attributes);
  // a value the mapping has no place for would be taken and written nowhere: refused and counted instead
  const { [ATTR.stageName]: stage, [ATTR.taskStatus]: status } = raw.attributes;
  if (stage !== undefined && !isWebhookStage(stage)) throw new ItemRefused(NOT_A_STAGE);
  if (status !== undefined && !isTaskStatus(status)) throw new ItemRefused(NOT_A_STATUS);
  if (raw.startNanos === 0n) throw new ItemRefused('no start time');
  if (raw.endNanos === 0n) throw new ItemRefused('no end time');
  return {
    name: raw.name,
    attributes: raw.attributes,
    start: hrTime(raw.startNanos),
    end: hrTime(raw.endNanos),
    statusCode: raw.statusCode === 1 || raw.statusCode === 2 ? raw.statusCode : 0,
    statusMessage: raw.statusMessage,
    traceId: raw.traceId,
    spanId: raw.spanId,
    key: `s${raw.traceId}${raw.spanId}`,
    taskId,
  };
}

interface RawLogRecord {
  attributes: Attributes;
  body: unknown;
  timeNanos: bigint;
  observedNanos: bigint;
  traceId: string | undefined;
  spanId: string | undefined;
}

function checkedLog(raw: RawLogRecord): PlainLogRecord {
  const taskId = taskIdOf(raw.attributes);
  // a task's log records are its output lines (the contract has no other place for them): without a type the
  // writer would take the record and write it nowhere
  const type = raw.attributes[ATTR.outputType];
  if (type === undefined) throw new ItemRefused('no task.output.type attribute');
  if (!isOutputType(type)) throw new ItemRefused(NOT_AN_OUTPUT_TYPE);
  // time_unix_nano 0 means unknown: the collector's observed time stands in
  const nanos = raw.timeNanos !== 0n ? raw.timeNanos : raw.observedNanos;
  if (nanos === 0n) throw new ItemRefused('no time');
  const a = raw.attributes;
  const body =
    typeof raw.body === 'string' ? raw.body : raw.body === undefined ? '' : JSON.stringify(raw.body);
  const facts = `${String(a[ATTR.outputSeq] ?? '')}:${String(a[ATTR.outputType] ?? '')}:${String(a[ATTR.genAiToolCallId] ?? '')}`;
  return {
    time: hrTime(nanos),
    attributes: raw.attributes,
    body: raw.body,
    traceId: raw.traceId,
    spanId: raw.spanId,
    // OTLP gives a log record no id: its time to the nanosecond, span, sequence number, type and body stand in,
    // kept as the first 11 bytes (88 bits) of their SHA-256, one character per byte: with the prefix a 12-character
    // string, which V8 stores flat in 32 bytes (13 or more characters cut from a longer one would keep the whole
    // digest alive behind a slice). The dedupe memory holds up to 200,000 of them: 10 MB, where 22 characters of
    // base64 took 28 MB.
    key: `l${hash('sha256', `${nanos}:${raw.traceId ?? ''}${raw.spanId ?? ''}:${facts}:${body}`, 'binary').slice(0, 11)}`,
    taskId,
  };
}

const INVALID_TASK_ID =
  'a task.id that is not a string of 1-128 characters of [A-Za-z0-9._-] (or is "." or "..")';

function taskIdOf(attributes: Attributes): string {
  const raw = attributes[ATTR.taskId];
  if (raw === undefined) throw new ItemRefused('no task.id attribute');
  const taskId = tryParseTaskId(raw);
  // the rule, so the service that sent it can tell what to change (the answer counts items; it never names them)
  if (taskId === undefined) throw new ItemRefused(INVALID_TASK_ID);
  return taskId;
}

function hrTime(nanos: bigint): [number, number] {
  return [Number(nanos / BILLION), Number(nanos % BILLION)];
}
