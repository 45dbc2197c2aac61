import type { CalibreDb } from '../db/calibre-db.js';
import type { StateDb } from '../db/state-db.js';
import { findLiveUserAliases, userAliasDocuments } from '../repos/user-aliases.js';
import type { BookMatch, UserSource } from './book-matcher.js';
import { firstInLibrary } from './index-sources.js';

/**
 * The aliases learnt from this user's KOReader metadata (src/repos/user-aliases.ts): a document their
 * reader named by title and authors once matches that book by its id from then on, for them alone.
 */
export class UserAliasSource implements UserSource {
  constructor(
    private readonly calibre: CalibreDb,
    private readonly state: StateDb,
  ) {}

  match(document: string, userId: number): BookMatch | undefined {
    const aliases = findLiveUserAliases(this.state.conn, userId, document).map((a) => ({ ...a, source: 'metadata' as const }));
    return firstInLibrary(this.calibre, aliases, 'koreader');
  }

  documentsOf(bookId: number, format: string, userId: number): string[] {
    return userAliasDocuments(this.state.conn, userId, bookId, format);
  }
}
