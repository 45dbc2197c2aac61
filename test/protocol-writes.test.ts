import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basic, epochAt as epoch, SECOND, storedAt as at, testApp, type TestApp } from './support/app.js';
import { DAVE_ID, ERIN_ID, execute, query, tableRows } from './support/fixtures.js';
import {
  BOOK1,
  BOOK1_EPUB,
  BOOK1_OLD_EPUB,
  BOOK2_EPUB,
  BOOK2_PDF,
  BOOK3_EPUB,
  DAVE,
  ERIN,
  get,
  json,
  put,
  UNKNOWN_DOC,
} from './support/requests.js';
import { pushedProgressRow, startedBook1Rows } from './support/rows.js';

let t: TestApp;
beforeEach(async () => {
  t = await testApp();
});
afterEach(() => t.close());

const rows = (table: string) => tableRows(t.files.appDb, table);
const push = (document: string, percentage: number, headers = DAVE, extra: Record<string, unknown> = {}) =>
  put(t.app, { document, progress: `p${percentage}`, percentage, device: 'KOReader', device_id: 'DEV1', ...extra }, headers);

describe('what a PUT writes (docs/PROTOCOL.md §4.1)', () => {
  it("creates kosync_progress with the DDL SQLAlchemy emits for CWA's model", () => {
    const [table] = query<{ sql: string }>(t.files.appDb, `SELECT sql FROM sqlite_master WHERE name = 'kosync_progress'`);
    expect(table?.sql).toBe(
      'CREATE TABLE kosync_progress (\n\tid INTEGER NOT NULL, \n\tuser_id INTEGER NOT NULL, \n\tdocument VARCHAR NOT NULL, ' +
        '\n\tprogress VARCHAR NOT NULL, \n\tpercentage FLOAT NOT NULL, \n\tdevice VARCHAR NOT NULL, \n\tdevice_id VARCHAR, ' +
        '\n\ttimestamp TIMESTAMP, \n\tPRIMARY KEY (id), \n\tFOREIGN KEY(user_id) REFERENCES user (id) ON DELETE CASCADE\n)',
    );
  });

  it('first PUT of a library book: progress row, then read status and the Kobo trio', async () => {
    const response = await push(BOOK1_EPUB, 0.25);
    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual({ document: BOOK1_EPUB, timestamp: epoch(0), ...BOOK1 });
    expect(rows('kosync_progress')).toEqual([pushedProgressRow({ percent: 25, timestamp: at(0) })]);
    const started = startedBook1Rows(at(0));
    expect(rows('book_read_link')).toEqual(started.book_read_link);
    expect(rows('kobo_reading_state')).toEqual(started.kobo_reading_state);
    expect(rows('kobo_bookmark')).toEqual(started.kobo_bookmark);
    expect(rows('kobo_statistics')).toEqual([
      { id: 1, kobo_reading_state_id: 1, last_modified: at(0), remaining_time_minutes: null, spent_reading_minutes: null },
    ]);
  });

  it('writes every datetime as SQLAlchemy text and every value with its SQLite type', async () => {
    await push(BOOK1_EPUB, 0.5);
    const types = query(
      t.files.appDb,
      `SELECT typeof(percentage) p, typeof(timestamp) ts FROM kosync_progress
       UNION ALL SELECT typeof(progress_percent), typeof(last_modified) FROM kobo_bookmark`,
    );
    expect(types).toEqual([
      { p: 'real', ts: 'text' },
      { p: 'real', ts: 'text' },
    ]);
  });

  it('status goes 0.5 → 1.0 → 0.5: finished, then a re-read counted', async () => {
    await push(BOOK1_EPUB, 0.5);
    t.clock.advance(SECOND);
    await push(BOOK1_EPUB, 1.0);
    expect(rows('book_read_link')).toEqual([
      {
        id: 1,
        book_id: 1,
        user_id: DAVE_ID,
        read_status: 1,
        last_modified: at(1),
        last_time_started_reading: at(0),
        times_started_reading: 1,
      },
    ]);
    expect(rows('kobo_bookmark')).toMatchObject([{ id: 1, progress_percent: 100, last_modified: at(1) }]);
    expect(rows('kobo_reading_state')).toEqual([{ id: 1, user_id: DAVE_ID, book_id: 1, last_modified: at(1), priority_timestamp: at(1) }]);
    t.clock.advance(SECOND);
    await push(BOOK1_EPUB, 0.5);
    expect(rows('book_read_link')).toEqual([
      {
        id: 1,
        book_id: 1,
        user_id: DAVE_ID,
        read_status: 2,
        last_modified: at(2),
        last_time_started_reading: at(2),
        times_started_reading: 2,
      },
    ]);
    expect(rows('kobo_statistics')).toEqual([
      { id: 1, kobo_reading_state_id: 1, last_modified: at(0), remaining_time_minutes: null, spent_reading_minutes: null },
    ]);
  });

  it('a book pushed at 0 % is UNREAD and one pushed straight at 100 % never counts as started', async () => {
    await push(BOOK1_EPUB, 0);
    await push(BOOK3_EPUB, 1);
    expect(rows('book_read_link')).toEqual([
      {
        id: 1,
        book_id: 1,
        user_id: DAVE_ID,
        read_status: 0,
        last_modified: at(0),
        last_time_started_reading: null,
        times_started_reading: 0,
      },
      {
        id: 2,
        book_id: 3,
        user_id: DAVE_ID,
        read_status: 1,
        last_modified: at(0),
        last_time_started_reading: null,
        times_started_reading: 0,
      },
    ]);
  });

  it('the same progress pushed again stays one row everywhere, IN_PROGRESS not counted twice', async () => {
    for (let i = 0; i < 5; i++) {
      await push(BOOK1_EPUB, 0.3);
      t.clock.advance(SECOND);
    }
    expect(rows('kosync_progress')).toHaveLength(1);
    expect(rows('book_read_link')).toMatchObject([{ read_status: 2, times_started_reading: 1 }]);
    expect(rows('kobo_reading_state')).toHaveLength(1);
    expect(rows('kobo_bookmark')).toHaveLength(1);
    expect(rows('kobo_statistics')).toHaveLength(1);
  });

  it('an older file of a book (checksum history) matches the same book, with its own progress row', async () => {
    await push(BOOK1_EPUB, 0.995);
    const response = await push(BOOK1_OLD_EPUB, 0.5);
    expect(json(response)).toEqual({ document: BOOK1_OLD_EPUB, timestamp: epoch(0), ...BOOK1 });
    expect(rows('kosync_progress').map((r) => r.document)).toEqual([BOOK1_EPUB, BOOK1_OLD_EPUB]);
    expect(rows('book_read_link')).toMatchObject([{ book_id: 1, read_status: 2, times_started_reading: 1 }]);
  });

  it('a second format of a book reports that format', async () => {
    const response = await push(BOOK2_PDF, 0.07);
    expect(json(response)).toEqual({
      document: BOOK2_PDF,
      timestamp: epoch(0),
      calibre_book_id: 2,
      calibre_book_title: 'Gears of the Clockwork City',
      calibre_book_format: 'PDF',
      calibre_checksum_version: 'koreader',
    });
  });

  it('a non-ASCII title comes back as JSON text', async () => {
    const response = await push(BOOK3_EPUB, 0.1);
    expect((json(response) as { calibre_book_title: string }).calibre_book_title).toBe('Über den Fluss');
  });

  it('an unmatched document gets a progress row and nothing else', async () => {
    const response = await push(UNKNOWN_DOC, 0.5);
    expect(json(response)).toEqual({ document: UNKNOWN_DOC, timestamp: epoch(0) });
    expect(rows('kosync_progress')).toHaveLength(1);
    expect(rows('book_read_link')).toEqual([]);
    expect(rows('kobo_reading_state')).toEqual([]);
  });

  it('updates the Kobo bookmark and bumps the reading state of an existing Kobo sync', async () => {
    execute(
      t.files.appDb,
      `INSERT INTO book_read_link VALUES (10, 1, ${DAVE_ID}, 0, '2026-01-01 00:00:00.000000', NULL, 0);
       INSERT INTO kobo_reading_state VALUES (20, ${DAVE_ID}, 1, '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000');
       INSERT INTO kobo_bookmark VALUES (30, 20, '2026-01-01 00:00:00.000000', 'OEBPS/ch1.xhtml', 'KoboSpan', 'kobo.1.1', 10.0, 50.0);
       INSERT INTO kobo_statistics VALUES (40, 20, '2026-01-01 00:00:00.000000', 30, 60);`,
    );
    await push(BOOK1_EPUB, 0.42);
    expect(rows('book_read_link')).toEqual([
      {
        id: 10,
        book_id: 1,
        user_id: DAVE_ID,
        read_status: 2,
        last_modified: at(0),
        last_time_started_reading: at(0),
        times_started_reading: 1,
      },
    ]);
    expect(rows('kobo_reading_state')).toEqual([{ id: 20, user_id: DAVE_ID, book_id: 1, last_modified: at(0), priority_timestamp: at(0) }]);
    expect(rows('kobo_bookmark')).toEqual([
      {
        id: 30,
        kobo_reading_state_id: 20,
        last_modified: at(0),
        location_source: 'OEBPS/ch1.xhtml',
        location_type: 'KoboSpan',
        location_value: 'kobo.1.1',
        progress_percent: 42,
        content_source_progress_percent: 50,
      },
    ]);
    expect(rows('kobo_statistics')).toEqual([
      {
        id: 40,
        kobo_reading_state_id: 20,
        last_modified: '2026-01-01 00:00:00.000000',
        remaining_time_minutes: 30,
        spent_reading_minutes: 60,
      },
    ]);
  });

  it('creates no Kobo rows for an existing read status without them, as CWA', async () => {
    execute(t.files.appDb, `INSERT INTO book_read_link VALUES (10, 1, ${DAVE_ID}, 1, '2026-01-01 00:00:00.000000', NULL, 0)`);
    await push(BOOK1_EPUB, 0.42);
    expect(rows('kobo_reading_state')).toEqual([]);
    expect(rows('book_read_link')).toMatchObject([{ id: 10, read_status: 2, times_started_reading: 1 }]);
  });

  it('reuses a reading state left behind without its read status instead of adding a second one', async () => {
    execute(
      t.files.appDb,
      `INSERT INTO kobo_reading_state VALUES (20, ${DAVE_ID}, 1, '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')`,
    );
    await push(BOOK1_EPUB, 0.42);
    expect(rows('kobo_reading_state')).toEqual([{ id: 20, user_id: DAVE_ID, book_id: 1, last_modified: at(0), priority_timestamp: at(0) }]);
    expect(rows('kobo_bookmark')).toMatchObject([{ kobo_reading_state_id: 20, progress_percent: 42 }]);
    expect(rows('kobo_statistics')).toMatchObject([{ kobo_reading_state_id: 20 }]);
  });

  it('updates the lowest-id row when duplicates already exist, and adds none', async () => {
    execute(
      t.files.appDb,
      `INSERT INTO kosync_progress VALUES (5, ${DAVE_ID}, '${UNKNOWN_DOC}', 'a', 1.0, 'X', NULL, '2026-01-01 00:00:00.000000');
       INSERT INTO kosync_progress VALUES (6, ${DAVE_ID}, '${UNKNOWN_DOC}', 'b', 2.0, 'X', NULL, '2026-01-01 00:00:00.000000');`,
    );
    await push(UNKNOWN_DOC, 0.5);
    expect(rows('kosync_progress')).toEqual([
      {
        id: 5,
        user_id: DAVE_ID,
        document: UNKNOWN_DOC,
        progress: 'p0.5',
        percentage: 50,
        device: 'KOReader',
        device_id: 'DEV1',
        timestamp: at(0),
      },
      {
        id: 6,
        user_id: DAVE_ID,
        document: UNKNOWN_DOC,
        progress: 'b',
        percentage: 2,
        device: 'X',
        device_id: null,
        timestamp: '2026-01-01 00:00:00.000000',
      },
    ]);
  });
});

