import { calibreQuery, type CalibreDb } from '../db/calibre-db.js';
import { prepared } from '../db/query.js';
import type { BookMatch, BookSource } from './book-matcher.js';

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
 * CWA's `book_format_checksums` in metadata.db, looked up as CWA kosync.py get_book_by_checksum does:
 * any version, newest `created` first, then `version`. Libraries without the table match nothing here.
 */
export class CwaChecksumSource implements BookSource {
  constructor(private readonly calibre: CalibreDb) {}

  match(document: string): BookMatch | undefined {
    if (!this.calibre.hasChecksumTable()) return undefined;
    const row = this.calibre.conn.first(newestChecksum, { document });
    return row && { bookId: row.book, title: row.title, format: row.format.toUpperCase(), checksumVersion: row.version };
  }

  documentsOf(bookId: number, format: string): string[] {
    if (!this.calibre.hasChecksumTable()) return [];
    return this.calibre.conn.all(checksumsOf, { bookId, format }).map((r) => r.checksum);
  }
}
