import { appQuery } from '../db/app-db.js';
import { prepared, type Connection } from '../db/query.js';

/** Calibre-Web's ReadBook constants (ub.py, docs/UPSTREAM.md#calibre-web-read-status-and-kobo-state). */
const READ_STATUS = { unread: 0, finished: 1, inProgress: 2 } as const;

/** CWA kosync.py update_book_read_status's FINISHED threshold (docs/UPSTREAM.md#cwa-the-original-kosyncpy): ≥ 99 %. */
export function isFinished(percentage: number): boolean {
  return percentage >= 99;
}

/** The original's read status for a percentage: finished (isFinished), in progress above 0, else unread. */
function readStatusFor(percentage: number): number {
  if (isFinished(percentage)) return READ_STATUS.finished;
  if (percentage > 0) return READ_STATUS.inProgress;
  return READ_STATUS.unread;
}

interface ReadStatusWrite {
  userId: number;
  bookId: number;
  /** 0–100. */
  percentage: number;
  /** SQLAlchemy datetime text for every timestamp this write sets. */
  now: string;
}

type UserBook = { userId: number; bookId: number };

/** Where a Kobo bookmark points, as Calibre-Web's Kobo sync sends it to the device (its `Location`). */
export interface KoboLocation {
  /** The content document, by its path from the zip root. */
  source: string;
  type: string;
  value: string;
  /** How far into `source`, 0–100. */
  contentSourceProgressPercent: number;
}

/** A user's Kobo bookmark for a book as Calibre-Web keeps it. */
export interface KoboBookmark {
  location_source: string | null;
  location_type: string | null;
  location_value: string | null;
  progress_percent: number | null;
  last_modified: string | null;
}
type Stamp = { now: string };

const linkOf = prepared((p: UserBook) =>
  appQuery
    .selectFrom('book_read_link')
    .select(['id', 'read_status', 'times_started_reading'])
    .where('user_id', '=', p.userId)
    .where('book_id', '=', p.bookId)
    .orderBy('id')
    .limit(1),
);

const updateLink = prepared((p: Stamp & { id: number; status: number }) =>
  appQuery.updateTable('book_read_link').set({ read_status: p.status, last_modified: p.now }).where('id', '=', p.id),
);

const restartLink = prepared((p: Stamp & { id: number; status: number; timesStarted: number }) =>
  appQuery
    .updateTable('book_read_link')
    .set({ read_status: p.status, last_modified: p.now, times_started_reading: p.timesStarted, last_time_started_reading: p.now })
    .where('id', '=', p.id),
);

const insertLink = prepared((p: UserBook & Stamp & { status: number; startedAt: string | null; timesStarted: number }) =>
  appQuery.insertInto('book_read_link').values({
    book_id: p.bookId,
    user_id: p.userId,
    read_status: p.status,
    last_modified: p.now,
    last_time_started_reading: p.startedAt,
    times_started_reading: p.timesStarted,
  }),
);

const readingStateOf = prepared((p: UserBook) =>
  appQuery
    .selectFrom('kobo_reading_state')
    .select('id')
    .where('user_id', '=', p.userId)
    .where('book_id', '=', p.bookId)
    .orderBy('id')
    .limit(1),
);

const insertReadingState = prepared((p: UserBook & Stamp) =>
  appQuery
    .insertInto('kobo_reading_state')
    .values({ user_id: p.userId, book_id: p.bookId, last_modified: p.now, priority_timestamp: p.now }),
);

const touchState = prepared((p: Stamp & { stateId: number }) =>
  appQuery.updateTable('kobo_reading_state').set({ last_modified: p.now, priority_timestamp: p.now }).where('id', '=', p.stateId),
);

const bookmarkOf = prepared((p: { stateId: number }) =>
  appQuery.selectFrom('kobo_bookmark').select('id').where('kobo_reading_state_id', '=', p.stateId).orderBy('id').limit(1),
);

const updateBookmarkPercent = prepared((p: Stamp & { id: number; percentage: number }) =>
  appQuery.updateTable('kobo_bookmark').set({ progress_percent: p.percentage, last_modified: p.now }).where('id', '=', p.id),
);

const moveBookmark = prepared((p: Stamp & KoboLocation & { id: number }) =>
  appQuery
    .updateTable('kobo_bookmark')
    .set({
      location_source: p.source,
      location_type: p.type,
      location_value: p.value,
      content_source_progress_percent: p.contentSourceProgressPercent,
      last_modified: p.now,
    })
    .where('id', '=', p.id),
);

const bookmarkRowOf = prepared((p: { stateId: number }) =>
  appQuery
    .selectFrom('kobo_bookmark')
    .select(['location_source', 'location_type', 'location_value', 'progress_percent', 'last_modified'])
    .where('kobo_reading_state_id', '=', p.stateId)
    .orderBy('id')
    .limit(1),
);

const insertBookmarkRow = prepared((p: Stamp & { stateId: number; percentage: number }) =>
  appQuery.insertInto('kobo_bookmark').values({
    kobo_reading_state_id: p.stateId,
    last_modified: p.now,
    location_source: null,
    location_type: null,
    location_value: null,
    progress_percent: p.percentage,
    content_source_progress_percent: null,
  }),
);

