/**
 * Aliases learnt from one user's KOReader metadata (`user_aliases`, schema/state/004-download-ids-and-user-aliases.sql):
 * a document that user's reader named by title and authors, recorded as a book and format for that user alone.
 */

import { type Connection, prepared } from '../db/query.js';
import { stateQuery } from '../db/state-db.js';
import { hasLiveFile } from './checksum-index.js';

export interface UserAlias {
  userId: number;
  document: string;
  bookId: number;
  format: string;
  detail: string | null;
  firstSeen: string;
  lastSeen: string;
  /** Whether the book and format are in the library now with the file present. */
  live: boolean;
}

const ALIAS_COLUMNS = ['d.user_id', 'd.document', 'd.book_id', 'd.format', 'd.detail', 'd.first_seen', 'd.last_seen'] as const;

const liveAliases = prepared((p: { userId: number; document: string }) =>
  stateQuery
    .selectFrom('user_aliases as d')
    .select(ALIAS_COLUMNS)
    .where('d.user_id', '=', p.userId)
    .where('d.document', '=', p.document)
    .where(hasLiveFile)
    .orderBy('d.last_seen', 'desc')
    .orderBy('d.id', 'desc'),
);

const aliasDocuments = prepared((p: { userId: number; bookId: number; format: string }) =>
  stateQuery
    .selectFrom('user_aliases as d')
    .select('d.document')
    .distinct()
    .where('d.user_id', '=', p.userId)
    .where('d.book_id', '=', p.bookId)
    .where('d.format', '=', p.format)
    .where(hasLiveFile),
);

/** This user's aliases of a document whose book and format are in the library, the one seen last first. */
export function findLiveUserAliases(conn: Connection, userId: number, document: string): UserAlias[] {
  return conn.all(liveAliases, { userId, document }).map((r) => toAlias(r, true));
}

/** The documents this user's aliases give a book and format (none unless it is in the library). */
export function userAliasDocuments(conn: Connection, userId: number, bookId: number, format: string): string[] {
  return conn.all(aliasDocuments, { userId, bookId, format }).map((r) => r.document);
}

/** Every user's aliases of a document, live or not, the one seen last first (for `checksums find`). */
export function findAllUserAliases(conn: Connection, document: string): UserAlias[] {
  return conn
    .all(
      stateQuery
        .selectFrom('user_aliases as d')
        .select(ALIAS_COLUMNS)
        .select((eb) => hasLiveFile(eb).as('live'))
        .where('d.document', '=', document)
        .orderBy('d.last_seen', 'desc')
        .orderBy('d.id', 'desc'),
    )
    .map((r) => toAlias(r, Boolean(r.live)));
}

/** Records that a user's document is an alias of a book and format, or that it was seen again. */
export function recordUserAlias(
  conn: Connection,
  entry: { userId: number; document: string; bookId: number; format: string; detail: string; seen: string },
): void {
  conn.run(
    stateQuery
      .insertInto('user_aliases')
      .values({
        user_id: entry.userId,
        document: entry.document,
        book_id: entry.bookId,
        format: entry.format,
        detail: entry.detail,
        first_seen: entry.seen,
        last_seen: entry.seen,
      })
      .onConflict((oc) =>
        oc.columns(['user_id', 'document', 'book_id', 'format']).doUpdateSet({ last_seen: entry.seen, detail: entry.detail }),
      ),
  );
}

function toAlias(
  r: { user_id: number; document: string; book_id: number; format: string; detail: string | null; first_seen: string; last_seen: string },
  live: boolean,
): UserAlias {
  return {
    userId: r.user_id,
    document: r.document,
    bookId: r.book_id,
    format: r.format,
    detail: r.detail,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    live,
  };
}
