// Calls to the log API: the bearer token (kept in sessionStorage, sent only as a header), JSON errors, the live
// follow of a task's output read with fetch streaming (EventSource cannot send a header), and authorised downloads.
const TOKEN_KEY = 'task-logs.api-token';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const listeners = new Set();
/** fn() is called whenever the API answers 401: the page then asks for the token */
export function onUnauthorized(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function savedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null; // storage disabled: the page asks again
  }
}

export function saveToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

function authHeaders(extra = {}) {
  const token = savedToken();
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

async function failure(response) {
  if (response.status === 401) for (const fn of listeners) fn();
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (typeof body?.error?.message === 'string') message = body.error.message;
  } catch {
    // not a JSON error: keep the status line
  }
  return new ApiError(response.status, message);
}

export async function getJson(path, { signal } = {}) {
  const response = await fetch(path, {
    headers: authHeaders({ Accept: 'application/json' }),
    cache: 'no-store',
    signal,
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** the JSON document, or undefined on 404 (a file the task has not written yet) */
export async function getJsonIfExists(path, options) {
  try {
    return await getJson(path, options);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * Follows /api/tasks/:id/logs/agent-output/stream: onLines([{ n, line }]) once per chunk received, onEnd(info) when
 * the task is final. Reconnects after a dropped connection from the last line seen. Returns a stop function.
 */
export function followOutput(taskId, { after = 0, onLines, onEnd, onError }) {
  const controller = new AbortController();
  let last = after;
  let stopped = false;
  const run = async () => {
    while (!stopped) {
      try {
        const response = await fetch(`/api/tasks/${encodeURIComponent(taskId)}/logs/agent-output/stream`, {
          headers: authHeaders({
            Accept: 'text/event-stream',
            ...(last ? { 'Last-Event-ID': String(last) } : {}),
          }),
          cache: 'no-store',
          signal: controller.signal,
        });
        if (!response.ok) throw await failure(response);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        let yielded = performance.now();
        for (;;) {
          // a long backlog arrives faster than it is read: reads then resolve without ever leaving the microtask
          // queue, and the page would not paint until the end; every 50 ms wait for a frame (a timer when hidden)
          if (performance.now() - yielded > 50) {
            await new Promise((resolve) =>
              document.visibilityState === 'visible'
                ? requestAnimationFrame(() => setTimeout(resolve, 0))
                : setTimeout(resolve, 0),
            );
            yielded = performance.now();
          }
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          const events = buffer.split('\n\n');
          buffer = events.pop();
          const batch = [];
          for (const block of events) {
            const event = parseEvent(block);
            if (event.event === 'end') {
              if (batch.length) onLines(batch.splice(0));
              stopped = true;
              onEnd(safeJson(event.data));
            } else if (event.event === 'error') {
              throw new ApiError(500, safeJson(event.data)?.message ?? 'the follow stopped');
            } else if (event.data !== undefined && event.id !== undefined) {
              const line = safeJson(event.data);
              last = Number(event.id);
              if (line !== undefined) batch.push({ n: last, line });
            }
          }
          if (batch.length) onLines(batch);
        }
      } catch (error) {
        if (stopped || controller.signal.aborted) return;
        onError?.(error);
        if (error instanceof ApiError && error.status < 500) return;
      }
      if (!stopped) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };
  void run();
  return () => {
    stopped = true;
    controller.abort();
  };
}

function parseEvent(block) {
  const event = {};
  for (const row of block.split('\n')) {
    if (row.startsWith(':')) continue;
    const colon = row.indexOf(':');
    const field = colon < 0 ? row : row.slice(0, colon);
    const value = colon < 0 ? '' : row.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') event.data = event.data === undefined ? value : `${event.data}\n${value}`;
    else if (field === 'id' || field === 'event') event[field] = value;
  }
  return event;
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The first `limit` lines of a JSONL file as [{ n, line }], and the line number to follow on from. */
export async function firstLines(path, limit, { signal } = {}) {
  const response = await fetch(`${path}?after=0&limit=${limit}`, {
    headers: authHeaders({ Accept: 'application/json' }),
    cache: 'no-store',
    signal,
  });
  if (!response.ok) throw await failure(response);
  const lines = await response.json();
  const next = Number(response.headers.get('X-Next-After'));
  return {
    lines: lines.map((line, i) => ({ n: i + 1, line })),
    next: Number.isFinite(next) ? next : lines.length,
  };
}

/** Fetches a file with the token and saves it under filename (a plain link could not send the header). */
export async function download(path, filename) {
  const response = await fetch(path, { headers: authHeaders(), cache: 'no-store' });
  if (!response.ok) throw await failure(response);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
