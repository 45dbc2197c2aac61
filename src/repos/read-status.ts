import { appQuery } from '../db/app-db.js';
import type { Connection } from '../db/query.js';

/** Calibre-Web's ReadBook constants (ub.py). */
export const READ_STATUS = { unread: 0, finished: 1, inProgress: 2 } as const;

/** CWA kosync.py update_book_read_status thresholds: finished at ≥ 99 %, in progress above 0. */
export function readStatusFor(percentage: number): number {
  if (percentage >= 99) return READ_STATUS.finished;
  if (percentage > 0) return READ_STATUS.inProgress;
  return READ_STATUS.unread;
}

export interface ReadStatusWrite {
  userId: number;
  bookId: number;
  /** 0–100. */
  percentage: number;
  /** SQLAlchemy datetime text for every timestamp this write sets. */
  now: string;
}

/**
 * Read status and Kobo state for one user and book, exactly as CWA's update_book_read_status plus
 * Calibre-Web's session hooks leave the rows (PROTOCOL.md §4 step 2). Runs inside the caller's
 * transaction; every lookup takes the lowest id, as `.first()` does, and nothing is inserted twice.
 */
export function updateReadStatus(conn: Connection, write: ReadStatusWrite): void {
  const { userId, bookId, percentage, now } = write;
  const status = readStatusFor(percentage);
  const link = conn.first(
    appQuery
      .selectFrom('book_read_link')
      .select(['id', 'read_status', 'times_started_reading'])
      .where('user_id', '=', userId)
      .where('book_id', '=', bookId)
      .orderBy('id')
      .limit(1),
  );
  const state = findReadingState(conn, userId, bookId);

  if (link) {
    // CWA counts a (re)start whenever the status becomes IN_PROGRESS from anything else.
    const restarted = status === READ_STATUS.inProgress && link.read_status !== READ_STATUS.inProgress;
    conn.run(
      appQuery
        .updateTable('book_read_link')
        .set({
          read_status: status,
          last_modified: now,
          ...(restarted
            ? { times_started_reading: (link.times_started_reading ?? 0) + 1, last_time_started_reading: now }
            : {}),
        })
        .where('id', '=', link.id),
    );
    if (!state) return; // CWA creates no Kobo rows for an existing ReadBook without them
    const bookmark = findBookmark(conn, state.id);
    if (bookmark) updateBookmark(conn, bookmark.id, percentage, now);
    touchReadingState(conn, state.id, now);
    return;
  }

  const startedNow = status === READ_STATUS.inProgress;
  conn.run(
    appQuery.insertInto('book_read_link').values({
      book_id: bookId,
      user_id: userId,
      read_status: status,
      last_modified: now,
      last_time_started_reading: startedNow ? now : null,
      times_started_reading: startedNow ? 1 : 0,
    }),
  );
  if (state) {
    // A reading state left behind without its ReadBook (Calibre-Web deletes them separately): reuse it
    // rather than add a second one, which would break Kobo sync's .one_or_none().
    completeReadingState(conn, state.id, percentage, now);
    touchReadingState(conn, state.id, now);
    return;
  }
  const stateId = conn.run(
    appQuery.insertInto('kobo_reading_state').values({
      user_id: userId,
      book_id: bookId,
      last_modified: now,
      priority_timestamp: now,
    }),
  ).lastInsertRowid;
  insertBookmark(conn, stateId, percentage, now);
  insertStatistics(conn, stateId, now);
}

function findReadingState(conn: Connection, userId: number, bookId: number): { id: number } | undefined {
  return conn.first(
    appQuery
      .selectFrom('kobo_reading_state')
      .select('id')
      .where('user_id', '=', userId)
      .where('book_id', '=', bookId)
      .orderBy('id')
      .limit(1),
  );
}

/**
 * Calibre-Web's before_flush listener sets kobo_reading_state.last_modified whenever its ReadBook,
 * bookmark or statistics change, and priority_timestamp follows by its onupdate: the bump Kobo sync
 * compares with a device's sync token.
 */
function touchReadingState(conn: Connection, stateId: number, now: string): void {
  conn.run(
    appQuery.updateTable('kobo_reading_state').set({ last_modified: now, priority_timestamp: now }).where('id', '=', stateId),
  );
}

function completeReadingState(conn: Connection, stateId: number, percentage: number, now: string): void {
  const bookmark = findBookmark(conn, stateId);
  if (bookmark) updateBookmark(conn, bookmark.id, percentage, now);
  else insertBookmark(conn, stateId, percentage, now);
  const statistics = conn.first(
    appQuery.selectFrom('kobo_statistics').select('id').where('kobo_reading_state_id', '=', stateId).limit(1),
  );
  if (!statistics) insertStatistics(conn, stateId, now);
}

function findBookmark(conn: Connection, stateId: number): { id: number } | undefined {
  return conn.first(
    appQuery.selectFrom('kobo_bookmark').select('id').where('kobo_reading_state_id', '=', stateId).orderBy('id').limit(1),
  );
}

function updateBookmark(conn: Connection, bookmarkId: number, percentage: number, now: string): void {
  conn.run(
    appQuery.updateTable('kobo_bookmark').set({ progress_percent: percentage, last_modified: now }).where('id', '=', bookmarkId),
  );
}

function insertBookmark(conn: Connection, stateId: number, percentage: number, now: string): void {
  conn.run(
    appQuery.insertInto('kobo_bookmark').values({
      kobo_reading_state_id: stateId,
      last_modified: now,
      location_source: null,
      location_type: null,
      location_value: null,
      progress_percent: percentage,
      content_source_progress_percent: null,
    }),
  );
}

function insertStatistics(conn: Connection, stateId: number, now: string): void {
  conn.run(
    appQuery.insertInto('kobo_statistics').values({
      kobo_reading_state_id: stateId,
      last_modified: now,
      remaining_time_minutes: null,
      spent_reading_minutes: null,
    }),
  );
}
