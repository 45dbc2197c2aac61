/**
 * Every accepted push, per (user, document), the newest few kept (`progress_history`,
 * schema/state/005-history-links-sessions.sql): what the account page lists and "restore" makes current.
 */

import type { Selectable } from 'kysely';
import { type Connection, prepared } from '../db/query.js';
import { stateQuery } from '../db/state-db.js';
import type { ProgressHistoryTable } from '../db/tables.js';
import type { ProgressWrite } from './progress.js';

export type HistoryRow = Omit<Selectable<ProgressHistoryTable>, 'user_id' | 'document'>;

/** An accepted push, as it was written to kosync_progress. */
export type HistoryEntry = ProgressWrite;

const insertEntry = prepared((p: HistoryEntry) =>
  stateQuery.insertInto('progress_history').values({
    user_id: p.userId,
    document: p.document,
    progress: p.progress,
    percentage: p.percentage,
    device: p.device,
    device_id: p.deviceId,
    timestamp: p.timestamp,
  }),
);

/** Forgets all but the newest `keep`: older than the (keep + 1)-th newest, found by the index in keep steps. */
const trimEntries = prepared((p: { userId: number; document: string; keep: number }) =>
  stateQuery
    .deleteFrom('progress_history')
    .where('user_id', '=', p.userId)
    .where('document', '=', p.document)
    .where('id', '<=', (qb) =>
      qb
        .selectFrom('progress_history')
        .select('id')
        .where('user_id', '=', p.userId)
        .where('document', '=', p.document)
        .orderBy('id', 'desc')
        .limit(1)
        .offset(p.keep),
    ),
);

const entriesOf = prepared((p: { userId: number; document: string }) =>
  stateQuery
    .selectFrom('progress_history')
    .select(['id', 'progress', 'percentage', 'device', 'device_id', 'timestamp'])
    .where('user_id', '=', p.userId)
    .where('document', '=', p.document)
    .orderBy('id', 'desc'),
);

/** Adds accepted pushes, oldest first, and forgets all but the newest `keep` of each (user, document). */
export function recordHistory(conn: Connection, entries: readonly HistoryEntry[], keep: number): void {
  const documents = new Map<string, { userId: number; document: string; keep: number }>();
  for (const entry of entries) {
    conn.run(insertEntry, entry);
    documents.set(`${entry.userId}\0${entry.document}`, { userId: entry.userId, document: entry.document, keep });
  }
  for (const trim of documents.values()) conn.run(trimEntries, trim);
}

/** A document's history for one user, newest first. */
export function listHistory(conn: Connection, userId: number, document: string): HistoryRow[] {
  return conn.all(entriesOf, { userId, document });
}
