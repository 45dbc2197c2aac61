import type { CalibreDb } from '../db/calibre-db.js';
import { checksumsOfFormat, findNewestChecksum } from '../repos/cwa-checksums.js';
import type { BookMatch, BookSource } from './book-matcher.js';

/**
 * CWA's `book_format_checksums` in metadata.db, looked up as CWA kosync.py get_book_by_checksum does
 * (src/repos/cwa-checksums.ts, docs/UPSTREAM.md#cwa-the-original-kosyncpy). Libraries without the table
 * match nothing here.
 */
export class CwaChecksumSource implements BookSource {
  constructor(private readonly calibre: CalibreDb) {}

  match(document: string): BookMatch | undefined {
    if (!this.calibre.hasChecksumTable()) return undefined;
    const row = findNewestChecksum(this.calibre.conn, document);
    return row && { bookId: row.bookId, title: row.title, format: row.format, checksumVersion: row.version, source: 'cwa' };
  }

  documentsOf(bookId: number, format: string): string[] {
    if (!this.calibre.hasChecksumTable()) return [];
    return checksumsOfFormat(this.calibre.conn, bookId, format);
  }
}
