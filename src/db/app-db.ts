import { accessSync, constants, statSync, type Stats } from 'node:fs';
import Database from 'better-sqlite3';
import { systemClock, type Clock } from '../clock.js';
import { StorageUnavailable } from '../domain-errors.js';
import { Connection, queryBuilder } from './query.js';
import { isBusy, retryWhileBusy, until } from './busy.js';
import { GroupCommit } from './group-commit.js';
import { StartupError } from './startup-error.js';
import { storageFailure } from './storage-failure.js';
import type { AppDatabase } from './tables.js';

export const appQuery = queryBuilder<AppDatabase>();

/** The tables Calibre-Web's ub.py creates that the sidecar reads or writes (docs/UPSTREAM.md#calibre-web-read-status-and-kobo-state). */
const REQUIRED_TABLES = ['user', 'book_read_link', 'kobo_reading_state', 'kobo_bookmark', 'kobo_statistics'];

/** What app.db's tables say about it: which tables it has and which required ones it lacks, or that it is not SQLite. */
export type AppDbTables = { tables: Set<string>; missing: string[] } | { notSqlite: Error };

/**
 * The start-up rule for app.db's tables (doctor applies the same): every table the sidecar reads or
 * writes must be there. SQLITE_BUSY is thrown as is.
 */
export function inspectAppTables(conn: Connection): AppDbTables {
  let tables: Set<string>;
  try {
    tables = new Set(
      (conn.raw.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name),
    );
  } catch (error) {
    if (isBusy(error)) throw error;
    return { notSqlite: error as Error };
  }
  return { tables, missing: REQUIRED_TABLES.filter((t) => !tables.has(t)) };
}

/**
 * CWA's KOSyncProgress as SQLAlchemy create_all emits it (variant A of
 * docs/UPSTREAM.md#cwa-kosync_progress; the same DDL as schema/app-db.sql). Older variants
 * (AUTOINCREMENT with indexes; DATETIME without CASCADE) are used as found: every write names its
 * columns.
 */
export const KOSYNC_PROGRESS_DDL = `CREATE TABLE kosync_progress (
	id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	document VARCHAR NOT NULL, 
	progress VARCHAR NOT NULL, 
	percentage FLOAT NOT NULL, 
	device VARCHAR NOT NULL, 
	device_id VARCHAR, 
	timestamp TIMESTAMP, 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES user (id) ON DELETE CASCADE
)`;

interface WriteOptions {
  /** Milliseconds to wait for Calibre-Web's lock before giving up with DatabaseBusy. */
  lockWaitMs: number;
  onLockWait?: () => void;
}

/** Where AppDb says that app.db went away, came back, or cannot be used. */
interface AppDbLog {
  info(message: string): void;
  warn(message: string): void;
}

/** The open file: both connections, and the file's identity when it was opened. */
interface OpenFile {
  read: Connection;
  write: Connection;
  dev: number;
  ino: number;
}

/** How long start-up waits for a lock while it checks app.db (nothing is served yet). */
const STARTUP_BUSY_WAIT_MS = 5000;
/** A path found unusable (missing, not Calibre-Web's, not writable): tried again once it changes, or after this. */
const UNUSABLE_RETRY_MS = 1000;
/** While a write failure is recorded, the healthcheck tries a probe write at most this often. */
const PROBE_INTERVAL_MS = 1000;

/**
 * Calibre-Web's app.db. Two connections: reads never queue behind a write that waits for a lock.
 * Foreign keys off as in Calibre-Web (the file holds orphans; better-sqlite3 turns them on by default),
 * journal mode untouched, busy_timeout 0 so lock waits happen between event-loop turns (retryWhileBusy,
 * GroupCommit), never inside SQLite where they would freeze every other request.
 *
 * The file may be replaced while the server runs (an admin restores a backup, a sync tool swaps it in)
 * or removed. Open connections would go on reading the old file, and SQLite refuses writes to it, so
 * every use first compares the path's device and inode with the open file's (one stat, ~2 µs): when
 * they differ the connections are opened again on the file now there, with the checks of start-up;
 * while no usable file is there every use fails with StorageUnavailable.
 */
export class AppDb {
  private file: OpenFile | undefined;
  /** Files opened at the path so far: part of `changeSignature`, since a new file's data_version starts afresh. */
  private opened = 0;
  /** Why the path holds no usable file, and its stat then (`missing` when there is none). */
  private unusable: { error: StorageUnavailable; seen: string; at: number } | undefined;
  /** The last write's storage failure, until a write commits again (the healthcheck reports it). */
  private writeFailure: StorageUnavailable | undefined;
  private lastProbeAt = -Infinity;
  private closed = false;
  private log: AppDbLog = { info: () => {}, warn: () => {} };
  private readonly writes: GroupCommit;

