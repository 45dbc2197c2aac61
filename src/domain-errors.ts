/**
 * Why a request cannot be served, as the databases (db/) and the login checks (auth/) say it: in their
 * own terms, with no HTTP status or protocol code. The edge (src/http/error-answers.ts) answers each
 * with the protocol's code, status and message from src/errors.ts.
 */

/** A domain error is named after its class; its message is for the log, never for the client. */
abstract class DomainError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Another process (Calibre-Web, calibre, a CLI command) kept a database locked past the wait budget. */
export class DatabaseBusy extends DomainError {}

/** The credentials are missing, malformed or wrong, or name no user who may log in. */
export class LoginFailed extends DomainError {}

/** A client (or the whole server) has too many password checks running or waiting: refused unchecked. */
export class VerificationsFull extends DomainError {}

/**
 * A database file cannot be used: disk full, read-only, an I/O error, missing or not usable. The
 * message (`detail`) names the file and the cause, for the log.
 */
export class StorageUnavailable extends DomainError {
  get detail(): string {
    return this.message;
  }
}

/** The client address, or the username from its network, failed too often; may try again after `retryAfterSeconds`. */
export class TooManyFailures extends DomainError {
  constructor(readonly retryAfterSeconds: number) {
    super(`too many failed logins, retry after ${retryAfterSeconds} s`);
  }
}

/** Why a stock-KOReader key that was right when enabled no longer is. */
export type OutdatedKeyReason = 'password' | 'account' | 'expired';

/** The right stock-KOReader key, enabled for an account that has changed since (or, without a local password, expired). */
export class SyncKeyOutdated extends DomainError {
  constructor(readonly reason: OutdatedKeyReason) {
    super(`the KOReader sync key is outdated (${reason})`);
  }
}
