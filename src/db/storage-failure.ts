import { StorageUnavailable } from '../domain-errors.js';
import { isBusy } from './busy.js';
import type { Connection } from './query.js';

/**
 * SQLite's result codes (extended ones by prefix) that say the file cannot be used right now, as
 * opposed to a bad statement or a lock: reported as StorageUnavailable (try again later), with the cause.
 */
const CAUSES: readonly [prefix: string, cause: string][] = [
  ['SQLITE_FULL', 'the disk is full'],
  ['SQLITE_READONLY_DBMOVED', 'the file was moved, replaced or deleted while open'],
  ['SQLITE_READONLY', 'the file or its folder is read-only'],
  ['SQLITE_CANTOPEN', 'a file cannot be opened or created (the journal beside it: is the folder read-only?)'],
  ['SQLITE_IOERR', 'an I/O error'],
];

function causeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  return CAUSES.find(([prefix]) => code === prefix || code.startsWith(`${prefix}_`))?.[1];
}

export function isStorageFailure(error: unknown): boolean {
  return causeOf(error) !== undefined;
}

/** The StorageUnavailable for a storage failure of `what` (e.g. `writing /config/app.db`), or undefined for any other error. */
export function storageFailure(error: unknown, what: string): StorageUnavailable | undefined {
  if (error instanceof StorageUnavailable) return error;
  const cause = causeOf(error);
  if (cause === undefined) return undefined;
  const { code, message } = error as { code: string; message: string };
  return new StorageUnavailable(`${what} failed: ${cause} (${code}: ${message})`, { cause: error });
}

/**
 * Whether an error inside a transaction ends it: a lock (retried whole), a storage failure (the next
 * statement would fail alike), or SQLite having rolled the transaction back itself (disk full, I/O
 * error, a trigger's RAISE(ROLLBACK)), after which a `ROLLBACK TO` a savepoint only fails with
 * "no such savepoint".
 */
export function endsTransaction(conn: Connection, error: unknown): boolean {
  return isBusy(error) || isStorageFailure(error) || !conn.raw.inTransaction;
}
