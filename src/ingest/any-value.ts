// OTLP AnyValue and KeyValue lists (decoded from protobuf or from OTLP/JSON) as attribute values, within limits: a
// value nested too deep, too large or of the wrong type throws ItemRefused, which refuses only the item it is in.
import type { Attributes } from '@opentelemetry/api';
import type Long from 'long';
import { setOwnProperty } from '../contract/own-property.ts';

/** nesting of arrays and key-value lists inside one value; the writer stringifies values recursively */
const MAX_VALUE_DEPTH = 32;
/** one string (or bytes) value, in UTF-16 units */
const MAX_STRING_LENGTH = 8 * 1024 * 1024;
/**
 * one attribute or key-value key, in UTF-16 units: keys are names, and a key of megabytes costs the event loop ~65 ms
 * a MiB when its record becomes a line (V8 interns property names), with no limit on values to stop it
 */
const MAX_KEY_LENGTH = 4096;
/** scalar values and keys in one item, all nesting included */
const MAX_VALUES_PER_ITEM = 100_000;

/** A value that makes its item unusable (the request itself is fine): the item is refused and counted. */
export class ItemRefused extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.name = 'ItemRefused';
    this.reason = reason;
  }
}

/** A request that does not follow the OTLP schema: the whole request is answered 400. */
export class RequestMalformed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequestMalformed';
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INTEGER = /^-?\d{1,20}$/;

interface Budget {
  left: number;
}

// ---- protobuf (messages decoded by protobufjs) ----

interface PbAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Long | number;
  doubleValue?: number;
  arrayValue?: { values?: PbAnyValue[] };
  kvlistValue?: { values?: PbKeyValue[] };
  bytesValue?: Uint8Array;
  value?: string;
}
export interface PbKeyValue {
  key?: string;
  value?: PbAnyValue | null;
}

export function attributesFromProtobuf(list: PbKeyValue[] | undefined): Attributes {
  const out: Attributes = {};
  if (list === undefined) return out;
  const budget = { left: MAX_VALUES_PER_ITEM };
  for (const kv of list) {
    const value = kv.value == null ? undefined : pbValue(kv.value, 0, budget);
    // a key-value with no value (an empty AnyValue) says nothing: skipped, as the SDK skips undefined attributes
    if (value !== undefined && value !== null) setOwnProperty(out, keyOf(kv.key), value);
  }
  return out;
}

export function valueFromProtobuf(value: PbAnyValue | null | undefined): unknown {
  return value == null ? undefined : pbValue(value, 0, { left: MAX_VALUES_PER_ITEM });
}

function pbValue(v: PbAnyValue, depth: number, budget: Budget): unknown {
  spend(budget);
  // protobufjs sets `value` to the name of the oneof member that is present
  switch (v.value) {
    case 'stringValue':
      return text(v.stringValue!);
    case 'boolValue':
      return v.boolValue;
    case 'intValue':
      return longToNumber(v.intValue!);
    case 'doubleValue':
      return v.doubleValue;
    case 'bytesValue':
      return text(Buffer.from(v.bytesValue!).toString('base64'));
    case 'arrayValue':
      nest(depth);
      return (v.arrayValue!.values ?? []).map((item) => pbValue(item, depth + 1, budget) ?? null);
    case 'kvlistValue': {
      nest(depth);
      const out: Record<string, unknown> = {};
      for (const kv of v.kvlistValue!.values ?? []) {
        spend(budget);
        setOwnProperty(
          out,
          keyOf(kv.key),
          kv.value == null ? null : (pbValue(kv.value, depth + 1, budget) ?? null),
        );
      }
      return out;
    }
    default:
      return undefined;
  }
}

function longToNumber(value: Long | number): number {
  return typeof value === 'number' ? value : value.toNumber();
}

// ---- OTLP/JSON (the proto3 JSON mapping, lowerCamelCase names, unknown fields ignored) ----

export function attributesFromJson(list: unknown, path: string): Attributes {
  const out: Attributes = {};
  if (list === undefined || list === null) return out;
  if (!Array.isArray(list)) throw new RequestMalformed(`${path} is not a list`);
  const budget = { left: MAX_VALUES_PER_ITEM };
  for (const kv of list) {
    if (kv === null) continue;
    if (typeof kv !== 'object' || Array.isArray(kv)) throw new RequestMalformed(`${path} holds a non-object`);
    const { key, value } = kv as { key?: unknown; value?: unknown };
    if (key !== undefined && typeof key !== 'string')
      throw new RequestMalformed(`${path} has a non-string key`);
    const decoded = value === undefined || value === null ? undefined : jsonValue(value, 0, budget, path);
    if (decoded !== undefined && decoded !== null) setOwnProperty(out, keyOf(key), decoded);
  }
  return out;
}

