// Reading untrusted webhook payloads: JSON objects only, and typed field access that never throws.
import { TaskLogsError } from '../contract/errors.ts';

export type Json = Record<string, unknown>;

export function parseJsonObject(body: Buffer): Json {
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new TaskLogsError(
      'REQUEST_INVALID',
      `the body is not JSON: ${(error as Error).message.slice(0, 100)}`,
    );
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new TaskLogsError('REQUEST_INVALID', 'the body is not a JSON object');
  }
  return payload as Json;
}

export const obj = (value: unknown): Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
export const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
export const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;
