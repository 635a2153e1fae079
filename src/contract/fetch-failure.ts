// Says why a fetch failed: undici's message is only "fetch failed", and the reason (ECONNREFUSED, a DNS error, a bad
// port) is in its cause.

/** a fetch error's message and its cause: "fetch failed: ECONNREFUSED" */
export function fetchFailure(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const why = typeof cause?.code === 'string' ? cause.code : cause?.message;
  return `${(error as Error).message}${typeof why === 'string' ? `: ${why}` : ''}`;
}
