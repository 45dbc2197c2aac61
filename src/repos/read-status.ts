import { appQuery } from '../db/app-db.js';
import { prepared, type Connection } from '../db/query.js';

/** Calibre-Web's ReadBook constants (ub.py, docs/UPSTREAM.md#calibre-web-read-status-and-kobo-state). */
const READ_STATUS = { unread: 0, finished: 1, inProgress: 2 } as const;

/**
 * CWA kosync.py update_book_read_status thresholds (docs/UPSTREAM.md#cwa-the-original-kosyncpy):
 * finished at ≥ 99 %, in progress above 0.
 */
function readStatusFor(percentage: number): number {
  if (percentage >= 99) return READ_STATUS.finished;
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

function completeReadingState(conn: Connection, stateId: number, percentage: number, now: string): void {
  const bookmark = conn.first(bookmarkOf, { stateId });
  if (bookmark) conn.run(updateBookmarkPercent, { id: bookmark.id, percentage, now });
  else conn.run(insertBookmarkRow, { stateId, percentage, now });
  if (!conn.first(statisticsOf, { stateId })) conn.run(insertStatisticsRow, { stateId, now });
}
