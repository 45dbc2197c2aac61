import { afterEach, describe, expect, it, vi } from 'vitest';
import { type HeldLock, holdLock } from '../bench/lock-holder.js';
import { testApp, type TestApp } from './support/app.js';
import { execute } from './support/fixtures.js';
import { BOOK1, BOOK1_EPUB, BOOK1_OLD_EPUB, BOOK2_EPUB, get, json, put } from './support/requests.js';

const NEW_FILE = '00112233445566778899aabbccddeeff';

let t: TestApp | undefined;
let lock: HeldLock | undefined;
afterEach(async () => {
  await lock?.release();
  await t?.close();
  t = lock = undefined;
});

async function pushed(app: TestApp['app'], document: string, percentage: number): Promise<number> {
  const response = await put(app, { document, progress: `p${percentage}`, percentage, device: 'KOReader', device_id: 'DEV1' });
  expect(response.statusCode).toBe(200);
  return (json(response) as { timestamp: number }).timestamp;
}

describe('library matches remembered between pulls', () => {
  it('a checksum CWA moves to another book answers with the new book on the next pull', async () => {
    t = await testApp({ calibreWrites: true });
    const timestamp = await pushed(t.app, BOOK1_EPUB, 0.25);
    expect(json(await get(t.app, BOOK1_EPUB))).toMatchObject({ calibre_book_id: 1, calibre_book_title: 'The Quiet Lighthouse' });

    execute(`${t.files.library!}/metadata.db`, `UPDATE book_format_checksums SET book = 2 WHERE checksum = '${BOOK1_EPUB}'`);

    expect(json(await get(t.app, BOOK1_EPUB))).toEqual({
      document: BOOK1_EPUB,
      progress: 'p0.25',
      percentage: 0.25,
      device: 'KOReader',
      device_id: 'DEV1',
      timestamp,
      calibre_book_id: 2,
      calibre_book_title: 'Gears of the Clockwork City',
      calibre_book_format: 'EPUB',
      calibre_checksum_version: 'koreader',
    });
  });

  it('a file CWA adds to a book matches it and shares its progress on the next pull', async () => {
    t = await testApp({ calibreWrites: true });
    const timestamp = await pushed(t.app, BOOK1_OLD_EPUB, 0.5);
    expect(json(await get(t.app, BOOK1_EPUB))).toMatchObject({ progress: 'p0.5', calibre_book_id: 1 });
    expect(json(await get(t.app, NEW_FILE))).toEqual({});

    execute(
      `${t.files.library!}/metadata.db`,
      `INSERT INTO book_format_checksums (book, format, checksum, version, created)
       VALUES (1, 'EPUB', '${NEW_FILE}', 'koreader', '2026-11-28T16:00:00.000000+00:00')`,
    );

    expect(json(await get(t.app, NEW_FILE))).toEqual({
      document: NEW_FILE,
      progress: 'p0.5',
      percentage: 0.5,
      device: 'KOReader',
      device_id: 'DEV1',
      timestamp,
      calibre_book_id: 1,
      calibre_book_title: 'The Quiet Lighthouse',
      calibre_book_format: 'EPUB',
      calibre_checksum_version: 'koreader',
    });
  });

  it('a book removed from a format’s files stops sharing progress on the next pull', async () => {
    t = await testApp({ calibreWrites: true });
    await pushed(t.app, BOOK2_EPUB, 0.75);
    await pushed(t.app, BOOK1_OLD_EPUB, 0.5);
    expect(json(await get(t.app, BOOK1_EPUB))).toMatchObject({ progress: 'p0.5' });

    execute(`${t.files.library!}/metadata.db`, `UPDATE book_format_checksums SET book = 2 WHERE checksum = '${BOOK1_OLD_EPUB}'`);

    expect(json(await get(t.app, BOOK1_EPUB))).toEqual({});
    expect(json(await get(t.app, BOOK2_EPUB))).toMatchObject({ progress: 'p0.5', calibre_book_id: 2 });
  });

  it("never remembers a match made from KOReader's metadata: until its alias is recorded, a pull without it matches nothing", async () => {
    t = await testApp();
    await t.app.ready();
    await t.library!.scanner.idle();
    const alias = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    // The alias waits for the state DB another process holds.
    lock = await holdLock(t.files.stateDb, 'exclusive', { touch: 'UPDATE library_files SET path = path', releaseAfterMs: 20_000 });
    const pushed = await put(t.app, {
      document: alias,
      progress: 'p1',
      percentage: 0.3,
      device: 'KOReader',
      metadata: { title: 'The Quiet Lighthouse', authors: 'Mara Ellison' },
    });
    expect(json(pushed)).toMatchObject(BOOK1);
    const unmatched = json(await get(t.app, alias));
    expect(unmatched).toMatchObject({ document: alias, progress: 'p1' });
    expect(unmatched).not.toHaveProperty('calibre_book_id');

    await lock.release();
    await vi.waitFor(() => expect(t!.databases.stateDb.deferredWrites).toBe(0), { timeout: 10_000 });
    expect(json(await get(t.app, alias))).toMatchObject({ document: alias, progress: 'p1', ...BOOK1 });
  });
});
