import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { STATE_MIGRATIONS_DIR } from '../src/db/state-db.js';
import { epochAt, testApp, type TestApp } from './support/app.js';
import { DAVE_ID, ERIN_ID, query, tableRows } from './support/fixtures.js';
import { BOOK1, DAVE, ERIN, get, json, put, BOOK3 } from './support/requests.js';

const DOC = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const LIGHTHOUSE = { title: 'The Quiet Lighthouse', authors: 'Mara Ellison' };
const RIVER = { title: 'Über den Fluss', authors: 'Zoë Ångström' };

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function scanned(prepare?: (stateDb: string) => void): Promise<TestApp> {
  t = await testApp({ library: 'calibre', ...(prepare ? { prepare: (files) => prepare(files.stateDb) } : {}) });
  await t.app.ready();
  await t.library!.scanner.idle();
  return t;
}

const push = (headers: Record<string, string>, metadata?: object) =>
  put(t!.app, { document: DOC, progress: 'p', percentage: 0.4, device: 'KOReader', ...(metadata ? { metadata } : {}) }, headers);
const readStatus = () => tableRows(t!.files.appDb, 'book_read_link').map((r) => ({ user_id: r.user_id, book_id: r.book_id }));

describe("aliases learnt from one user's KOReader metadata", () => {
  it("match for that user only: another user's pushes and pulls of the same document stay unmatched", async () => {
    await scanned();
    expect(json(await push(DAVE, LIGHTHOUSE))).toEqual({ document: DOC, timestamp: epochAt(0), ...BOOK1 });
    // dave's pull is matched by his alias (and answered from the uncached chain) before erin asks.
    expect(json(await get(t!.app, DOC, DAVE))).toMatchObject({ document: DOC, ...BOOK1 });
    expect(json(await push(ERIN))).toEqual({ document: DOC, timestamp: epochAt(0) });
    expect(json(await get(t!.app, DOC, ERIN))).toEqual({
      document: DOC,
      progress: 'p',
      percentage: 0.4,
      device: 'KOReader',
      timestamp: epochAt(0),
    });
    expect(json(await get(t!.app, DOC, DAVE))).toMatchObject(BOOK1);
    expect(readStatus()).toEqual([{ user_id: DAVE_ID, book_id: 1 }]);
  });

  it("cannot change another user's match: erin's metadata naming another book moves only erin's read status", async () => {
    await scanned();
    await push(DAVE, LIGHTHOUSE);
    expect(json(await push(ERIN, RIVER))).toEqual({ document: DOC, timestamp: epochAt(0), ...BOOK3 });
    expect(json(await get(t!.app, DOC, ERIN))).toMatchObject(BOOK3);
    expect(json(await get(t!.app, DOC, DAVE))).toMatchObject(BOOK1);
    expect(json(await push(DAVE))).toMatchObject(BOOK1);
    expect(readStatus()).toEqual([
      { user_id: DAVE_ID, book_id: 1 },
      { user_id: ERIN_ID, book_id: 3 },
    ]);
    expect(
      query(t!.files.stateDb, "SELECT user_id, document, book_id, format FROM document_ids WHERE method = 'metadata' ORDER BY user_id"),
    ).toEqual([
      { user_id: DAVE_ID, document: DOC, book_id: 1, format: 'EPUB' },
      { user_id: ERIN_ID, document: DOC, book_id: 3, format: 'EPUB' },
    ]);
  });

  it('share progress across the files of the book for their user alone', async () => {
    await scanned();
    const BOOK1_EPUB = 'e1dbc3a8ba7a76e2bc720bd6815715b0';
    await push(DAVE, LIGHTHOUSE);
    await push(ERIN);
    // The library file's pull finds dave's alias's progress for dave, and nothing of erin's unmatched document.
    expect(json(await get(t!.app, BOOK1_EPUB, DAVE))).toMatchObject({ document: BOOK1_EPUB, progress: 'p', ...BOOK1 });
    expect(json(await get(t!.app, BOOK1_EPUB, ERIN))).toEqual({});
  });

  it('recorded for every user by an earlier version stay as history and no longer match anyone', async () => {
    await scanned((stateDb) => {
      // A state DB at schema 3 with an alias of the old, global kind.
      const db = new Database(stateDb);
      for (const file of ['001-sync-keys.sql', '002-checksum-index.sql', '003-key-confirmation.sql']) {
        db.exec(readFileSync(join(STATE_MIGRATIONS_DIR, file), 'utf8'));
      }
      db.exec(`INSERT INTO document_ids (document, book_id, format, method, detail, first_seen, last_seen)
               VALUES ('${DOC}', 1, 'EPUB', 'metadata', '{}', '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')`);
      db.pragma('user_version = 3');
      db.close();
    });
    expect(json(await push(ERIN))).toEqual({ document: DOC, timestamp: epochAt(0) });
    expect(query(t!.files.stateDb, `SELECT id, document, method FROM document_ids WHERE method = 'metadata'`)).toEqual([
      { id: 1, document: DOC, method: 'metadata' },
    ]);
  });
});
