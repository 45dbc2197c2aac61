import { DAVE_ID } from './fixtures.js';
import { BOOK1_EPUB } from './requests.js';

/**
 * Expected app.db rows, written out field by field: a test compares whole rows, so a column written
 * wrongly (or not at all) fails it. The builders only fill in what every such test shares.
 */

/** dave's `kosync_progress` row after a push of `{ progress: 'p<fraction>', device: 'KOReader', device_id: 'DEV1' }`. */
export function pushedProgressRow(row: { id?: number; document?: string; percent: number; timestamp: string }) {
  const { id = 1, document = BOOK1_EPUB, percent, timestamp } = row;
  return {
    id,
    user_id: DAVE_ID,
    document,
    progress: `p${percent / 100}`,
    percentage: percent,
    device: 'KOReader',
    device_id: 'DEV1',
    timestamp,
  };
}

/** The read status and Kobo rows dave's first push of book 1 at 25 % writes, stamped `at`. */
export function startedBook1Rows(at: string) {
  return {
    book_read_link: [
      { id: 1, book_id: 1, user_id: DAVE_ID, read_status: 2, last_modified: at, last_time_started_reading: at, times_started_reading: 1 },
    ],
    kobo_reading_state: [{ id: 1, user_id: DAVE_ID, book_id: 1, last_modified: at, priority_timestamp: at }],
    kobo_bookmark: [
      {
        id: 1,
        kobo_reading_state_id: 1,
        last_modified: at,
        location_source: null,
        location_type: null,
        location_value: null,
        progress_percent: 25,
        content_source_progress_percent: null,
      },
    ],
  };
}
