import { copyFileSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { basic, epochAt as epoch, SECOND, storedAt, testApp, type TestApp, type TestAppOptions } from './support/app.js';
import { addSecondLighthouse, calibreWrite, DAVE_ID, FIXTURES, query, tableRows } from './support/fixtures.js';
import { md5 } from './support/keys.js';
import { BOOK1, BOOK1_EPUB, BOOK1_OLD_EPUB, BOOK2_EPUB, BOOK2_PDF, BOOK3_EPUB, get, json, put } from './support/requests.js';

const DAVE = basic('dave', 'oldtimer');
const NOW = storedAt(0);

const BOOK1_PATH = 'Mara Ellison/The Quiet Lighthouse (1)/The Quiet Lighthouse - Mara Ellison.epub';
const REV1_EPUB = join(FIXTURES, 'books', 'the-quiet-lighthouse.rev1.epub');

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** The app on a temp copy of the plain Calibre library (no CWA table), after its first scan. */
async function scanned(options: TestAppOptions = {}): Promise<TestApp> {
  t = await testApp({ library: 'calibre', calibreWrites: true, ...options });
  await t.app.ready();
  await t.library!.scanner.idle();
  return t;
}

const app = () => t!.app;
const appRows = (table: string) => tableRows(t!.files.appDb, table);
const stateRows = (sql: string) => query(t!.files.stateDb, sql);
const push = (document: string, percentage: number, extra: Record<string, unknown> = {}) =>
  put(app(), { document, progress: `p${percentage}`, percentage, device: 'KOReader', device_id: 'DEV1', ...extra }, DAVE);
const bookOf = async (document: string) => {
  const body = json(await push(document, 0.1)) as Record<string, unknown>;
  return body.calibre_book_id;
};
const libraryFile = (relative: string) => join(t!.files.library!, relative);

describe('the checksum index of a plain Calibre library', () => {
  it('indexes every format at start and reports the first scan done', async () => {
    await scanned();
    expect(t!.library!.scanner.status()).toMatchObject({
      running: false,
      firstScan: { done: 6, total: 6, complete: true },
      lastScan: { files: 6, hashed: 6, unchanged: 0, missing: 0, removed: 0, failed: 0, full: false },
    });
    expect(
      stateRows('SELECT data_id, book_id, format, path, download_name, size, checksum, scanned_at FROM library_files ORDER BY data_id'),
    ).toEqual([
      {
        data_id: 1,
        book_id: 1,
        format: 'EPUB',
        path: BOOK1_PATH,
        download_name: 'The Quiet Lighthouse - Mara Ellison.epub',
        size: 1641,
        checksum: BOOK1_EPUB,
        scanned_at: NOW,
      },
      {
        data_id: 2,
        book_id: 2,
        format: 'EPUB',
        path: 'Tobias Renn/Gears of the Clockwork City (2)/Gears of the Clockwork City - Tobias Renn.epub',
        download_name: 'Gears of the Clockwork City - Tobias Renn.epub',
        size: 2087,
        checksum: BOOK2_EPUB,
        scanned_at: NOW,
      },
      {
        data_id: 3,
        book_id: 3,
        format: 'EPUB',
        path: 'Zoe Angstrom/Uber den Fluss (3)/Uber den Fluss - Zoe Angstrom.epub',
        download_name: 'Über den Fluss - Zoë Ångström.epub',
        size: 1641,
        checksum: BOOK3_EPUB,
        scanned_at: NOW,
      },
      {
        data_id: 4,
        book_id: 4,
        format: 'EPUB',
        path: 'Priya Natarajan/A Field Guide to Small Birds (4)/A Field Guide to Small Birds - Priya Natarajan.epub',
        download_name: 'A Field Guide to Small Birds - Priya Natarajan.epub',
        size: 91302,
        checksum: '86a58dbb93d1ca4e18c0bd804bd4e415',
        scanned_at: NOW,
      },
      {
        data_id: 5,
        book_id: 5,
        format: 'EPUB',
        path: "J. R. O'Neil/Notes_ On Tea & Time (5)/Notes_ On Tea & Time - J. R. O'Neil.epub",
        download_name: "Notes_ On Tea & Time - J. R. O'Neil.epub",
        size: 1649,
        checksum: '7b6c79c18ae1e8332ff9efdab22c801b',
        scanned_at: NOW,
      },
      {
        data_id: 6,
        book_id: 2,
        format: 'PDF',
        path: 'Tobias Renn/Gears of the Clockwork City (2)/Gears of the Clockwork City - Tobias Renn.pdf',
        download_name: 'Gears of the Clockwork City - Tobias Renn.pdf',
        size: 795,
        checksum: BOOK2_PDF,
        scanned_at: NOW,
      },
    ]);
    expect(
      stateRows(
        "SELECT document, book_id, format, detail, first_seen, last_seen FROM document_ids WHERE method = 'binary' " +
          'ORDER BY book_id, format',
      ),
    ).toEqual([
      { document: BOOK1_EPUB, book_id: 1, format: 'EPUB', detail: BOOK1_PATH, first_seen: NOW, last_seen: NOW },
      {
        document: BOOK2_EPUB,
        book_id: 2,
        format: 'EPUB',
        detail: 'Tobias Renn/Gears of the Clockwork City (2)/Gears of the Clockwork City - Tobias Renn.epub',
        first_seen: NOW,
        last_seen: NOW,
      },
      {
        document: BOOK2_PDF,
        book_id: 2,
        format: 'PDF',
        detail: 'Tobias Renn/Gears of the Clockwork City (2)/Gears of the Clockwork City - Tobias Renn.pdf',
        first_seen: NOW,
        last_seen: NOW,
      },
      {
        document: BOOK3_EPUB,
        book_id: 3,
        format: 'EPUB',
        detail: 'Zoe Angstrom/Uber den Fluss (3)/Uber den Fluss - Zoe Angstrom.epub',
        first_seen: NOW,
        last_seen: NOW,
      },
      {
        document: '86a58dbb93d1ca4e18c0bd804bd4e415',
        book_id: 4,
        format: 'EPUB',
        detail: 'Priya Natarajan/A Field Guide to Small Birds (4)/A Field Guide to Small Birds - Priya Natarajan.epub',
        first_seen: NOW,
        last_seen: NOW,
      },
      {
        document: '7b6c79c18ae1e8332ff9efdab22c801b',
        book_id: 5,
        format: 'EPUB',
        detail: "J. R. O'Neil/Notes_ On Tea & Time (5)/Notes_ On Tea & Time - J. R. O'Neil.epub",
        first_seen: NOW,
        last_seen: NOW,
      },
    ]);
  });

  it("a PUT with a book's KOReader hash updates read status and the Kobo tables", async () => {
    await scanned();
    const response = await push(BOOK1_EPUB, 0.25);
    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual({ document: BOOK1_EPUB, timestamp: epoch(0), ...BOOK1 });
    expect(appRows('book_read_link')).toEqual([
      { id: 1, book_id: 1, user_id: DAVE_ID, read_status: 2, last_modified: NOW, last_time_started_reading: NOW, times_started_reading: 1 },
    ]);
    expect(appRows('kobo_reading_state')).toEqual([{ id: 1, user_id: DAVE_ID, book_id: 1, last_modified: NOW, priority_timestamp: NOW }]);
    expect(appRows('kobo_bookmark')).toEqual([
      {
        id: 1,
        kobo_reading_state_id: 1,
        last_modified: NOW,
        location_source: null,
        location_type: null,
        location_value: null,
        progress_percent: 25,
        content_source_progress_percent: null,
      },
    ]);
    expect(appRows('kobo_statistics')).toEqual([
      { id: 1, kobo_reading_state_id: 1, last_modified: NOW, remaining_time_minutes: null, spent_reading_minutes: null },
    ]);
  });

  it('a file rewritten in place matches by its old and its new hash', async () => {
    await scanned();
    copyFileSync(REV1_EPUB, libraryFile(BOOK1_PATH)); // same size (1641 bytes), other bytes
    utimesSync(libraryFile(BOOK1_PATH), new Date('2026-12-01T00:00:00Z'), new Date('2026-12-01T00:00:00Z'));
    const summary = await t!.library!.scanner.scan();
    expect(summary).toMatchObject({ files: 6, hashed: 1, unchanged: 5, missing: 0, removed: 0 });
    expect(json(await push(BOOK1_OLD_EPUB, 0.5))).toEqual({ document: BOOK1_OLD_EPUB, timestamp: epoch(0), ...BOOK1 });
    expect(json(await push(BOOK1_EPUB, 0.5))).toEqual({ document: BOOK1_EPUB, timestamp: epoch(0), ...BOOK1 });
    expect(stateRows(`SELECT document FROM document_ids WHERE book_id = 1 AND method = 'binary' ORDER BY id`)).toEqual([
      { document: BOOK1_EPUB },
      { document: BOOK1_OLD_EPUB },
    ]);
  });

  it('an unknown document refreshes the index, at most once a minute', async () => {
    await scanned();
    copyFileSync(REV1_EPUB, libraryFile(BOOK1_PATH));
    utimesSync(libraryFile(BOOK1_PATH), new Date('2026-12-01T00:00:00Z'), new Date('2026-12-01T00:00:00Z'));
    // Within a minute of the first scan: no refresh, the new file stays unknown.
    expect(await bookOf(BOOK1_OLD_EPUB)).toBeUndefined();
    await t!.library!.scanner.idle();
    expect(await bookOf(BOOK1_OLD_EPUB)).toBeUndefined();
    t!.clock.advance(61 * SECOND);
    expect(await bookOf(BOOK1_OLD_EPUB)).toBeUndefined(); // this one asks for the refresh
    await t!.library!.scanner.idle();
    expect(t!.library!.scanner.status().lastScan).toMatchObject({ hashed: 1, unchanged: 5 });
    expect(await bookOf(BOOK1_OLD_EPUB)).toBe(1);
  });

  it('a deleted file and a deleted book drop out, their history kept', async () => {
    await scanned();
    rmSync(libraryFile('Tobias Renn/Gears of the Clockwork City (2)/Gears of the Clockwork City - Tobias Renn.pdf'));
    calibreWrite(t!.files.library!, 'DELETE FROM books WHERE id = 3');
    expect(await bookOf(BOOK3_EPUB)).toBeUndefined(); // at once: the book is looked up in metadata.db
    expect(await t!.library!.scanner.scan()).toMatchObject({ files: 5, hashed: 0, unchanged: 4, missing: 1, removed: 1 });
    expect(await bookOf(BOOK2_PDF)).toBeUndefined();
    expect(await bookOf(BOOK2_EPUB)).toBe(2);
    expect(stateRows('SELECT data_id, checksum, size FROM library_files WHERE data_id IN (3, 6) ORDER BY data_id')).toEqual([
      { data_id: 6, checksum: null, size: null },
    ]);
    expect(
      stateRows(
        `SELECT document, book_id, format FROM document_ids WHERE method = 'binary' AND book_id IN (2, 3) ORDER BY book_id, format`,
      ),
    ).toEqual([
      { document: BOOK2_EPUB, book_id: 2, format: 'EPUB' },
      { document: BOOK2_PDF, book_id: 2, format: 'PDF' },
      { document: BOOK3_EPUB, book_id: 3, format: 'EPUB' },
    ]);
  });

  it('a file put back matches again', async () => {
    await scanned();
    const pdf = libraryFile('Tobias Renn/Gears of the Clockwork City (2)/Gears of the Clockwork City - Tobias Renn.pdf');
    const kept = join(t!.files.dir, 'kept.pdf');
    copyFileSync(pdf, kept);
    rmSync(pdf);
    await t!.library!.scanner.scan();
    expect(await bookOf(BOOK2_PDF)).toBeUndefined();
    copyFileSync(kept, pdf);
    expect(await t!.library!.scanner.scan()).toMatchObject({ hashed: 1, missing: 0 });
    expect(await bookOf(BOOK2_PDF)).toBe(2);
  });
});

describe("KOReader's filename document ids", () => {
  it('match the library file names and the names Calibre-Web gives downloads', async () => {
    await scanned();
    const filenameMatch = (id: number, title: string, format = 'EPUB') => ({
      calibre_book_id: id,
      calibre_book_title: title,
      calibre_book_format: format,
      calibre_checksum_version: 'koreader_filename',
    });
    const pushName = async (name: string) => json(await push(md5(name), 0.1)) as Record<string, unknown>;
    expect(await pushName('The Quiet Lighthouse - Mara Ellison.epub')).toMatchObject(filenameMatch(1, 'The Quiet Lighthouse'));
    expect(await pushName('Gears of the Clockwork City - Tobias Renn.pdf')).toMatchObject(
      filenameMatch(2, 'Gears of the Clockwork City', 'PDF'),
    );
    // Calibre-Web's download name keeps the accents the library path drops …
    expect(await pushName('Über den Fluss - Zoë Ångström.epub')).toMatchObject(filenameMatch(3, 'Über den Fluss'));
    // … the same name decomposed (NFD), as some file systems store it …
    expect(await pushName('Über den Fluss - Zoë Ångström.epub'.normalize('NFD'))).toMatchObject(filenameMatch(3, 'Über den Fluss'));
    // … and the library's own ASCII name.
    expect(await pushName('Uber den Fluss - Zoe Angstrom.epub')).toMatchObject(filenameMatch(3, 'Über den Fluss'));
    expect(await pushName("Notes_ On Tea & Time - J. R. O'Neil.epub")).toMatchObject(filenameMatch(5, 'Notes: On Tea & Time'));
    expect(await pushName("Notes: On Tea & Time - J. R. O'Neil.epub")).not.toHaveProperty('calibre_book_id');
    expect(appRows('book_read_link').map((r) => r.book_id)).toEqual([1, 2, 3, 5]);
  });
});

describe("matching by KOReader's metadata", () => {
  const UNKNOWN_A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
  const UNKNOWN_B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

  it("matches the one book with that title and author and records the document as an alias of that user's", async () => {
    await scanned();
    const response = await push(UNKNOWN_A, 0.4, {
      metadata: { title: 'the quiet  LIGHTHOUSE', authors: 'Ellison, Mara', filename: 'lighthouse.epub' },
    });
    expect(json(response)).toEqual({ document: UNKNOWN_A, timestamp: epoch(0), ...BOOK1 });
    expect(appRows('book_read_link')).toMatchObject([{ book_id: 1, user_id: DAVE_ID, read_status: 2 }]);
    expect(
      stateRows(
        `SELECT user_id, document, book_id, format, method, detail, first_seen, last_seen FROM document_ids WHERE method = 'metadata'`,
      ),
    ).toEqual([
      {
        user_id: DAVE_ID,
        document: UNKNOWN_A,
        book_id: 1,
        format: 'EPUB',
        method: 'metadata',
        detail: '{"title":"the quiet  LIGHTHOUSE","authors":"Ellison, Mara","filename":"lighthouse.epub"}',
        first_seen: NOW,
        last_seen: NOW,
      },
    ]);
    // Later requests carry no metadata (a GET never does) and match by the id alone.
    const later = json(await get(app(), UNKNOWN_A, DAVE)) as Record<string, unknown>;
    expect(later).toMatchObject({ document: UNKNOWN_A, percentage: 0.4, ...BOOK1 });
  });

  it('ignores accents, punctuation, "&" and the order of names', async () => {
    await scanned();
    const pushMeta = async (document: string, title: string, authors: string) =>
      (json(await push(document, 0.1, { metadata: { title, authors } })) as Record<string, unknown>).calibre_book_id;
    expect(await pushMeta(UNKNOWN_A, 'Uber den Fluss', 'Zoe Angstrom')).toBe(3);
    expect(await pushMeta(UNKNOWN_B, 'Notes - On Tea and Time', "O'Neil, J.R.")).toBe(5);
  });

  it('takes the format from the file name when the book has several', async () => {
    await scanned();
    const body = (name: string) => ({ metadata: { title: 'Gears of the Clockwork City', authors: 'Tobias Renn', filename: name } });
    expect(json(await push(UNKNOWN_A, 0.1, body('gears.pdf')))).toMatchObject({ calibre_book_id: 2, calibre_book_format: 'PDF' });
    expect(json(await push(UNKNOWN_B, 0.1, body('gears.mobi')))).not.toHaveProperty('calibre_book_id');
  });

  it('refuses a title without an author, and another author', async () => {
    await scanned();
    expect(json(await push(UNKNOWN_A, 0.1, { metadata: { title: 'The Quiet Lighthouse' } }))).not.toHaveProperty('calibre_book_id');
    expect(json(await push(UNKNOWN_A, 0.1, { metadata: { title: 'The Quiet Lighthouse', authors: 'Tobias Renn' } }))).not.toHaveProperty(
      'calibre_book_id',
    );
    expect(stateRows("SELECT * FROM document_ids WHERE method = 'metadata'")).toEqual([]);
  });

  it('never guesses between two books of the same title and author', async () => {
    await scanned({ prepare: (files) => addSecondLighthouse(files.library!) });
    const response = await push(UNKNOWN_A, 0.4, {
      metadata: { title: 'The Quiet Lighthouse', authors: 'Mara Ellison', filename: 'x.epub' },
    });
    expect(json(response)).toEqual({ document: UNKNOWN_A, timestamp: epoch(0) });
    expect(appRows('book_read_link')).toEqual([]);
    expect(stateRows("SELECT * FROM document_ids WHERE method = 'metadata'")).toEqual([]);
    // The shared download name is ambiguous too; each file's own hash still names its book.
    expect(await bookOf(md5('The Quiet Lighthouse - Mara Ellison.epub'))).toBeUndefined();
    expect(await bookOf(BOOK1_OLD_EPUB)).toBe(6);
    expect(await bookOf(BOOK1_EPUB)).toBe(1);
  });
});

describe('progress shared across the files of one book', () => {
  it('answers a pull with the newest progress of any document of the same book and format', async () => {
    await scanned();
    const byName = md5('The Quiet Lighthouse - Mara Ellison.epub');
    await push(BOOK1_EPUB, 0.2);
    t!.clock.advance(SECOND);
    await push(byName, 0.6);
    expect(json(await get(app(), BOOK1_EPUB, DAVE))).toEqual({
      document: BOOK1_EPUB,
      progress: 'p0.6',
      percentage: 0.6,
      device: 'KOReader',
      device_id: 'DEV1',
      timestamp: epoch(1),
      ...BOOK1,
    });
  });

  it('keeps the formats of one book apart', async () => {
    await scanned();
    await push(BOOK2_EPUB, 0.2);
    expect(json(await get(app(), BOOK2_PDF, DAVE))).toEqual({});
    expect(json(await get(app(), BOOK2_EPUB, DAVE))).toMatchObject({ document: BOOK2_EPUB, percentage: 0.2, calibre_book_format: 'EPUB' });
  });
});
