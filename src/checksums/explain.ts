import { calibreQuery, type CalibreDb } from '../db/calibre-db.js';
import type { StateDb } from '../db/state-db.js';
import type { BookMatch, BookMatcher } from '../matching/book-matcher.js';
import { findAllDocuments, type IndexedDocument } from './index-store.js';

/** A row of CWA's book_format_checksums naming the document. */
export interface CwaEntry {
  bookId: number;
  format: string;
  version: string;
  created: string | null;
}

export type MatchMethod = 'cwa' | 'binary' | 'filename' | 'metadata';

export interface DocumentExplanation {
  document: string;
  /** The book the server matches the document to now, and by which of its sources. */
  match: (BookMatch & { method: MatchMethod }) | undefined;
  cwa: CwaEntry[];
  /** Every index entry for the document, newest first; `live` ones can match. */
  index: IndexedDocument[];
}

/** Which book a document id stands for, how it matches, and when each way of matching was seen. */
export function explainDocument(document: string, matcher: BookMatcher, calibre: CalibreDb, state: StateDb): DocumentExplanation {
  const cwa = calibre.hasChecksumTable()
    ? calibre.conn
        .all(
          calibreQuery
            .selectFrom('book_format_checksums')
            .select(['book', 'format', 'version', 'created'])
            .where('checksum', '=', document)
            .orderBy('created', 'desc')
            .orderBy('id', 'desc'),
        )
        .map((r) => ({ bookId: r.book, format: r.format.toUpperCase(), version: r.version, created: r.created }))
    : [];
  const index = findAllDocuments(state.conn, document);
  const found = matcher.match(document);
  return { document, match: found && { ...found, method: methodOf(found, cwa, index) }, cwa, index };
}

/** The sources are asked in the matcher's order: CWA's table, then the index (binary and aliases), then file names. */
function methodOf(match: BookMatch, cwa: CwaEntry[], index: IndexedDocument[]): MatchMethod {
  if (match.checksumVersion === 'koreader_filename') return 'filename';
  const same = (e: { bookId: number; format: string }) => e.bookId === match.bookId && e.format === match.format;
  if (cwa.some(same)) return 'cwa';
  return index.find((e) => e.live && e.method !== 'filename' && same(e))?.method ?? 'binary';
}
