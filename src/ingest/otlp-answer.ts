// The bodies of OTLP/HTTP answers, in the encoding of the request: an Export*ServiceResponse (partial_success set only
// when items were refused) on 200, a google.rpc.Status on every error.
import type { Encoding, Signal } from './otlp-decode.ts';
import { OTLP } from './otlp-schema.ts';

export interface OtlpAnswer {
  status: number;
  type: string;
  body: Buffer;
}

/** google.rpc.Code values the answers use */
export const RPC_CODE = { invalidArgument: 3, resourceExhausted: 8, unavailable: 14, internal: 13 } as const;

const TYPE: Record<Encoding, string> = { protobuf: 'application/x-protobuf', json: 'application/json' };

export function exportAnswer(
  signal: Signal,
  encoding: Encoding,
  rejected: number,
  errorMessage: string,
): OtlpAnswer {
  const counted = signal === 'traces' ? 'rejectedSpans' : 'rejectedLogRecords';
  // on full success partial_success stays unset
  const partialSuccess =
    rejected > 0 || errorMessage !== '' ? { [counted]: rejected, errorMessage } : undefined;
  if (encoding === 'json') {
    // int64 is a decimal string in the proto3 JSON mapping
    const body =
      partialSuccess === undefined ? {} : { partialSuccess: { [counted]: String(rejected), errorMessage } };
    return { status: 200, type: TYPE.json, body: Buffer.from(JSON.stringify(body)) };
  }
  const type = signal === 'traces' ? OTLP.traceResponse : OTLP.logsResponse;
  const message = type.create(partialSuccess === undefined ? {} : { partialSuccess });
  return { status: 200, type: TYPE.protobuf, body: Buffer.from(type.encode(message).finish()) };
}

export function statusAnswer(status: number, encoding: Encoding, code: number, message: string): OtlpAnswer {
  if (encoding === 'json')
    return { status, type: TYPE.json, body: Buffer.from(JSON.stringify({ code, message })) };
  const body = OTLP.status.encode(OTLP.status.create({ code, message })).finish();
  return { status, type: TYPE.protobuf, body: Buffer.from(body) };
}