  private constructor(
    readonly path: string,
    private readonly clock: Clock,
  ) {
    this.writes = new GroupCommit(() => this.write, clock);
  }

  /** `clock` times lock waits (its monotonic milliseconds). */
  static open(path: string, clock: Clock = systemClock): AppDb {
    const db = new AppDb(path, clock);
    try {
      db.file = openFile(path, STARTUP_BUSY_WAIT_MS);
    } catch (error) {
      if (!isBusy(error)) throw error;
      throw new StartupError(`app.db stayed locked by another process for ${STARTUP_BUSY_WAIT_MS / 1000} s while being checked: ${path}`);
    }
    return db;
  }

  /**
   * Changes whenever another connection (Calibre-Web, or this process's writer) has committed to app.db,
   * or another file was opened at the path: SQLite's `PRAGMA data_version`, exact in every journal
   * mode. Throws SQLITE_BUSY while the file is locked.
   */
  changeSignature(): string {
    const version = this.read.statement('PRAGMA data_version').pluck().get() as number;
    return `${this.opened}:${version}`;
  }

  /** Where changes of the file are reported from now on (the server's logger). */
  useLog(log: AppDbLog): void {
    this.log = log;
  }

  /** The read connection of the file at the path now; StorageUnavailable while there is no usable one. */
  get read(): Connection {
    return this.current().read;
  }

  /** The write connection of the file at the path now; StorageUnavailable while there is no usable one. */
  get write(): Connection {
    return this.current().write;
  }

  /** A read on the read connection, waiting (off the event loop) while the file is locked. */
  async reading<T>(body: (conn: Connection) => T, lockWaitMs: number): Promise<T> {
    try {
      return await retryWhileBusy(() => body(this.read), until(this.clock.monotonicMs() + lockWaitMs, this.clock));
    } catch (error) {
      throw storageFailure(error, `reading ${this.path}`) ?? error;
    }
  }

  /**
   * `body` in a `BEGIN IMMEDIATE` … `COMMIT` on the write connection, shared with the writes that
   * arrive meanwhile (GroupCommit: each in its own savepoint). `body` runs synchronously, so the
   * transaction is as short as the statements themselves. A lock held elsewhere is waited for up to
   * the budget, counted from this call; past it the write fails with DatabaseBusy. A storage failure
   * (disk full, read-only, I/O error) fails it with StorageUnavailable, recorded for the healthcheck
   * until a write commits.
   */
  async transaction<T>(body: (conn: Connection) => T, options: WriteOptions): Promise<T> {
    let value: T;
    try {
      value = await this.writes.run(body, options.lockWaitMs, options.onLockWait);
    } catch (error) {
      const failure = storageFailure(error, `writing ${this.path}`);
      if (!failure) throw error;
      this.writeFailure = failure;
      throw failure;
    }
    this.writeFailure = undefined;
    return value;
  }

  /**
   * Resolves when app.db is usable: a usable file is at the path and answers a read and, after a write
   * failed, a probe write commits (at most once a second; in between the failure is answered). The
   * probe sets `PRAGMA user_version` to the value it has: a real page write that changes no value.
   */
  async checkHealth(budgetMs: number): Promise<void> {
    await this.reading((conn) => conn.statement('SELECT 1 FROM user LIMIT 1').get(), budgetMs);
    const failure = this.writeFailure;
    if (!failure) return;
    const now = this.clock.monotonicMs();
    if (now - this.lastProbeAt < PROBE_INTERVAL_MS) throw failure;
    this.lastProbeAt = now;
    await this.transaction(
      (conn) => {
        const version = Number(conn.raw.pragma('user_version', { simple: true }));
        conn.raw.pragma(`user_version = ${version}`);
      },
      { lockWaitMs: budgetMs },
    );
  }

  /** COMMITs issued on the write connection: never more than one per sync, one per group of them. */
  get commits(): number {
    return this.writes.commits;
  }

  close(): void {
    this.closed = true;
    if (this.file) closeFile(this.file);
    this.file = undefined;
  }

