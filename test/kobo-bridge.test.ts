import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { epochAt as epoch, SECOND, storedAt as at, type TestAppOptions, testApp, type TestApp } from './support/app.js';
import { container, packageDocument, writeZip } from './support/epub.js';
import { DAVE_ID, execute, tableRows } from './support/fixtures.js';
import { BOOK1_EPUB, BOOK1_OLD_EPUB, BOOK2_EPUB, BOOK2_PDF, BOOK4, BOOK4_EPUB, get, json, put, UNKNOWN_DOC } from './support/requests.js';

const BRIDGE = { KOSYNC_KOBO_BRIDGE: 'true' };
const BOOK4_FOLDER = 'Priya Natarajan/A Field Guide to Small Birds (4)';
const BOOK4_FILE = `${BOOK4_FOLDER}/A Field Guide to Small Birds - Priya Natarajan.epub`;
/** A KEPUB of book 4 as CWA would have indexed it (its own document id). */
const BOOK4_KEPUB = 'b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function app(options: TestAppOptions = {}): Promise<TestApp> {
  t = await testApp({ env: BRIDGE, ...options });
  return t;
}

const rows = (table: string) => tableRows(t!.files.appDb, table);
const push = (document: string, progress: string, percentage: number) =>
  put(t!.app, { document, progress, percentage, device: 'KOReader', device_id: 'DEV1' });
const pull = async (document: string) => {
  const response = await get(t!.app, document);
  expect(response.statusCode).toBe(200);
  return json(response);
};

/**
 * What Calibre-Web's Kobo state PUT leaves in dave's bookmark for a book (kobo.py HandleStateRequest):
 * the device's Location and percentages, and `last_modified` by the row's onupdate.
 */
function koboSynced(bookId: number, bookmark: { source: string; value?: string; percent: number; at: string }) {
  execute(
    t!.files.appDb,
    `UPDATE kobo_bookmark SET location_source = '${bookmark.source}', location_type = 'KoboSpan',
       location_value = '${bookmark.value ?? 'kobo.3.2'}', progress_percent = ${bookmark.percent},
       content_source_progress_percent = 20, last_modified = '${bookmark.at}'
     WHERE kobo_reading_state_id = (SELECT id FROM kobo_reading_state WHERE user_id = ${DAVE_ID} AND book_id = ${bookId})`,
  );
}

/** dave's bookmark row for the fixture's first reading state, with the location the bridge writes. */
function bridgedBookmark(source: string, percent: number, stamped: string) {
  return {
    id: 1,
    kobo_reading_state_id: 1,
    last_modified: stamped,
    location_source: source,
    location_type: 'KoboSpan',
    location_value: 'kobo.1.1',
    progress_percent: percent,
    content_source_progress_percent: 0,
  };
}

/** dave's read status of book 4, as Calibre-Web or an earlier sync left it. */
const readBook4 = (status: number, stamped: string) =>
  `INSERT INTO book_read_link (book_id, user_id, read_status, last_modified, times_started_reading)
   VALUES (4, ${DAVE_ID}, ${status}, '${stamped}', 1);`;

const UNMOVED = { location_source: null, location_type: null, location_value: null, content_source_progress_percent: null };

/** Book 4 also as a KEPUB whose spine differs from the EPUB's, indexed in CWA's checksum table. */
function withKepub(files: { library: string | undefined }) {
  const library = files.library!;
  writeZip(join(library, BOOK4_FOLDER, 'A Field Guide to Small Birds - Priya Natarajan.kepub'), {
    mimetype: 'application/epub+zip',
    'META-INF/container.xml': container('OEBPS/content.opf'),
    'OEBPS/content.opf': packageDocument({ a: 'k0.xhtml', b: 'Text/k1.xhtml', c: 'k2.xhtml' }, ['a', 'b', 'c']),
  });
  execute(
    join(library, 'metadata.db'),
    `INSERT INTO data (book, format, uncompressed_size, name) VALUES (4, 'KEPUB', 1000, 'A Field Guide to Small Birds - Priya Natarajan');
     INSERT INTO book_format_checksums (book, format, checksum, version, created)
       VALUES (4, 'KEPUB', '${BOOK4_KEPUB}', 'koreader', '2026-11-28T15:14:07.000000+00:00')`,
  );
}

