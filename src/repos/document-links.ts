/**
 * Documents a reader linked to a library book by hand (`document_links`,
 * schema/state/005-history-links-sessions.sql): that reader's own, never anyone else's.
 */

import type { Selectable } from 'kysely';
import { type Connection, prepared } from '../db/query.js';
import { stateQuery } from '../db/state-db.js';
import type { DocumentLinksTable } from '../db/tables.js';

export type DocumentLink = Selectable<DocumentLinksTable>;

const linkOf = prepared((p: { userId: number; document: string }) =>
  stateQuery.selectFrom('document_links').selectAll().where('user_id', '=', p.userId).where('document', '=', p.document),
);

const linkedToBook = prepared((p: { userId: number; bookId: number; format: string }) =>
  stateQuery
    .selectFrom('document_links')
    .select('document')
    .where('user_id', '=', p.userId)
    .where('book_id', '=', p.bookId)
    .where('format', '=', p.format),
);

/** The user's link of a document, if they made one. */
export function findLink(conn: Connection, userId: number, document: string): DocumentLink | undefined {
  return conn.first(linkOf, { userId, document });
}

/** The documents the user linked to a book and format. */
export function listLinkedDocuments(conn: Connection, userId: number, bookId: number, format: string): string[] {
  return conn.all(linkedToBook, { userId, bookId, format }).map((r) => r.document);
}

/** Links (or links again) a user's document to a book and format. */
export function saveLink(conn: Connection, link: { userId: number; document: string; bookId: number; format: string; at: string }): void {
  const values = { book_id: link.bookId, format: link.format, linked_at: link.at };
  conn.run(
    stateQuery
      .insertInto('document_links')
      .values({ user_id: link.userId, document: link.document, ...values })
      .onConflict((oc) => oc.columns(['user_id', 'document']).doUpdateSet(values)),
  );
}

/** Removes a user's link of a document; whether there was one. */
export function deleteLink(conn: Connection, userId: number, document: string): boolean {
  return conn.run(stateQuery.deleteFrom('document_links').where('user_id', '=', userId).where('document', '=', document)).changes > 0;
}
