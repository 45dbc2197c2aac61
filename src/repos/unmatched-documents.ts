/**
 * The documents users pushed that matched no book (`unmatched_documents`,
 * schema/state/004-download-ids-and-user-aliases.sql), with the KOReader metadata the push carried.
 */

import type { Selectable } from 'kysely';
import type { Connection } from '../db/query.js';
import { stateQuery } from '../db/state-db.js';
import type { UnmatchedDocumentsTable } from '../db/tables.js';

export type UnmatchedDocument = Selectable<UnmatchedDocumentsTable>;

/** Records (or refreshes) a push of a document that matched nothing. */
export function recordUnmatched(
  conn: Connection,
  entry: { userId: number; document: string; title?: string; authors?: string; filename?: string; reason: string; seen: string },
): void {
  const hints = { title: entry.title ?? null, authors: entry.authors ?? null, filename: entry.filename ?? null, reason: entry.reason };
  conn.run(
    stateQuery
      .insertInto('unmatched_documents')
      .values({ user_id: entry.userId, document: entry.document, ...hints, first_seen: entry.seen, last_seen: entry.seen })
      .onConflict((oc) => oc.columns(['user_id', 'document']).doUpdateSet({ ...hints, last_seen: entry.seen })),
  );
}

/** Who pushed a document that matched nothing, and with what metadata, the latest first. */
export function findUnmatched(conn: Connection, document: string): UnmatchedDocument[] {
  return conn.all(
    stateQuery
      .selectFrom('unmatched_documents')
      .selectAll()
      .where('document', '=', document)
      .orderBy('last_seen', 'desc')
      .orderBy('user_id'),
  );
}

/** One user's push of a document that matched nothing, with its metadata, if there was one. */
export function findUnmatchedOf(conn: Connection, userId: number, document: string): UnmatchedDocument | undefined {
  return conn.first(
    stateQuery.selectFrom('unmatched_documents').selectAll().where('user_id', '=', userId).where('document', '=', document),
  );
}
