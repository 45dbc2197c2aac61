/**
 * CWA's `book_format_checksums` in metadata.db (read-only), present only where CWA's KOReader sync was
 * switched on: the KOReader partial MD5s CWA computed for each book format.
 */
import { calibreQuery } from '../db/calibre-db.js';
import { type Connection, prepared } from '../db/query.js';

/** A row of CWA's table naming a document: its book, format (upper case) and when CWA recorded it. */
export interface CwaChecksum {
  bookId: number;
  format: string;
  version: string;
  created: string | null;
}

const newestChecksum = prepared((p: { document: string }) =>
  calibreQuery
    .selectFrom('book_format_checksums as c')
    .innerJoin('books as b', 'b.id', 'c.book')
    .select(['c.book', 'c.format', 'c.version', 'b.title'])
    .where('c.checksum', '=', p.document)
    .orderBy('c.created', 'desc')
    .orderBy('c.version', 'desc')
    .orderBy('c.id', 'desc')
    .limit(1),
);

const checksumsOf = prepared((p: { bookId: number; format: string }) =>
  calibreQuery.selectFrom('book_format_checksums').select('checksum').where('book', '=', p.bookId).where('format', '=', p.format),
);

/**
 * The book a document id names, looked up as CWA's get_book_by_checksum does: any version, newest
 * `created` first, then `version`; only a book metadata.db still has.
 */
export function findNewestChecksum(conn: Connection, document: string): (Omit<CwaChecksum, 'created'> & { title: string }) | undefined {
  const row = conn.first(newestChecksum, { document });
  return row && { bookId: row.book, format: row.format.toUpperCase(), version: row.version, title: row.title };
}

/** Every document id CWA recorded for a book and format. */
export function checksumsOfFormat(conn: Connection, bookId: number, format: string): string[] {
  return conn.all(checksumsOf, { bookId, format }).map((r) => r.checksum);
}

/** Every row naming the document, newest first (for `checksums find`). */
export function listChecksumRows(conn: Connection, document: string): CwaChecksum[] {
  return conn
    .all(
      calibreQuery
        .selectFrom('book_format_checksums')
        .select(['book', 'format', 'version', 'created'])
        .where('checksum', '=', document)
        .orderBy('created', 'desc')
        .orderBy('id', 'desc'),
    )
    .map((r) => ({ bookId: r.book, format: r.format.toUpperCase(), version: r.version, created: r.created }));
}
