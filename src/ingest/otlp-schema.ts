// The OTLP message types, loaded once from the .proto files beside this module by protobufjs.
import { fileURLToPath } from 'node:url';
import Long from 'long';
import protobuf from 'protobufjs';

// 64-bit fields come back as Long (exact) instead of a possibly unsafe number: nanosecond timestamps need all 64 bits
protobuf.util.Long = Long;
protobuf.configure();

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const root = protobuf.loadSync([here('./otlp.proto'), here('./rpc-status.proto')]);

const V1 = 'opentelemetry.proto.common.v1';
export const OTLP = {
  traceRequest: root.lookupType(`${V1}.ExportTraceServiceRequest`),
  traceResponse: root.lookupType(`${V1}.ExportTraceServiceResponse`),
  logsRequest: root.lookupType(`${V1}.ExportLogsServiceRequest`),
  logsResponse: root.lookupType(`${V1}.ExportLogsServiceResponse`),
  status: root.lookupType('google.rpc.Status'),
} as const;
