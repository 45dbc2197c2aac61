import type { OutdatedKeyReason } from './domain-errors.js';

/** An entry of the error table: the protocol code, the HTTP status and the default message. */
interface ErrorEntry {
  code: number;
  status: number;
  message: string;
}

/** 1000: a database cannot be used right now (the reference server's "cannot connect to redis", answered 503 as the original does). */
const unavailable = (message: string): ErrorEntry => ({ code: 1000, status: 503, message });
/** 2003: the request is not one the protocol accepts (fields, body, or the HTTP request itself). */
const badRequest = (status: number, message: string): ErrorEntry => ({ code: 2003, status, message });

/**
 * The protocol's error table: every code, HTTP status and default message the sidecar answers with
 * (docs/PROTOCOL.md §6). Codes and statuses are the reference server's
 * (docs/UPSTREAM.md#the-reference-server-errors-and-fields), messages keep the Python original's wording
 * where it has one. README's error list and docs/PROTOCOL.md's table are checked against it.
 */
export const ERRORS = {
  storageUnavailable: unavailable('Database unavailable, try again later'),
  verificationsFull: unavailable('Too many logins being checked, try again later'),
  tooManyConnections: unavailable('Too many connections, try again later'),
  internal: { code: 2000, status: 502, message: 'Unknown server error' },
  notFound: { code: 2000, status: 404, message: 'Not found' },
  // The account API (docs/PROTOCOL.md §9.5): what the request names is not there.
  unknownDocument: { code: 2000, status: 404, message: 'No such document among your synced documents' },
  unknownPosition: { code: 2000, status: 404, message: "No such position in this document's history" },
  unknownBook: { code: 2000, status: 404, message: 'No such book in the library' },
  unauthorized: { code: 2001, status: 401, message: 'Unauthorized' },
  tooManyAttempts: { code: 2001, status: 429, message: 'Too many failed logins, try again later' },
  invalidFields: badRequest(403, 'Invalid request data'),
  bodyTooLarge: badRequest(413, 'Request body too large'),
  // Answered by node's HTTP parser stage (src/http/client-errors.ts), before any route is known.
  malformedRequest: badRequest(400, 'Malformed HTTP request'),
  requestTimeout: badRequest(408, 'Request took too long to arrive'),
  headersTooLarge: badRequest(431, 'Request line or headers too large'),
  // A write signed in with the account page's session cookie, sent from another site (docs/PROTOCOL.md §9.4).
  crossSite: badRequest(403, 'Cross-site request refused'),
  invalidDocument: { code: 2004, status: 403, message: 'Invalid document field' },
  registrationDisabled: { code: 2005, status: 402, message: 'User registration is disabled' },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorKind = keyof typeof ERRORS;

/**
 * The messages that name the page where stock-KOReader sync is enabled (`page`: its URL as the client
 * reaches it). KOReader shows a 401's and a 402's message on Login and Register, so these say what to
 * do rather than a bare "Unauthorized".
 */
export const PAGE_MESSAGES = {
  /** Every failed key login: it tells nothing about whether the account exists. */
  keyLoginFailed: (page: string) =>
    `Wrong username or password, or KOReader sync is not enabled for this account yet: sign in once at ${page} to enable it.`,
  /** Said only to someone holding the key that was enabled. */
  outdatedKey: (reason: OutdatedKeyReason, page: string) => OUTDATED_KEY[reason](page),
  registration: (page: string) =>
    "Registration is not available: sign in with your Calibre-Web account. To use KOReader's own sync, " +
    `open ${page} and enable it there.`,
};

const OUTDATED_KEY: Record<OutdatedKeyReason, (page: string) => string> = {
  password: (page) =>
    `Your Calibre-Web password has changed since KOReader sync was enabled. Open ${page} in a browser and enable it again.`,
  // A rename (or a user id now held by another account): nothing says the password changed.
  account: (page) =>
    `Your Calibre-Web account has changed since KOReader sync was enabled. Open ${page} in a browser and sign in again to enable it.`,
  expired: (page) =>
    'KOReader sync for this account has expired: an account without a Calibre-Web password must sign in again now and then. ' +
    `Open ${page} in a browser and sign in to renew it.`,
};

/** An answer in the protocol's shape: `{"code","message"}` with the entry's status, and any extra headers. */
export class KosyncError extends Error {
  readonly kind: ErrorKind;
  readonly code: number;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(kind: ErrorKind, message?: string, headers: Record<string, string> = {}) {
    const entry: ErrorEntry = ERRORS[kind];
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
