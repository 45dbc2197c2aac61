import { accessSync, constants, existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { systemClock, type Clock } from '../clock.js';
import { Connection, queryBuilder } from './query.js';
import { retryWhileBusy } from './busy.js';
import { GroupCommit } from './group-commit.js';
import { StartupError } from './startup-error.js';
import type { AppDatabase } from './tables.js';

export const appQuery = queryBuilder<AppDatabase>();

/** The tables Calibre-Web's ub.py creates that the sidecar reads or writes. */
const REQUIRED_TABLES = ['user', 'book_read_link', 'kobo_reading_state', 'kobo_bookmark', 'kobo_statistics'];

/**
 * CWA's KOSyncProgress as SQLAlchemy create_all emits it (variant A in notes/cwa.md §1.2; the same DDL
 * as schema/app-db.sql). Older variants (AUTOINCREMENT with indexes; DATETIME without CASCADE) are used
 * as found: every write names its columns.
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

export interface WriteOptions {
  /** Milliseconds to wait for Calibre-Web's lock before giving up with 503/1000. */
  lockWaitMs: number;
  onLockWait?: () => void;
}

/**
 * Calibre-Web's app.db. Two connections: reads never queue behind a write that waits for a lock.
 * Foreign keys off as in Calibre-Web (the file holds orphans; better-sqlite3 turns them on by default),
 * journal mode untouched, busy_timeout 0 so lock waits happen between event-loop turns (retryWhileBusy,
 * GroupCommit), never inside SQLite where they would freeze every other request.
 */
export class AppDb {
  readonly read: Connection;
  readonly write: Connection;
  private readonly writes: GroupCommit;

  private constructor(
    readonly path: string,
    private readonly clock: Clock,
  ) {
    this.read = new Connection(openConnection(path));
    this.write = new Connection(openConnection(path));
    this.writes = new GroupCommit(this.write, clock);
  }

  /** `clock` times lock waits (its monotonic milliseconds). */
  static open(path: string, clock: Clock = systemClock): AppDb {
    if (!existsSync(path)) throw new StartupError(`app.db not found: ${path} (set KOSYNC_APP_DB to Calibre-Web's app.db)`);
    if (!statSync(path).isFile()) throw new StartupError(`app.db is not a file: ${path}`);
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
    } catch {
      throw new StartupError(`app.db is not readable and writable by this process: ${path} (check the file owner, or PUID/PGID)`);
    }
    let db: AppDb;
    try {
      db = new AppDb(path, clock);
    } catch (error) {
      throw new StartupError(`app.db cannot be opened: ${path}: ${(error as Error).message}`);
    }
    try {
      db.checkSchema();
      db.ensureProgressTable();
    } catch (error) {
      db.close();
      throw error;
    }
    return db;
  }

  private checkSchema(): void {
    let tables: Set<string>;
    try {
      tables = new Set(
        (this.read.raw.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name),
      );
    } catch (error) {
      throw new StartupError(`app.db is not a SQLite database: ${this.path}: ${(error as Error).message}`);
    }
    const missing = REQUIRED_TABLES.filter((t) => !tables.has(t));
    if (missing.length > 0) {
      throw new StartupError(`not Calibre-Web's app.db: ${this.path} has no table ${missing.join(', ')}`);
    }
  }

  /** Creates kosync_progress if missing, as CWA's ub.init_db create_all does on every start. */
  private ensureProgressTable(): void {
    const raw = this.write.raw;
    const exists = () => raw.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kosync_progress'`).get();
    if (exists()) return;
    raw.pragma('busy_timeout = 5000'); // start-up only: nothing else is being served yet
    try {
      raw.exec('BEGIN IMMEDIATE');
      if (!exists()) raw.exec(KOSYNC_PROGRESS_DDL);
      raw.exec('COMMIT');
    } catch (error) {
      if (raw.inTransaction) raw.exec('ROLLBACK');
      throw new StartupError(`cannot create kosync_progress in ${this.path}: ${(error as Error).message}`);
    } finally {
      raw.pragma('busy_timeout = 0');
    }
  }

  /** A read on the read connection, waiting (off the event loop) while the file is locked. */
  async reading<T>(body: (conn: Connection) => T, lockWaitMs: number): Promise<T> {
    return retryWhileBusy(() => body(this.read), this.clock.monotonicMs() + lockWaitMs, this.clock);
  }

  /**
   * `body` in a `BEGIN IMMEDIATE` … `COMMIT` on the write connection, shared with the writes that
   * arrive meanwhile (GroupCommit: each in its own savepoint). `body` runs synchronously, so the
   * transaction is as short as the statements themselves. A lock held elsewhere is waited for up to
   * the budget, counted from this call; past it 503/1000 is answered.
   */
  transaction<T>(body: (conn: Connection) => T, options: WriteOptions): Promise<T> {
    return this.writes.run(body, options.lockWaitMs, options.onLockWait);
  }

  /** COMMITs issued on the write connection: never more than one per sync, one per group of them. */
  get commits(): number {
    return this.writes.commits;
  }

  private rollback(): void {
    if (this.write.raw.inTransaction) this.write.raw.exec('ROLLBACK');
  }

  close(): void {
    this.rollback();
    this.read.close();
    this.write.close();
  }
}

function openConnection(path: string): Database.Database {
  const raw = new Database(path, { fileMustExist: true });
  raw.pragma('foreign_keys = OFF');
  raw.pragma('busy_timeout = 0');
  return raw;
}
