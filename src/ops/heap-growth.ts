// How far V8 lets the old generation grow past what the last full collection kept. By default the factor is chosen
// as the process runs, up to 4x: under an OTLP ingest of 50,000 log records/s the queued records and their lines
// outlive two scavenges and are promoted, and the old generation was let grow to 120-165 MB around a live set of
// about 50 MB (peak RSS 320-350 MB). A fixed 1.5x keeps it at 65-75 MB (peak RSS 230-240 MB) for the same CPU per
// record: the collections are more frequent but each has a smaller heap to sweep (`npm run bench otlp`).
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;

/** the V8 flag the server sets, or undefined when Node was started with its own heap growth */
export function heapGrowthFlag(execArgv: readonly string[]): string | undefined {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg))) return undefined;
  return `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/** Sets the server's heap growth for the whole process (its worker threads too); V8 reads it at each collection. */
export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv): void {
  const flag = heapGrowthFlag(execArgv);
  if (flag !== undefined) setFlagsFromString(flag);
}
