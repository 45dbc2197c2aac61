import type { CalibreDb } from '../db/calibre-db.js';
import type { StateDb } from '../db/state-db.js';
import { findLink, listLinkedDocuments } from '../repos/document-links.js';
import type { BookMatch, UserSource } from './book-matcher.js';
import { firstInLibrary } from './index-sources.js';

/**
 * The documents a reader linked to a book by hand on the account page or API (repos/document-links.ts):
 * asked before every other source, for that reader alone and never cached, so a link is the reader's
 * own choice and changes nobody else's matching. A link to a book no longer in the library matches
 * nothing.
 */
export class ManualLinkSource implements UserSource {
  constructor(
    private readonly calibre: CalibreDb,
    private readonly state: StateDb,
  ) {}

  match(document: string, userId: number): BookMatch | undefined {
    const link = findLink(this.state.conn, userId, document);
    return link && firstInLibrary(this.calibre, [{ bookId: link.book_id, format: link.format, source: 'manual' }], 'koreader');
  }

  documentsOf(bookId: number, format: string, userId: number): string[] {
    return listLinkedDocuments(this.state.conn, userId, bookId, format);
  }
}