describe('what a GET answers', () => {
  it('returns the stored progress with the calibre fields', async () => {
    await push(BOOK1_EPUB, 0.4567);
    const response = await get(t.app, BOOK1_EPUB);
    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual({
      document: BOOK1_EPUB,
      progress: 'p0.4567',
      percentage: 0.4567,
      device: 'KOReader',
      device_id: 'DEV1',
      timestamp: epoch(0),
      ...BOOK1,
    });
  });

  it('leaves device_id out when none was stored', async () => {
    await put(t.app, { document: UNKNOWN_DOC, progress: '56', percentage: 0.32, device: 'my kpw' });
    const response = await get(t.app, UNKNOWN_DOC);
    expect(json(response)).toEqual({ document: UNKNOWN_DOC, progress: '56', percentage: 0.32, device: 'my kpw', timestamp: epoch(0) });
  });

  it('reads the stored time as UTC whatever the timestamp format another writer left', async () => {
    execute(
      t.files.appDb,
      `INSERT INTO kosync_progress VALUES (1, ${DAVE_ID}, 'a', '1', 10.0, 'X', NULL, '2026-11-28 15:21:55');
       INSERT INTO kosync_progress VALUES (2, ${DAVE_ID}, 'b', '1', 10.0, 'X', NULL, '2026-11-28T15:21:55.5+00:00');
       INSERT INTO kosync_progress VALUES (3, ${DAVE_ID}, 'c', '1', 10.0, 'X', NULL, '2026-11-28T16:21:55+01:00');`,
    );
    for (const document of ['a', 'b', 'c']) {
      expect((json(await get(t.app, document)) as { timestamp: number }).timestamp).toBe(epoch(0));
    }
  });

  it('last write wins, even when it goes backwards', async () => {
    await put(t.app, { document: UNKNOWN_DOC, progress: '56', percentage: 0.32, device: 'my kpw' });
    t.clock.advance(SECOND);
    await put(t.app, { document: UNKNOWN_DOC, progress: '40', percentage: 0.22, device: 'my pb' });
    expect(json(await get(t.app, UNKNOWN_DOC))).toEqual({
      document: UNKNOWN_DOC,
      progress: '40',
      percentage: 0.22,
      device: 'my pb',
      timestamp: epoch(1),
    });
  });

  it('keeps users apart', async () => {
    await push(UNKNOWN_DOC, 0.5, DAVE);
    expect((await get(t.app, UNKNOWN_DOC, ERIN)).body).toBe('{}');
    await push(UNKNOWN_DOC, 0.9, ERIN);
    expect((json(await get(t.app, UNKNOWN_DOC, DAVE)) as { percentage: number }).percentage).toBe(0.5);
    expect(rows('kosync_progress').map((r) => r.user_id)).toEqual([DAVE_ID, ERIN_ID]);
  });

  it('shares progress across files of one book and format (newest wins), echoing the asked document', async () => {
    await push(BOOK1_OLD_EPUB, 0.3);
    t.clock.advance(SECOND);
    await push(BOOK1_EPUB, 0.6);
    expect(json(await get(t.app, BOOK1_OLD_EPUB))).toMatchObject({ document: BOOK1_OLD_EPUB, percentage: 0.6, timestamp: epoch(1) });
    t.clock.advance(SECOND);
    await push(BOOK1_OLD_EPUB, 0.7);
    expect(json(await get(t.app, BOOK1_EPUB))).toMatchObject({ document: BOOK1_EPUB, percentage: 0.7, timestamp: epoch(2) });
  });

  it('does not share progress between formats of one book', async () => {
    await push(BOOK2_EPUB, 0.3);
    expect((await get(t.app, BOOK2_PDF)).body).toBe('{}');
  });
});

describe('sharing switched off', () => {
  it("answers only the document's own progress", async () => {
    await t.close();
    t = await testApp({ env: { KOSYNC_SHARE_PROGRESS_ACROSS_FILES: 'false' } });
    await push(BOOK1_OLD_EPUB, 0.3);
    expect((await get(t.app, BOOK1_EPUB)).body).toBe('{}');
  });
});

describe('libraries without matching', () => {
  it("matches through the sidecar's own index on a plain Calibre library without CWA's checksum table", async () => {
    await t.close();
    t = await testApp({ library: 'calibre' });
    await t.app.ready();
    await t.library?.scanner.idle();
    const response = await push(BOOK1_EPUB, 0.5);
    expect(json(response)).toEqual({ document: BOOK1_EPUB, timestamp: epoch(0), ...BOOK1 });
    expect(rows('book_read_link')).toMatchObject([{ book_id: 1, user_id: DAVE_ID, read_status: 2 }]);
  });

  it('syncs unmatched with no library at all', async () => {
    await t.close();
    t = await testApp({ library: null });
    const response = await push(BOOK1_EPUB, 0.5, basic('dave', 'oldtimer'));
    expect(json(response)).toEqual({ document: BOOK1_EPUB, timestamp: epoch(0) });
  });
});