const statisticsOf = prepared((p: { stateId: number }) =>
  appQuery.selectFrom('kobo_statistics').select('id').where('kobo_reading_state_id', '=', p.stateId).limit(1),
);

const insertStatisticsRow = prepared((p: Stamp & { stateId: number }) =>
  appQuery.insertInto('kobo_statistics').values({
    kobo_reading_state_id: p.stateId,
    last_modified: p.now,
    remaining_time_minutes: null,
    spent_reading_minutes: null,
  }),
);

/**
 * Read status and Kobo state for one user and book, exactly as CWA's update_book_read_status plus
 * Calibre-Web's session hooks leave the rows (docs/PROTOCOL.md §4.1, step 2;
 * docs/UPSTREAM.md#cwa-the-original-kosyncpy). Runs inside the caller's transaction; every lookup takes
 * the lowest id, as `.first()` does, and nothing is inserted twice.
 */
export function updateReadStatus(conn: Connection, write: ReadStatusWrite): void {
  const { userId, bookId, percentage, now } = write;
  const status = readStatusFor(percentage);
  const link = conn.first(linkOf, { userId, bookId });
  const state = conn.first(readingStateOf, { userId, bookId });

  if (link) {
    // CWA counts a (re)start whenever the status becomes IN_PROGRESS from anything else.
    const restarted = status === READ_STATUS.inProgress && link.read_status !== READ_STATUS.inProgress;
    if (restarted) conn.run(restartLink, { id: link.id, status, now, timesStarted: (link.times_started_reading ?? 0) + 1 });
    else conn.run(updateLink, { id: link.id, status, now });
    if (!state) return; // CWA creates no Kobo rows for an existing ReadBook without them
    const bookmark = conn.first(bookmarkOf, { stateId: state.id });
    if (bookmark) conn.run(updateBookmarkPercent, { id: bookmark.id, percentage, now });
    touchReadingState(conn, state.id, now);
    return;
  }

  const startedNow = status === READ_STATUS.inProgress;
  conn.run(insertLink, { userId, bookId, status, now, startedAt: startedNow ? now : null, timesStarted: startedNow ? 1 : 0 });
  if (state) {
    // A reading state left behind without its ReadBook (Calibre-Web deletes them separately): reuse it
    // rather than add a second one, which would break Kobo sync's .one_or_none().
    completeReadingState(conn, state.id, percentage, now);
    touchReadingState(conn, state.id, now);
    return;
  }
  const stateId = conn.run(insertReadingState, { userId, bookId, now }).lastInsertRowid;
  conn.run(insertBookmarkRow, { stateId, percentage, now });
  conn.run(insertStatisticsRow, { stateId, now });
}

/**
 * Calibre-Web's before_flush listener sets kobo_reading_state.last_modified whenever its ReadBook,
 * bookmark or statistics change, and priority_timestamp follows by its onupdate: the bump Kobo sync
 * compares with a device's sync token (docs/UPSTREAM.md#calibre-web-read-status-and-kobo-state).
 */
function touchReadingState(conn: Connection, stateId: number, now: string): void {
  conn.run(touchState, { stateId, now });
}

/** Gives a reading state its bookmark (at `percentage`) and statistics where they are missing; returns the bookmark's id. */
function completeReadingState(conn: Connection, stateId: number, percentage: number, now: string): number {
  const bookmark = conn.first(bookmarkOf, { stateId });
  let bookmarkId: number;
  if (bookmark) {
    conn.run(updateBookmarkPercent, { id: bookmark.id, percentage, now });
    bookmarkId = bookmark.id;
  } else {
    bookmarkId = conn.run(insertBookmarkRow, { stateId, percentage, now }).lastInsertRowid;
  }
  if (!conn.first(statisticsOf, { stateId })) conn.run(insertStatisticsRow, { stateId, now });
  return bookmarkId;
}

/**
 * Moves the user's Kobo bookmark for a book to `location` (beyond the original: the Kobo bridge,
 * docs/PROTOCOL.md §7.1), after updateReadStatus in the same transaction. A reading state missing
 * its bookmark or statistics gets them, or a user without one gets one, as Calibre-Web's Kobo sync
 * makes them (docs/UPSTREAM.md#calibre-web-read-status-and-kobo-state); the reading state is bumped
 * so the device picks the new Location up on its next sync.
 */
export function moveKoboBookmark(conn: Connection, write: ReadStatusWrite & { location: KoboLocation }): void {
  const { userId, bookId, percentage, now, location } = write;
  const stateId =
    conn.first(readingStateOf, { userId, bookId })?.id ?? conn.run(insertReadingState, { userId, bookId, now }).lastInsertRowid;
  const bookmarkId = completeReadingState(conn, stateId, percentage, now);
  conn.run(moveBookmark, { id: bookmarkId, now, ...location });
  touchReadingState(conn, stateId, now);
}

/** The user's Kobo bookmark for a book (of the lowest reading state, as the writes above pick it), if any. */
export function findKoboBookmark(conn: Connection, userId: number, bookId: number): KoboBookmark | undefined {
  const state = conn.first(readingStateOf, { userId, bookId });
  return state && conn.first(bookmarkRowOf, { stateId: state.id });
}