  /** The open file when it is still the one at the path; else the file there now, opened. */
  private current(): OpenFile {
    if (this.closed) throw new StorageUnavailable(`app.db is closed: ${this.path} (the server is stopping)`);
    const seen = statSync(this.path, { throwIfNoEntry: false });
    const file = this.file;
    if (file && seen && seen.ino === file.ino && seen.dev === file.dev) return file;
    if (file) {
      closeFile(file);
      this.file = undefined;
      this.log.warn(
        seen
          ? `app.db was replaced while running: ${this.path}; opening the new file`
          : `app.db was removed while running: ${this.path}; answering 503 until it is back`,
      );
    }
    return this.reopen(seen);
  }

  private reopen(seen: Stats | undefined): OpenFile {
    const signature = seen ? `${seen.dev}:${seen.ino}:${seen.size}:${seen.mtimeMs}:${seen.ctimeMs}` : 'missing';
    const now = this.clock.monotonicMs();
    const known = this.unusable;
    if (known && known.seen === signature && now - known.at < UNUSABLE_RETRY_MS) throw known.error;
    try {
      if (!seen) throw new StartupError(`app.db not found: ${this.path}`);
      this.file = openFile(this.path, 0);
    } catch (error) {
      // A lock taken while the new file is checked is waited for like any other (the caller retries).
      if (isBusy(error)) throw error;
      const detail = error instanceof StartupError ? error.message : `app.db cannot be opened: ${this.path}: ${(error as Error).message}`;
      if (detail !== known?.error.detail) this.log.warn(`${detail}; answering 503 until a usable app.db is there`);
      this.unusable = { error: new StorageUnavailable(detail, { cause: error }), seen: signature, at: now };
      throw this.unusable.error;
    }
    this.unusable = undefined;
    this.opened++;
    this.log.info(`app.db opened again: ${this.path}`);
    return this.file;
  }
}

/**
 * Opens both connections on the file at `path` after the checks of start-up (a Calibre-Web app.db this
 * process may read and write), creating kosync_progress if missing. Problems are StartupErrors naming
 * the path; SQLITE_BUSY is thrown as is when `busyWaitMs` passes.
 */
function openFile(path: string, busyWaitMs: number): OpenFile {
  const seen = statSync(path, { throwIfNoEntry: false });
  if (!seen) throw new StartupError(`app.db not found: ${path} (set KOSYNC_APP_DB to Calibre-Web's app.db)`);
  if (!seen.isFile()) throw new StartupError(`app.db is not a file: ${path}`);
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch {
    throw new StartupError(`app.db is not readable and writable by this process: ${path} (check the file owner, or PUID/PGID)`);
  }
  let file: OpenFile;
  try {
    file = { read: new Connection(openConnection(path)), write: new Connection(openConnection(path)), dev: seen.dev, ino: seen.ino };
  } catch (error) {
    throw new StartupError(`app.db cannot be opened: ${path}: ${(error as Error).message}`);
  }
  try {
    file.read.raw.pragma(`busy_timeout = ${busyWaitMs}`);
    file.write.raw.pragma(`busy_timeout = ${busyWaitMs}`);
    checkSchema(file.read, path);
    ensureProgressTable(file.write, path);
    file.read.raw.pragma('busy_timeout = 0');
    file.write.raw.pragma('busy_timeout = 0');
  } catch (error) {
    closeFile(file);
    throw error;
  }
  return file;
}

function checkSchema(conn: Connection, path: string): void {
  const found = inspectAppTables(conn);
  if ('notSqlite' in found) throw new StartupError(`app.db is not a SQLite database: ${path}: ${found.notSqlite.message}`);
  if (found.missing.length > 0) throw new StartupError(`not Calibre-Web's app.db: ${path} has no table ${found.missing.join(', ')}`);
}

/** Creates kosync_progress if missing, as CWA's ub.init_db create_all does on every start. */
function ensureProgressTable(conn: Connection, path: string): void {
  const raw = conn.raw;
  const exists = () => raw.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kosync_progress'`).get();
  if (exists()) return;
  try {
    raw.exec('BEGIN IMMEDIATE');
    if (!exists()) raw.exec(KOSYNC_PROGRESS_DDL);
    raw.exec('COMMIT');
  } catch (error) {
    if (raw.inTransaction) raw.exec('ROLLBACK');
    if (isBusy(error)) throw error;
    throw new StartupError(`cannot create kosync_progress in ${path}: ${(error as Error).message}`);
  }
}

function closeFile(file: OpenFile): void {
  if (file.write.raw.open && file.write.raw.inTransaction) file.write.raw.exec('ROLLBACK');
  file.read.close();
  file.write.close();
}

function openConnection(path: string): Database.Database {
  const raw = new Database(path, { fileMustExist: true });
  raw.pragma('foreign_keys = OFF');
  raw.pragma('busy_timeout = 0');
  return raw;
}
