/**
 * Every accepted push, per (user, document), the newest few kept (`progress_history`,
 * schema/state/005-history-links-sessions.sql): what the account page lists and "restore" makes current.
 */

import type { Selectable } from 'kysely';
import { type Connection, prepared } from '../db/query.js';
import { stateQuery } from '../db/state-db.js';
import type { ProgressHistoryTable } from '../db/tables.js';

export type HistoryRow = Omit<Selectable<ProgressHistoryTable>, 'user_id' | 'document'>;

interface HistoryEntry {
  userId: number;
  document: string;
  progress: string;
  /** 0–100. */
  percentage: number;
  device: string;
  deviceId: string | null;
  /** SQLAlchemy datetime text. */
  timestamp: string;
}

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

const trimEntries = prepared((p: { userId: number; document: string; keep: number }) =>
  stateQuery
    .deleteFrom('progress_history')
    .where('user_id', '=', p.userId)
    .where('document', '=', p.document)
    .where('id', 'not in', (qb) =>
      qb
        .selectFrom('progress_history')
        .select('id')
        .where('user_id', '=', p.userId)
        .where('document', '=', p.document)
        .orderBy('id', 'desc')
        .limit(p.keep),
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

/** Adds an accepted push and forgets all but the newest `keep` of the (user, document). */
export function recordHistory(conn: Connection, entry: HistoryEntry, keep: number): void {
  conn.run(insertEntry, entry);
  conn.run(trimEntries, { userId: entry.userId, document: entry.document, keep });
}

/** A document's history for one user, newest first. */
export function listHistory(conn: Connection, userId: number, document: string): HistoryRow[] {
  return conn.all(entriesOf, { userId, document });
}
