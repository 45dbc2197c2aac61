import { appQuery } from '../db/app-db.js';
import type { Connection } from '../db/query.js';

export interface ProgressRow {
  id: number;
  document: string;
  progress: string;
  percentage: number;
  device: string;
  device_id: string | null;
  timestamp: string | null;
}

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

/** This user's row for a document: the lowest id when several exist, as CWA's `.first()` finds it. */
export function findProgress(conn: Connection, userId: number, document: string): ProgressRow | undefined {
  return conn.first(
    appQuery
      .selectFrom('kosync_progress')
      .select(PROGRESS_COLUMNS)
      .where('user_id', '=', userId)
      .where('document', '=', document)
      .orderBy('id')
      .limit(1),
  );
}

/** The newest of this user's rows among several documents (the files of one book). */
export function findNewestProgress(conn: Connection, userId: number, documents: readonly string[]): ProgressRow | undefined {
  if (documents.length === 0) return undefined;
  return conn.first(
    appQuery
      .selectFrom('kosync_progress')
      .select(PROGRESS_COLUMNS)
      .where('user_id', '=', userId)
      .where('document', 'in', documents)
      .orderBy('timestamp', 'desc')
      .orderBy('id', 'desc')
      .limit(1),
  );
}

/** Update-or-insert as CWA's update_progress does; runs inside the caller's transaction. */
export function saveProgress(conn: Connection, write: ProgressWrite): void {
  const existing = findProgress(conn, write.userId, write.document);
  const values = {
    progress: write.progress,
    percentage: write.percentage,
    device: write.device,
    device_id: write.deviceId,
    timestamp: write.timestamp,
  };
  if (existing) {
    conn.run(appQuery.updateTable('kosync_progress').set(values).where('id', '=', existing.id));
  } else {
    conn.run(appQuery.insertInto('kosync_progress').values({ user_id: write.userId, document: write.document, ...values }));
  }
}