export function valueFromJson(value: unknown, path: string): unknown {
  return value === undefined || value === null
    ? undefined
    : jsonValue(value, 0, { left: MAX_VALUES_PER_ITEM }, path);
}

function jsonValue(raw: unknown, depth: number, budget: Budget, path: string): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new RequestMalformed(`${path} holds a value that is not an AnyValue object`);
  spend(budget);
  const v = raw as Record<string, unknown>;
  if (v.stringValue !== undefined && v.stringValue !== null) {
    if (typeof v.stringValue !== 'string') throw new RequestMalformed(`${path} has a non-string stringValue`);
    return text(v.stringValue);
  }
  if (v.boolValue !== undefined && v.boolValue !== null) {
    if (typeof v.boolValue !== 'boolean') throw new RequestMalformed(`${path} has a non-boolean boolValue`);
    return v.boolValue;
  }
  if (v.intValue !== undefined && v.intValue !== null) return jsonInt64(v.intValue, path);
  if (v.doubleValue !== undefined && v.doubleValue !== null) return jsonDouble(v.doubleValue, path);
  if (v.bytesValue !== undefined && v.bytesValue !== null) {
    if (typeof v.bytesValue !== 'string') throw new RequestMalformed(`${path} has a non-string bytesValue`);
    return text(v.bytesValue);
  }
  if (v.arrayValue !== undefined && v.arrayValue !== null) {
    nest(depth);
    const values = (v.arrayValue as { values?: unknown }).values;
    if (values === undefined || values === null) return [];
    if (!Array.isArray(values))
      throw new RequestMalformed(`${path} has an arrayValue whose values is not a list`);
    return values.map((item) =>
      item === null || item === undefined ? null : (jsonValue(item, depth + 1, budget, path) ?? null),
    );
  }
  if (v.kvlistValue !== undefined && v.kvlistValue !== null) {
    nest(depth);
    const values = (v.kvlistValue as { values?: unknown }).values;
    const out: Record<string, unknown> = {};
    if (values === undefined || values === null) return out;
    if (!Array.isArray(values))
      throw new RequestMalformed(`${path} has a kvlistValue whose values is not a list`);
    for (const kv of values) {
      if (kv === null) continue;
      if (typeof kv !== 'object' || Array.isArray(kv))
        throw new RequestMalformed(`${path} holds a non-object`);
      const { key, value } = kv as { key?: unknown; value?: unknown };
      if (key !== undefined && typeof key !== 'string')
        throw new RequestMalformed(`${path} has a non-string key`);
      spend(budget);
      setOwnProperty(
        out,
        keyOf(key),
        value === undefined || value === null ? null : (jsonValue(value, depth + 1, budget, path) ?? null),
      );
    }
    return out;
  }
  return undefined; // an empty AnyValue: no value
}

/** An int64 in OTLP/JSON: a number or a decimal string; outside int64 refuses the item. */
function jsonInt64(raw: unknown, path: string): number {
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw)) throw new RequestMalformed(`${path} has an intValue that is not an integer`);
    if (raw < -(2 ** 63) || raw >= 2 ** 63) throw new ItemRefused('an intValue out of the int64 range');
    return raw;
  }
  if (typeof raw !== 'string' || !INTEGER.test(raw))
    throw new RequestMalformed(`${path} has an intValue that is not an integer`);
  const big = BigInt(raw);
  if (big < INT64_MIN || big > INT64_MAX) throw new ItemRefused('an intValue out of the int64 range');
  return Number(big);
}

function jsonDouble(raw: unknown, path: string): number {
  if (typeof raw === 'number') return raw;
  if (raw === 'NaN') return Number.NaN;
  if (raw === 'Infinity') return Number.POSITIVE_INFINITY;
  if (raw === '-Infinity') return Number.NEGATIVE_INFINITY;
  if (typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
  throw new RequestMalformed(`${path} has a doubleValue that is not a number`);
}

function text(value: string): string {
  if (value.length > MAX_STRING_LENGTH)
    throw new ItemRefused(`a string value longer than ${MAX_STRING_LENGTH} characters`);
  return value;
}

function keyOf(key: string | undefined): string {
  if (key === undefined) return '';
  if (key.length > MAX_KEY_LENGTH)
    throw new ItemRefused(`an attribute key longer than ${MAX_KEY_LENGTH} characters`);
  return key;
}

function nest(depth: number): void {
  if (depth >= MAX_VALUE_DEPTH) throw new ItemRefused(`a value nested deeper than ${MAX_VALUE_DEPTH} levels`);
}

function spend(budget: Budget): void {
  if (--budget.left < 0) throw new ItemRefused(`more than ${MAX_VALUES_PER_ITEM} values in one item`);
}
