import { afterEach, describe, expect, it } from 'vitest';
import { basic, epochAt, storedAt, testApp, type TestApp, type TestAppOptions } from './support/app.js';
import { tableRows } from './support/fixtures.js';
import { BOOK1, BOOK1_EPUB, BOOK2_EPUB, BOOK2_PDF, BOOK3_EPUB, DAVE, ERIN, get, json, put } from './support/requests.js';

/**
 * app-cwa-rows.db: the kosync_progress rows a user of another CWA version brings along (its README in
 * the shared fixtures lists them): 1 admin's checksum row of book 2's EPUB and 2 a newer one under the
 * book id '2'; 3 Bob's position in book 3 and 4 a newer CWNG percentage-only row under '3'; 5 carol's
 * v3.1 fraction 0.45 (2025-06-01); 6 dave's 0.5 after 2025-11-09; 7 erin's page number under '4'.
 */
const ADMIN = basic('admin', 'admin123');
const BOB = basic('Bob', 'builder');
const CAROL = basic('carol', 'pässwörd ✓');
const BOOK4_EPUB = '86a58dbb93d1ca4e18c0bd804bd4e415';
const BOOK5_EPUB = '7b6c79c18ae1e8332ff9efdab22c801b';

const BOOK2 = { calibre_book_id: 2, calibre_book_title: 'Gears of the Clockwork City', calibre_checksum_version: 'koreader' } as const;
/** Epoch seconds of a stored UTC time given as `YYYY-MM-DD HH:MM`. */
const epoch = (text: string) => Date.parse(`${text.replace(' ', 'T')}:00Z`) / 1000;

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** The app on app-cwa-rows.db and a plain Calibre library, after the checksum index's first scan. */
async function cwaRows(options: TestAppOptions = {}): Promise<TestApp> {
  t = await testApp({ app: 'app-cwa-rows.db', library: 'calibre', ...options });
  await t.app.ready();
  await t.library!.scanner.idle();
  return t;
}

describe('progress rows left by other CWA versions, read as their README says', () => {
  it("answers admin's book 2 EPUB with the newer row CWA keyed by the book id, echoing the requested document", async () => {
    await cwaRows();
    expect(json(await get(t!.app, BOOK2_EPUB, ADMIN))).toEqual({
      document: BOOK2_EPUB,
      progress: '/body/DocFragment[3]/body/p[2]/text().0',
      percentage: 0.375,
      device: 'KOReader-A',
      device_id: 'DEVA0001',
      timestamp: epoch('2026-09-01 10:00'),
      ...BOOK2,
      calibre_book_format: 'EPUB',
    });
  });

  it('reads the book-id row with sharing across files off too', async () => {
    await cwaRows({ env: { KOSYNC_SHARE_PROGRESS_ACROSS_FILES: 'false' } });
    expect(json(await get(t!.app, BOOK2_EPUB, ADMIN))).toMatchObject({
      progress: '/body/DocFragment[3]/body/p[2]/text().0',
      percentage: 0.375,
    });
  });

  it("never serves book 2's EPUB xpointer, stored under the book id, to its PDF", async () => {
    await cwaRows();
    expect(json(await get(t!.app, BOOK2_PDF, ADMIN))).toEqual({});
  });

  it("passes over CWNG's newer percentage-only row for Bob's real position", async () => {
    await cwaRows();
    expect(json(await get(t!.app, BOOK3_EPUB, BOB))).toEqual({
      document: BOOK3_EPUB,
      progress: '/body/DocFragment[1]/body/p[4]/text().0',
      percentage: 0.4,
      device: 'KOReader-B',
      device_id: 'DEVB0001',
      timestamp: epoch('2026-09-15 09:30'),
      calibre_book_id: 3,
      calibre_book_title: 'Über den Fluss',
      calibre_book_format: 'EPUB',
      calibre_checksum_version: 'koreader',
    });
  });

  it('never serves a percentage-only row, even when its document is the one asked for', async () => {
    await cwaRows();
    expect(json(await get(t!.app, '3', BOB))).toEqual({});
  });

  it("reads carol's v3.1 fraction, stored before 2025-11-09, as 45 %", async () => {
    await cwaRows();
    expect(json(await get(t!.app, BOOK5_EPUB, CAROL))).toMatchObject({
      document: BOOK5_EPUB,
      progress: '/body/DocFragment[1]/body/p[2]/text().0',
      percentage: 0.45,
      timestamp: epoch('2025-06-01 08:00'),
      calibre_book_id: 5,
    });
  });

  it("reads dave's 0.5 stored after that date as the 0.5 % it is", async () => {
    await cwaRows();
    expect(json(await get(t!.app, BOOK1_EPUB, DAVE))).toEqual({
      document: BOOK1_EPUB,
      progress: '/body/DocFragment[1]/body/p[1]/text().0',
      percentage: 0.005,
      device: 'KOReader-D',
      device_id: 'DEVD0001',
      timestamp: epoch('2026-03-01 12:00'),
      ...BOOK1,
    });
  });

  it("never serves erin's page number, stored under book 4's id, to the book's only format, an EPUB", async () => {
    await cwaRows();
    expect(json(await get(t!.app, BOOK4_EPUB, ERIN))).toEqual({});
  });

  it("writes as the original: a push updates admin's own row for the document, the book-id row stays, and is answered next", async () => {
    await cwaRows();
    const before = tableRows(t!.files.appDb, 'kosync_progress');
    const pushed = await put(
      t!.app,
      { document: BOOK2_EPUB, progress: '/body/DocFragment[4].0', percentage: 0.5, device: 'KOReader-A' },
      ADMIN,
    );
    expect(json(pushed)).toEqual({ document: BOOK2_EPUB, timestamp: epochAt(0), ...BOOK2, calibre_book_format: 'EPUB' });
    expect(tableRows(t!.files.appDb, 'kosync_progress')).toEqual([
      { ...before[0], progress: '/body/DocFragment[4].0', percentage: 50, device: 'KOReader-A', device_id: null, timestamp: storedAt(0) },
      ...before.slice(1),
    ]);
    expect(json(await get(t!.app, BOOK2_EPUB, ADMIN))).toMatchObject({ progress: '/body/DocFragment[4].0', percentage: 0.5 });
  });
});
