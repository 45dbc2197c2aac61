import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { systemClock, type Clock } from '../clock.js';
import { Connection, queryBuilder } from './query.js';
import { StartupError } from './startup-error.js';
import type { CalibreDatabase } from './tables.js';

export const calibreQuery = queryBuilder<CalibreDatabase>();

/** How long the "does CWA's checksum table exist" answer is trusted (CWA may create it while we run). */
const TABLE_CHECK_TTL_MS = 30_000;

/**
 * Calibre's metadata.db, opened read-only (SQLite `readonly` plus `query_only`): calibre and
 * Calibre-Web own it, and the sidecar never writes it, not even a journal.
 */
export class CalibreDb {
  readonly conn: Connection;
  private checksumTable: { present: boolean; checkedAt: number } | undefined;

  private constructor(
    readonly path: string,
    readonly library: string,
    private readonly clock: Clock,
  ) {
    const raw = new Database(path, { readonly: true, fileMustExist: true });
    raw.pragma('query_only = ON');
    raw.pragma('busy_timeout = 0');
    this.conn = new Connection(raw);
  }

  static open(library: string, clock: Clock = systemClock): CalibreDb {
    const path = join(library, 'metadata.db');
    if (!existsSync(path)) throw new StartupError(`metadata.db not found in the Calibre library ${library}`);
    try {
      const db = new CalibreDb(path, library, clock);
      db.conn.raw.prepare('SELECT id FROM books LIMIT 1').get();
      return db;
    } catch (error) {
      throw new StartupError(`${path} is not a readable Calibre library: ${(error as Error).message}`);
    }
  }

  /** Whether CWA's `book_format_checksums` exists (only once its KOReader flag was on: docs/UPSTREAM.md#cwa-book_format_checksums). */
  hasChecksumTable(): boolean {
    const now = this.clock.monotonicMs();
    if (!this.checksumTable || now - this.checksumTable.checkedAt > TABLE_CHECK_TTL_MS) {
      const row = this.conn.raw.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'book_format_checksums'`).get();
      this.checksumTable = { present: row !== undefined, checkedAt: now };
    }
    return this.checksumTable.present;
  }

  close(): void {
    this.conn.close();
  }
}
