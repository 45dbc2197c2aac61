import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { systemClock, type Clock } from '../clock.js';
import { SCHEMA_DIR } from '../paths.js';
import { Backoff, isBusy, retryWhileBusy, until } from './busy.js';
import { Connection, queryBuilder } from './query.js';
import { StartupError } from './startup-error.js';
import type { StateDatabase } from './tables.js';

export const stateQuery = queryBuilder<StateDatabase>();

/** schema/state/NNN-name.sql, applied in order; `PRAGMA user_version` records the last one applied. */
export const STATE_MIGRATIONS_DIR = join(SCHEMA_DIR, 'state');

interface Migration {
  version: number;
  name: string;
  sql: string;
}

function listMigrations(dir = STATE_MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .map((file) => /^(\d{3})-([\w-]+)\.sql$/.exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ version: Number(m[1]), name: m[2]!, sql: readFileSync(join(dir, m[0]), 'utf8') }))
    .sort((a, b) => a.version - b.version);
}

/**
 * The start-up rule for the state DB's file (doctor applies the same): its folder is writable (SQLite
 * puts the WAL and journal there, and creates the file) and the file, if there, readable and writable.
 */
export function canWriteStateDb(path: string): boolean {
  try {
    accessSync(dirname(path), constants.W_OK);
    if (existsSync(path)) accessSync(path, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where StateDb reports writes it had to defer, and those it dropped. */
interface StateDbLog {
  info(message: string): void;
  warn(obj: object, message: string): void;
}

interface StateDbOptions {
  /** Times retries and deferred writes (its monotonic milliseconds). */
  clock?: Clock;
  /**
   * How long SQLite itself waits for a lock held by another process. 0 in the server, whose writes
   * wait between event-loop turns instead (`writing`, `later`); a CLI command may wait in SQLite.
   */
  busyTimeoutMs?: number;
}

/** How long start-up waits for a lock held by another process (nothing is served yet). */
const STARTUP_BUSY_WAIT_MS = 5000;
/** How long a deferred write is retried before it is dropped with a warning. */
const DEFERRED_GIVE_UP_MS = 10 * 60_000;
/** Deferred writes kept at most; past that new ones are dropped (and counted in the warning). */
const MAX_DEFERRED = 1000;
/** Deferred writes are tried again after 25 ms, doubling up to a second. */
const FIRST_RETRY_MS = 25;
const LAST_RETRY_MS = 1000;

interface Deferred {
  what: string;
  body: (conn: Connection) => void;
  since: number;
}

/**
 * The sidecar's own SQLite file (KOSYNC_STATE_DB): stock-KOReader keys and the checksum index live
 * here, never in app.db. WAL, since normally only this process writes it.
 *
 * Another process may still hold its write lock (a `keys revoke`, a backup, an `sqlite3` shell left
 * open). The server never waits for it inside SQLite, where it would freeze every request: a write
 * that must be done (enabling a key, a scan's batch) is retried between event-loop turns up to its
 * budget (`writing`), and a write that may wait (when a key was last used, an alias learnt from
 * metadata, a key recorded after a login) is kept and done in the background once the lock is free
 * (`later`). Reads are never blocked by a writer in WAL mode.
 */
export class StateDb {
  readonly conn: Connection;
  private readonly clock: Clock;
  private readonly deferred = new Map<string, Deferred>();
  private droppedWhileFull = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly retryWaits = new Backoff(FIRST_RETRY_MS, LAST_RETRY_MS);
  private log: StateDbLog = { info: () => {}, warn: () => {} };

  private constructor(
    readonly path: string,
    options: StateDbOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    const raw = new Database(path);
    this.conn = new Connection(raw);
    raw.pragma(`busy_timeout = ${STARTUP_BUSY_WAIT_MS}`);
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
    raw.pragma('foreign_keys = ON');
  }

  static open(path: string, options: StateDbOptions = {}): StateDb {
    if (!canWriteStateDb(path)) {
      throw new StartupError(`state database is not writable: ${path} (set KOSYNC_STATE_DB to a writable file)`);
    }
    let db: StateDb;
    try {
      db = new StateDb(path, options);
    } catch (error) {
      throw new StartupError(`state database cannot be opened: ${path}: ${(error as Error).message}`);
    }
    try {
      db.checkIntegrity();
      try {
        db.migrate(listMigrations());
      } catch (error) {
        throw new StartupError(`state database ${path} cannot be migrated: ${(error as Error).message}`);
      }
      db.conn.raw.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 2000}`);
    } catch (error) {
      db.close();
      throw error;
    }
    return db;
  }

  /** Where deferred and dropped writes are reported from now on (the server's logger). */
  useLog(log: StateDbLog): void {
    this.log = log;
  }

  get version(): number {
    return this.conn.raw.pragma('user_version', { simple: true }) as number;
  }

  /**
   * `body` in a `BEGIN IMMEDIATE` transaction now, or, while another process holds the lock, as soon
   * as it is free within `waitMs` (DatabaseBusy past it). A deferred write under the same `key` is
   * superseded by this one.
   */
  writing<T>(body: (conn: Connection) => T, waitMs: number, key?: string): Promise<T> {
    if (key !== undefined) this.deferred.delete(key);
    return retryWhileBusy(() => this.inTransaction(body), until(this.clock.monotonicMs() + waitMs, this.clock));
  }

  /**
   * `body` now if the state DB is free, else kept and done in the background once it is (the latest
   * write per `key` wins), or dropped with a warning naming `what` after DEFERRED_GIVE_UP_MS. Never
   * throws and never waits: for writes nobody waits for.
   */
  later(key: string, what: string, body: (conn: Connection) => void): void {
    if (this.deferred.size === 0) {
      try {
        this.inTransaction(body);
        return;
      } catch (error) {
        if (!isBusy(error)) {
          this.log.warn({ err: error }, `state database: ${what} failed`);
          return;
        }
        this.log.info(`state database locked by another process: ${this.path}; writes are deferred until it is free`);
      }
    }
    if (!this.deferred.has(key) && this.deferred.size >= MAX_DEFERRED) {
      this.droppedWhileFull++;
      return;
    }
    this.deferred.delete(key);
    this.deferred.set(key, { what, body, since: this.clock.monotonicMs() });
    this.retryLater();
  }

  /** Writes deferred and not done yet. */
  get deferredWrites(): number {
    return this.deferred.size;
  }

  /** Makes one last attempt at the deferred writes, then closes; what still cannot be written is reported. */
  close(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.deferred.size > 0 && this.conn.raw.open) this.flushDeferred(true);
    this.conn.close();
  }

  private inTransaction<T>(body: (conn: Connection) => T): T {
    return this.conn.raw.transaction(() => body(this.conn)).immediate();
  }

  private retryLater(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.flushDeferred(false);
    }, this.retryWaits.next());
    this.retryTimer.unref();
  }

  /** All deferred writes in one transaction; on a lock, those past their time are dropped and the rest wait. */
  private flushDeferred(closing: boolean): void {
    const entries = [...this.deferred.values()];
    try {
      this.inTransaction((conn) => {
        for (const entry of entries) entry.body(conn);
      });
    } catch (error) {
      const now = this.clock.monotonicMs();
      const expired = [...this.deferred].filter(([, entry]) => closing || !isBusy(error) || now - entry.since >= DEFERRED_GIVE_UP_MS);
      for (const [key] of expired) this.deferred.delete(key);
      if (expired.length > 0 || this.droppedWhileFull > 0) {
        this.reportDropped(
          expired.map(([, entry]) => entry.what),
          error,
        );
      }
      if (this.deferred.size > 0 && !closing) this.retryLater();
      return;
    }
    this.deferred.clear();
    this.retryWaits.reset();
    if (this.droppedWhileFull > 0) this.reportDropped([], undefined);
    this.log.info(`state database free again: ${entries.length} deferred write(s) done`);
  }

  private reportDropped(whats: string[], error: unknown): void {
    const counts = new Map<string, number>();
    for (const what of whats) counts.set(what, (counts.get(what) ?? 0) + 1);
    if (this.droppedWhileFull > 0) counts.set('writes past the deferred limit', this.droppedWhileFull);
    this.droppedWhileFull = 0;
    const list = [...counts].map(([what, n]) => `${what} (${n})`).join(', ');
    this.log.warn({ err: error }, `state database: not recorded: ${list}`);
  }

  /**
   * `PRAGMA quick_check` before anything else: a file with damaged pages would start and then fail
   * every request that touches it with 502.
   */
  private checkIntegrity(): void {
    let problems: string[];
    try {
      problems = (this.conn.raw.pragma('quick_check') as { quick_check: string }[]).map((row) => row.quick_check);
    } catch (error) {
      problems = [(error as Error).message];
    }
    if (problems.length === 1 && problems[0] === 'ok') return;
    throw new StartupError(
      `state database is damaged: ${this.path} ` +
        `(PRAGMA quick_check: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''}). ` +
        "It holds only the sidecar's own data: stop the server, move the file aside (with its -wal and -shm files) and start again. " +
        'Users then enable stock KOReader sync again on the page; the checksum index is rebuilt by itself.',
    );
  }

  private migrate(migrations: Migration[]): void {
    const current = this.version;
    const newest = migrations.at(-1)?.version ?? 0;
    if (current > newest) throw new Error(`it was written by a newer calibre-web-kosync (schema ${current} > ${newest})`);
    for (const migration of migrations.filter((m) => m.version > current)) {
      this.conn.raw.transaction(() => {
        this.conn.raw.exec(migration.sql);
        this.conn.raw.pragma(`user_version = ${migration.version}`);
      })();
    }
  }
}
