// The one catalogue of errors the project throws: stable codes, messages that quote the bad value.

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'TASK_ID_INVALID'
  | 'TASK_NOT_FOUND'
  | 'TASK_EXISTS'
  | 'FILE_NOT_FOUND'
  | 'REQUEST_INVALID'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'SIGNATURE_INVALID'
  | 'WEBHOOK_NOT_CONFIGURED'
  | 'QUEUE_UNAVAILABLE'
  | 'QUEUE_MESSAGE_INVALID'
  | 'WRITER_CLOSED'
  | 'TELEMETRY_DROPPED'
  /** a file the server must write cannot be written now (disk full, read-only, I/O error): try again later */
  | 'STORAGE_UNAVAILABLE'
  /** a task folder or file that is a link, or not a real directory or regular file */
  | 'UNSAFE_PATH'
  /** a task's JSON file that does not parse: written whole by the writer, so damaged or edited by hand */
  | 'TASK_FILE_INVALID'
  | 'INTERNAL';

export class TaskLogsError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TaskLogsError';
    this.code = code;
  }
}

const QUOTE_LIMIT = 100;

/** JSON-quotes a value for an error message, cut to about 100 characters so a huge input cannot flood a log. */
export function quote(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  const cut = text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT)}…` : text;
  return JSON.stringify(cut);
}