describe('Kobo bridge, push (docs/PROTOCOL.md §7.1)', () => {
  it('a push of /body/DocFragment[5]/… for book 4 moves the Kobo bookmark to the start of spine item 5, OEBPS/c4.xhtml', async () => {
    await app();
    const response = await push(BOOK4_EPUB, '/body/DocFragment[5]/body/div/p[3]/text().17', 0.4);
    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual({ document: BOOK4_EPUB, timestamp: epoch(0), ...BOOK4 });
    expect(rows('kobo_bookmark')).toEqual([bridgedBookmark('OEBPS/c4.xhtml', 40, at(0))]);
    expect(rows('kobo_reading_state')).toEqual([{ id: 1, user_id: DAVE_ID, book_id: 4, last_modified: at(0), priority_timestamp: at(0) }]);
    expect(rows('book_read_link')).toEqual([
      {
        id: 1,
        book_id: 4,
        user_id: DAVE_ID,
        read_status: 2,
        last_modified: at(0),
        last_time_started_reading: at(0),
        times_started_reading: 1,
      },
    ]);
  });

  it('a later push moves it again, stamped and bumped like the rest of the push', async () => {
    await app();
    await push(BOOK4_EPUB, '/body/DocFragment[5]/body/p[1]/text().0', 0.4);
    t!.clock.advance(SECOND);
    await push(BOOK4_EPUB, '/body/DocFragment[12].0', 0.97);
    expect(rows('kobo_bookmark')).toEqual([bridgedBookmark('OEBPS/c11.xhtml', 97, at(1))]);
    expect(rows('kobo_reading_state')).toEqual([{ id: 1, user_id: DAVE_ID, book_id: 4, last_modified: at(1), priority_timestamp: at(1) }]);
  });

  it.each([
    ['an xpointer past the spine', '/body/DocFragment[13]/body/p[1]/text().0'],
    ['DocFragment[0]', '/body/DocFragment[0].0'],
    ['a page number', '42'],
    ['an xpointer of no DocFragment', '/body/div[2]/p[1]/text().0'],
  ])('%s leaves the bookmark where the original leaves it', async (_what, progress) => {
    await app();
    await push(BOOK4_EPUB, progress, 0.4);
    expect(rows('kobo_bookmark')).toEqual([{ id: 1, kobo_reading_state_id: 1, last_modified: at(0), progress_percent: 40, ...UNMOVED }]);
  });

  it("a PDF's push (book 2) leaves the location alone, whatever its progress says", async () => {
    await app();
    await push(BOOK2_PDF, '/body/DocFragment[1].0', 0.3);
    expect(rows('kobo_bookmark')).toEqual([{ id: 1, kobo_reading_state_id: 1, last_modified: at(0), progress_percent: 30, ...UNMOVED }]);
  });

  it('reads the spine again once the library file changed (an edited or replaced EPUB)', async () => {
    await app();
    await push(BOOK4_EPUB, '/body/DocFragment[2].0', 0.1);
    expect(rows('kobo_bookmark')).toMatchObject([{ location_source: 'OEBPS/c1.xhtml' }]);
    writeZip(join(t!.files.library!, BOOK4_FILE), {
      mimetype: 'application/epub+zip',
      'META-INF/container.xml': container('content.opf'),
      'content.opf': packageDocument({ t: 'title.xhtml', p: 'Text/part-1.xhtml' }, ['t', 'p']),
    });
    t!.clock.advance(SECOND);
    await push(BOOK4_EPUB, '/body/DocFragment[2].0', 0.1);
    expect(rows('kobo_bookmark')).toMatchObject([{ location_source: 'Text/part-1.xhtml' }]);
  });

  it('a book whose library file is no readable EPUB keeps the original rows, and the push is answered 200', async () => {
    await app({ prepare: (files) => writeFileSync(join(files.library!, BOOK4_FILE), 'damaged') });
    const response = await push(BOOK4_EPUB, '/body/DocFragment[5].0', 0.4);
    expect(response.statusCode).toBe(200);
    expect(rows('kobo_bookmark')).toEqual([{ id: 1, kobo_reading_state_id: 1, last_modified: at(0), progress_percent: 40, ...UNMOVED }]);
  });

  it('read status without Kobo rows (the original adds none): the bridge adds the reading state, bookmark and statistics', async () => {
    await app({ prepare: (files) => execute(files.appDb, readBook4(1, '2026-01-01 00:00:00.000000')) });
    await push(BOOK4_EPUB, '/body/DocFragment[2].0', 0.1);
    expect(rows('kobo_reading_state')).toEqual([{ id: 1, user_id: DAVE_ID, book_id: 4, last_modified: at(0), priority_timestamp: at(0) }]);
    expect(rows('kobo_bookmark')).toEqual([bridgedBookmark('OEBPS/c1.xhtml', 10, at(0))]);
    expect(rows('kobo_statistics')).toEqual([
      { id: 1, kobo_reading_state_id: 1, last_modified: at(0), remaining_time_minutes: null, spent_reading_minutes: null },
    ]);
  });

  it("a KEPUB's push takes the item from the KEPUB's own spine", async () => {
    await app({ prepare: withKepub, calibreWrites: true });
    await push(BOOK4_KEPUB, '/body/DocFragment[2]/body/div/div/p[1]/span[1]/text().0', 0.2);
    expect(rows('kobo_bookmark')).toEqual([bridgedBookmark('OEBPS/Text/k1.xhtml', 20, at(0))]);
  });

  it('with the bridge off, the same push leaves the bookmark exactly as the original does', async () => {
    t = await testApp();
    await push(BOOK4_EPUB, '/body/DocFragment[5]/body/p[1]/text().0', 0.4);
    expect(rows('kobo_bookmark')).toEqual([{ id: 1, kobo_reading_state_id: 1, last_modified: at(0), progress_percent: 40, ...UNMOVED }]);
  });
});

