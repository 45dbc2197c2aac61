import type { CalibreDb } from '../db/calibre-db.js';
import type { StateDb } from '../db/state-db.js';
import { findAllDocuments, type IndexedDocument } from '../repos/checksum-index.js';
import { type CwaChecksum, listChecksumRows } from '../repos/cwa-checksums.js';
import type { BookMatch, BookMatcher, MatchSource } from './book-matcher.js';

export interface DocumentExplanation {
  document: string;
  /** The book the server matches the document to now, and which of its sources matched it. */
  match: (Omit<BookMatch, 'source'> & { method: MatchSource }) | undefined;
  cwa: CwaChecksum[];
  /** Every index entry for the document, newest first; `live` ones can match. */
  index: IndexedDocument[];
}

/** Which book a document id stands for, how it matches, and when each way of matching was seen. */
export function explainDocument(document: string, matcher: BookMatcher, calibre: CalibreDb, state: StateDb): DocumentExplanation {
  const cwa = calibre.hasChecksumTable() ? listChecksumRows(calibre.conn, document) : [];
  const index = findAllDocuments(state.conn, document);
  const found = matcher.match(document);
  if (!found) return { document, match: undefined, cwa, index };
  const { source, ...book } = found;
  return { document, match: { ...book, method: source }, cwa, index };
}
