import { calibreQuery, type CalibreDb } from '../db/calibre-db.js';
import type { BookMatch, BookSource } from './book-matcher.js';

/**
 * CWA's `book_format_checksums` in metadata.db, looked up as CWA kosync.py get_book_by_checksum does:
 * any version, newest `created` first, then `version`. Libraries without the table match nothing here.
 */
export class CwaChecksumSource implements BookSource {
  constructor(private readonly calibre: CalibreDb) {}

  match(document: string): BookMatch | undefined {
    if (!this.calibre.hasChecksumTable()) return undefined;
    const row = this.calibre.conn.first(
      calibreQuery
        .selectFrom('book_format_checksums as c')
        .innerJoin('books as b', 'b.id', 'c.book')
        .select(['c.book', 'c.format', 'c.version', 'b.title'])
        .where('c.checksum', '=', document)
        .orderBy('c.created', 'desc')
        .orderBy('c.version', 'desc')
        .orderBy('c.id', 'desc')
        .limit(1),
    );
    return row && { bookId: row.book, title: row.title, format: row.format.toUpperCase(), checksumVersion: row.version };
  }

  documentsOf(bookId: number, format: string): string[] {
    if (!this.calibre.hasChecksumTable()) return [];
    return this.calibre.conn
      .all(
        calibreQuery
          .selectFrom('book_format_checksums')
          .select('checksum')
          .where('book', '=', bookId)
          .where('format', '=', format),
      )
      .map((r) => r.checksum);
  }
}
