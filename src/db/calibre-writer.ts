import Database from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { retryWhileBusy, until } from './busy.js';
import { Connection } from './query.js';
import { storageFailure } from './storage-failure.js';

interface CalibreWriteOptions {
  /** Milliseconds to wait for a lock calibre or Calibre-Web holds before giving up with DatabaseBusy. */
  lockWaitMs: number;
  clock: Clock;
  /** Told before each wait for the lock. */
  onLockWait?: () => void;
}

/**
 * `body` in one `BEGIN IMMEDIATE` … `COMMIT` on Calibre's metadata.db, through a connection opened for
 * it and closed after: the only write the sidecar ever makes there (Calibre's "Read" column, with
 * KOSYNC_READ_COLUMN on), so the server's CalibreDb stays read-only and no writable handle is held
 * between writes. Journal mode and schema are left as calibre set them. A lock held elsewhere is
 * waited for between event-loop turns (busy_timeout 0, as for app.db), up to the budget; a storage
 * failure is StorageUnavailable.
 */
export async function writeCalibreDb<T>(path: string, body: (conn: Connection) => T, options: CalibreWriteOptions): Promise<T> {
  let conn: Connection;
  try {
    conn = new Connection(new Database(path, { fileMustExist: true }));
  } catch (error) {
    throw storageFailure(error, `opening ${path} for writing`) ?? error;
  }
  try {
    conn.raw.pragma('busy_timeout = 0');
    const transaction = conn.raw.transaction(() => body(conn));
    const retry = { ...until(options.clock.monotonicMs() + options.lockWaitMs, options.clock), onWait: options.onLockWait };
    return await retryWhileBusy(() => transaction.immediate(), retry);
  } catch (error) {
    throw storageFailure(error, `writing ${path}`) ?? error;
  } finally {
    conn.close();
  }
}