describe('Kobo bridge, pull (docs/PROTOCOL.md §7.1)', () => {
  it("answers the start of the Kobo's chapter when a Kobo synced a newer position: DocFragment[8].0, 0.63, Kobo, its time", async () => {
    await app();
    await push(BOOK4_EPUB, '/body/DocFragment[5]/body/p[1]/text().0', 0.4);
    koboSynced(4, { source: 'OEBPS/c7.xhtml', percent: 63, at: at(3) });
    expect(await pull(BOOK4_EPUB)).toEqual({
      document: BOOK4_EPUB,
      progress: '/body/DocFragment[8].0',
      percentage: 0.63,
      device: 'Kobo',
      timestamp: epoch(3),
      ...BOOK4,
    });
  });

  it('a later KOReader push wins again: its own position is answered and the bookmark follows it', async () => {
    await app();
    await push(BOOK4_EPUB, '/body/DocFragment[5].0', 0.4);
    koboSynced(4, { source: 'OEBPS/c7.xhtml', percent: 63, at: at(2) });
    expect(await pull(BOOK4_EPUB)).toMatchObject({ progress: '/body/DocFragment[8].0', device: 'Kobo' });
    t!.clock.advance(3 * SECOND);
    await push(BOOK4_EPUB, '/body/DocFragment[9]/body/p[2]/text().4', 0.7);
    expect(await pull(BOOK4_EPUB)).toEqual({
      document: BOOK4_EPUB,
      progress: '/body/DocFragment[9]/body/p[2]/text().4',
      percentage: 0.7,
      device: 'KOReader',
      device_id: 'DEV1',
      timestamp: epoch(3),
      ...BOOK4,
    });
    expect(rows('kobo_bookmark')).toEqual([bridgedBookmark('OEBPS/c8.xhtml', 70, at(3))]);
  });

  it('a position this server wrote is never answered as a Kobo position', async () => {
    await app();
    await push(BOOK4_EPUB, '/body/DocFragment[5]/body/p[1]/text().0', 0.4);
    expect(await pull(BOOK4_EPUB)).toMatchObject({ progress: '/body/DocFragment[5]/body/p[1]/text().0', device: 'KOReader' });
  });

  it("nor one it wrote for the book's other format: a PDF push after the Kobo's leaves the EPUB's answer its own", async () => {
    await app();
    await push(BOOK2_EPUB, '/body/DocFragment[1].0', 0.1);
    koboSynced(2, { source: 'OEBPS/c1.xhtml', percent: 55, at: at(2) });
    expect(await pull(BOOK2_EPUB)).toMatchObject({ progress: '/body/DocFragment[2].0', device: 'Kobo', percentage: 0.55 });
    t!.clock.advance(3 * SECOND);
    await push(BOOK2_PDF, '17', 0.6);
    // The PDF's push set the bookmark's percentage and time (as the original does), not its location.
    expect(rows('kobo_bookmark')).toMatchObject([{ location_source: 'OEBPS/c1.xhtml', progress_percent: 60, last_modified: at(3) }]);
    expect(await pull(BOOK2_EPUB)).toMatchObject({ progress: '/body/DocFragment[1].0', device: 'KOReader', timestamp: epoch(0) });
  });

  it("nor a bookmark written a moment after a KOReader position, as CWA's kosync.py commits it", async () => {
    await app();
    await push(BOOK4_EPUB, '/body/DocFragment[5].0', 0.4);
    koboSynced(4, { source: 'OEBPS/c7.xhtml', percent: 40, at: '2026-11-28 15:21:56.081869' });
    expect(await pull(BOOK4_EPUB)).toMatchObject({ progress: '/body/DocFragment[5].0', device: 'KOReader' });
  });

  it("a Kobo position older than the newest KOReader position of any of the book's files is not answered, sharing on or off", async () => {
    for (const share of ['true', 'false']) {
      await app({ env: { ...BRIDGE, KOSYNC_SHARE_PROGRESS_ACROSS_FILES: share } });
      await push(BOOK1_EPUB, '/body/DocFragment[1].0', 0.2);
      koboSynced(1, { source: 'OEBPS/c0.xhtml', percent: 50, at: at(2) });
      // The other file of book 1 was read later on another device, written by CWA before the bridge (no bookmark move).
      execute(
        t!.files.appDb,
        `INSERT INTO kosync_progress (user_id, document, progress, percentage, device, device_id, timestamp)
         VALUES (${DAVE_ID}, '${BOOK1_OLD_EPUB}', '/body/DocFragment[1]/body/p[9]/text().0', 80, 'Phone', 'DEV2', '${at(3)}')`,
      );
      expect(await pull(BOOK1_EPUB)).toMatchObject(
        share === 'true'
          ? { progress: '/body/DocFragment[1]/body/p[9]/text().0', device: 'Phone' }
          : { progress: '/body/DocFragment[1].0' },
      );
      await t!.close();
      t = undefined;
    }
  });

  it('a Source the spine does not have gives the normal answer', async () => {
    await app();
    await push(BOOK4_EPUB, '/body/DocFragment[5].0', 0.4);
    koboSynced(4, { source: 'OEBPS/appendix.xhtml', percent: 63, at: at(3) });
    expect(await pull(BOOK4_EPUB)).toMatchObject({ progress: '/body/DocFragment[5].0', device: 'KOReader' });
  });

  it("a KOReader device with no position yet gets the Kobo's, found by its Source as the Kobo reports it", async () => {
    await app({
      prepare: (files) =>
        execute(
          files.appDb,
          `${readBook4(2, at(1))}
           INSERT INTO kobo_reading_state (user_id, book_id, last_modified, priority_timestamp)
             VALUES (${DAVE_ID}, 4, '${at(1)}', '${at(1)}');
           INSERT INTO kobo_bookmark (kobo_reading_state_id, last_modified, location_source, location_type, location_value,
             progress_percent, content_source_progress_percent)
             VALUES (1, '${at(1)}', '/OEBPS/c2.xhtml#chapter', 'KoboSpan', 'kobo.12.1', 12.5, 48);`,
        ),
    });
    expect(await pull(BOOK4_EPUB)).toEqual({
      document: BOOK4_EPUB,
      progress: '/body/DocFragment[3].0',
      percentage: 0.125,
      device: 'Kobo',
      timestamp: epoch(1),
      ...BOOK4,
    });
  });

  it("maps a KEPUB reader's Source through the KEPUB's spine", async () => {
    await app({ prepare: withKepub, calibreWrites: true });
    await push(BOOK4_KEPUB, '/body/DocFragment[1].0', 0.05);
    koboSynced(4, { source: 'OEBPS/k2.xhtml', percent: 90, at: at(2) });
    expect(await pull(BOOK4_KEPUB)).toMatchObject({ progress: '/body/DocFragment[3].0', percentage: 0.9, device: 'Kobo' });
  });

  it("leaves a PDF's pull, an unmatched document's and every pull with the bridge off as they are", async () => {
    await app();
    await push(BOOK2_PDF, '12', 0.3);
    koboSynced(2, { source: 'OEBPS/c1.xhtml', percent: 55, at: at(2) });
    expect(await pull(BOOK2_PDF)).toMatchObject({ progress: '12', device: 'KOReader' });
    await push(UNKNOWN_DOC, '/body/DocFragment[2].0', 0.3);
    expect(await pull(UNKNOWN_DOC)).toMatchObject({ progress: '/body/DocFragment[2].0', device: 'KOReader' });
    await t!.close();

    t = await testApp();
    await push(BOOK4_EPUB, '/body/DocFragment[5].0', 0.4);
    koboSynced(4, { source: 'OEBPS/c7.xhtml', percent: 63, at: at(3) });
    expect(await pull(BOOK4_EPUB)).toMatchObject({ progress: '/body/DocFragment[5].0', device: 'KOReader' });
  });
});
