import { appQuery } from '../db/app-db.js';
import type { Selectable } from 'kysely';
import { prepared, type Connection, type PreparedQuery } from '../db/query.js';
import type { KosyncProgressTable } from '../db/tables.js';

export type ProgressRow = Omit<Selectable<KosyncProgressTable>, 'user_id'>;

/** A push as written: to kosync_progress here, and to the state DB's history (progress-history.ts). */
export interface ProgressWrite {
  userId: number;
  document: string;
  progress: string;
  /** 0–100, as CWA stores it since v4.0.0. */
  percentage: number;
  device: string;
  deviceId: string | null;
  /** SQLAlchemy datetime text. */
  timestamp: string;
}

const PROGRESS_COLUMNS = ['id', 'document', 'progress', 'percentage', 'device', 'device_id', 'timestamp'] as const;

const rowsOf = prepared((p: { userId: number; document: string }) =>
  appQuery
    .selectFrom('kosync_progress')
    .select(PROGRESS_COLUMNS)
    .where('user_id', '=', p.userId)
    .where('document', '=', p.document)
    .orderBy('id'),
);

type ProgressValues = Pick<ProgressWrite, 'progress' | 'percentage' | 'device' | 'deviceId' | 'timestamp'>;

const setProgress = (p: ProgressValues) => ({
  progress: p.progress,
  percentage: p.percentage,
  device: p.device,
  device_id: p.deviceId,
  timestamp: p.timestamp,
});

const updateProgress = prepared((p: ProgressValues & { id: number }) =>
  appQuery.updateTable('kosync_progress').set(setProgress(p)).where('id', '=', p.id),
);

const insertProgress = prepared((p: ProgressWrite) =>
  appQuery.insertInto('kosync_progress').values({ user_id: p.userId, document: p.document, ...setProgress(p) }),
);

/** Values of the newest-of-several lookup: the documents bound one by one, as document0, document1, … */
type NewestValues = { userId: number } & { [document: `document${number}`]: string };

/** The newest-first lookup, prepared once per number of documents (a book has a handful of files). */
const newestProgressOf = new Map<number, PreparedQuery<NewestValues, ProgressRow>>();

function newestProgressQuery(count: number): PreparedQuery<NewestValues, ProgressRow> {
  let query = newestProgressOf.get(count);
  if (!query) {
    query = prepared((p: NewestValues) =>
      appQuery
        .selectFrom('kosync_progress')
        .select(PROGRESS_COLUMNS)
        .where('user_id', '=', p.userId)
        .where(
          'document',
          'in',
          Array.from({ length: count }, (_, i) => p[`document${i}`] as string),
        )
        .orderBy('timestamp', 'desc')
        .orderBy('id', 'desc'),
    );
    newestProgressOf.set(count, query);
  }
  return query;
}

const stampedBetween = prepared((p: { userId: number; from: string; to: string }) =>
  appQuery
    .selectFrom('kosync_progress')
    .select('id')
    .where('user_id', '=', p.userId)
    .where('timestamp', '>=', p.from)
    .where('timestamp', '<=', p.to)
    .limit(1),
);

/**
 * Whether any of this user's rows was stamped from `from` to `to` (SQLAlchemy datetime text, which
 * orders as the times do).
 */
export function hasProgressStampedBetween(conn: Connection, userId: number, from: string, to: string): boolean {
  return conn.first(stampedBetween, { userId, from, to }) !== undefined;
}

/** This user's row for a document: the lowest id when several exist, as CWA's `.first()` finds it. */
export function findProgress(conn: Connection, userId: number, document: string): ProgressRow | undefined {
  return conn.first(rowsOf, { userId, document });
}

/** This user's rows for a document, the lowest id (the one a push updates) first. */
export function listProgress(conn: Connection, userId: number, document: string): ProgressRow[] {
  return conn.all(rowsOf, { userId, document });
}

/** This user's rows among several documents (the files of one book), newest first. */
export function listNewestProgress(conn: Connection, userId: number, documents: readonly string[]): ProgressRow[] {
  if (documents.length === 0) return [];
  const values: NewestValues = { userId };
  documents.forEach((document, i) => {
    values[`document${i}`] = document;
  });
  return conn.all(newestProgressQuery(documents.length), values);
}

/** Update-or-insert as CWA's update_progress does; runs inside the caller's transaction. */
export function saveProgress(conn: Connection, write: ProgressWrite): void {
  const existing = findProgress(conn, write.userId, write.document);
  if (existing) conn.run(updateProgress, { ...write, id: existing.id });
  else conn.run(insertProgress, write);
}

/** Every row of one user, newest first (the account page's list of documents). */
export function listProgressOfUser(conn: Connection, userId: number): ProgressRow[] {
  return conn.all(
    appQuery
      .selectFrom('kosync_progress')
      .select(PROGRESS_COLUMNS)
      .where('user_id', '=', userId)
      .orderBy('timestamp', 'desc')
      .orderBy('id', 'desc'),
  );
}
