import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { SCHEMA_DIR } from '../paths.js';
import { Connection } from './query.js';
import { StartupError } from './startup-error.js';

/** schema/state/NNN-name.sql, applied in order; `PRAGMA user_version` records the last one applied. */
export const STATE_MIGRATIONS_DIR = join(SCHEMA_DIR, 'state');

interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function listMigrations(dir = STATE_MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .map((file) => /^(\d{3})-([\w-]+)\.sql$/.exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ version: Number(m[1]), name: m[2]!, sql: readFileSync(join(dir, m[0]), 'utf8') }))
    .sort((a, b) => a.version - b.version);
}

/**
 * The sidecar's own SQLite file (KOSYNC_STATE_DB): stock-KOReader keys and the checksum index live
 * here, never in app.db. WAL, since only this process writes it.
 */
export class StateDb {
  readonly conn: Connection;

  private constructor(readonly path: string) {
    const raw = new Database(path);
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
    raw.pragma('busy_timeout = 2000');
    raw.pragma('foreign_keys = ON');
    this.conn = new Connection(raw);
  }

  static open(path: string): StateDb {
    const dir = dirname(path);
    try {
      accessSync(dir, constants.W_OK);
      if (existsSync(path)) accessSync(path, constants.R_OK | constants.W_OK);
    } catch {
      throw new StartupError(`state database is not writable: ${path} (set KOSYNC_STATE_DB to a writable file)`);
    }
    let db: StateDb;
    try {
      db = new StateDb(path);
    } catch (error) {
      throw new StartupError(`state database cannot be opened: ${path}: ${(error as Error).message}`);
    }
    try {
      db.migrate(listMigrations());
    } catch (error) {
      db.close();
      throw new StartupError(`state database ${path} cannot be migrated: ${(error as Error).message}`);
    }
    return db;
  }

  get version(): number {
    return this.conn.raw.pragma('user_version', { simple: true }) as number;
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

  close(): void {
    this.conn.close();
  }
}
