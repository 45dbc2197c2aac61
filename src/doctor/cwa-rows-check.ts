import type Database from 'better-sqlite3';
import { note, type Finding } from './findings.js';

/** Tables the sidecar writes, where CWA forks may have added UNIQUE indexes (docs/UPSTREAM.md#cwa-rows-left-by-other-versions). */
const WRITTEN_TABLES = ['kosync_progress', 'book_read_link', 'kobo_reading_state', 'kobo_bookmark', 'kobo_statistics'];

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * The `kosync_progress` rows other CWA versions left (docs/UPSTREAM.md#cwa-rows-left-by-other-versions),
 * counted by kind with what a pull does with them. Nothing when there are none.
 */
export function cwaRowsFinding(db: Database.Database): Finding | undefined {
  const counts = db
    .prepare(
      `SELECT
         coalesce(sum(document <> '' AND document NOT GLOB '*[^0-9]*'), 0) AS bookIds,
         coalesce(sum(progress = 'cwng:percentage'), 0) AS percentageOnly,
         coalesce(sum(percentage <= 1 AND percentage > 0 AND timestamp < '2025-11-09'), 0) AS fractions
       FROM kosync_progress`,
    )
    .get() as { bookIds: number; percentageOnly: number; fractions: number };
  const kinds = [
    counts.bookIds > 0 && `${plural(counts.bookIds, 'row')} keyed by a book id (read for that book when the position fits the format)`,
    counts.percentageOnly > 0 && `${plural(counts.percentageOnly, 'CWNG percentage-only row')} (never served: no position to go to)`,
    counts.fractions > 0 && `${plural(counts.fractions, 'CWA v3.1 row')} with a 0-1 fraction (read as the percentage it is)`,
  ].filter((k): k is string => typeof k === 'string');
  return kinds.length > 0 ? note(`kosync_progress holds rows other CWA versions left: ${kinds.join('; ')}`) : undefined;
}

/**
 * UNIQUE indexes on the tables the sidecar writes, besides their primary keys: CWA forks add some. The
 * sidecar never writes a second row for a user and a document or book, so they stay satisfied.
 */
export function uniqueIndexFindings(db: Database.Database, tables: ReadonlySet<string>): Finding[] {
  return WRITTEN_TABLES.filter((table) => tables.has(table)).flatMap((table) =>
    (
      db.prepare(`SELECT name, origin FROM pragma_index_list(?) WHERE "unique" = 1 AND origin <> 'pk'`).all(table) as { name: string }[]
    ).map(({ name }) => {
      const columns = (db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').all(name) as { name: string }[]).map(
        (c) => c.name,
      );
      return note(
        `UNIQUE index ${name} on ${table} (${columns.join(', ')}), as CWA forks add: kept satisfied, ` +
          'the sidecar updates the row of a user and document or book instead of adding one',
      );
    }),
  );
}
