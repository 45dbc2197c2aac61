/**
 * The protocol's error table: every code, HTTP status and default message the sidecar answers with.
 * Codes and statuses are koreader-sync-server's (config/errors.lua) as PROTOCOL.md §2 requires; the
 * messages keep the Python original's wording (CWA kosync.py) where it has one.
 */
export const ERRORS = {
  storageUnavailable: { code: 1000, status: 503, message: 'Database unavailable, try again later' },
  internal: { code: 2000, status: 502, message: 'Unknown server error' },
  unauthorized: { code: 2001, status: 401, message: 'Unauthorized' },
  tooManyAttempts: { code: 2001, status: 429, message: 'Too many failed logins, try again later' },
  invalidFields: { code: 2003, status: 403, message: 'Invalid request data' },
  bodyTooLarge: { code: 2003, status: 413, message: 'Request body too large' },
  invalidDocument: { code: 2004, status: 403, message: 'Invalid document field' },
  registrationDisabled: { code: 2005, status: 402, message: 'User registration is disabled' },
  notFound: { code: 2000, status: 404, message: 'Not found' },
  // Answered by node's HTTP parser stage (src/http/client-errors.ts), before any route is known.
  malformedRequest: { code: 2003, status: 400, message: 'Malformed HTTP request' },
  requestTimeout: { code: 2003, status: 408, message: 'Request took too long to arrive' },
  headersTooLarge: { code: 2003, status: 431, message: 'Request line or headers too large' },
} as const;

export type ErrorKind = keyof typeof ERRORS;

export class KosyncError extends Error {
  readonly kind: ErrorKind;
  readonly code: number;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(kind: ErrorKind, message?: string, headers: Record<string, string> = {}) {
    const entry = ERRORS[kind];
    super(message ?? entry.message);
    this.name = 'KosyncError';
    this.kind = kind;
    this.code = entry.code;
    this.status = entry.status;
    this.headers = headers;
  }

  get body(): { code: number; message: string } {
    return { code: this.code, message: this.message };
  }
}

/**
 * 503/1000 because a database file failed (disk full, read-only, I/O error, missing or not usable),
 * not because of a lock. `detail` names the file and the cause for the log; the client gets only the
 * protocol's message.
 */
export class StorageUnavailableError extends KosyncError {
  constructor(
    readonly detail: string,
    options: { cause?: unknown } = {},
  ) {
    super('storageUnavailable');
    this.name = 'StorageUnavailableError';
    if (options.cause !== undefined) this.cause = options.cause;
  }
}
