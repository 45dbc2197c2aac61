import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../src/clock.js';
import { writeCalibreDb } from '../src/db/calibre-writer.js';
import { markRead } from '../src/repos/read-column.js';
import { storedAt as at, SECOND, type TestAppOptions, testApp, type TestApp } from './support/app.js';
import { cli } from './support/cli.js';
import { copyFixtures, execute, type FixtureCopy, query } from './support/fixtures.js';
import { fileHash } from './support/metadata-guard.js';
import { freePort } from './support/ports.js';
import { BOOK1, BOOK1_EPUB, BOOK2_EPUB, BOOK5_EPUB, json, put } from './support/requests.js';

const READ_COLUMN = { KOSYNC_READ_COLUMN: 'true' };
/** custom_column_1 of the fixture library calibre-readcol: book 5 is read. */
const BOOK5_READ = { id: 1, book: 5, value: 1 };

let t: TestApp | undefined;
const copies: FixtureCopy[] = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  for (const copy of copies.splice(0)) copy.remove();
});

/** The server on app-readcol.db (config_read_column 1) and the library with the yes/no column #read, matched by its own index. */
async function app(options: TestAppOptions = {}): Promise<TestApp> {
  t = await testApp({ app: 'app-readcol.db', library: 'calibre-readcol', env: READ_COLUMN, calibreWrites: true, ...options });
  await t.app.ready();
  await t.library!.scanner.idle();
  return t;
}

const metadataDb = () => join(t!.files.library!, 'metadata.db');
const readColumn = () => query(metadataDb(), 'SELECT * FROM custom_column_1 ORDER BY id');
const push = (document: string, percentage: number) =>
  put(t!.app, { document, progress: `/body/DocFragment[1].${percentage}`, percentage, device: 'KOReader' });

/** Every row of every table of metadata.db but `except`, as calibre would read them. */
function tablesBut(except: string[]): Record<string, string[]> {
  const tables = query<{ name: string }>(metadataDb(), `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`);
  return Object.fromEntries(
    tables
      .filter(({ name }) => !except.includes(name))
      .map(({ name }) => [
        name,
        query(metadataDb(), `SELECT * FROM "${name}"`)
          .map((row) => JSON.stringify(row))
          .sort(),
      ]),
  );
}

describe("Calibre's Read column (docs/PROTOCOL.md §7.2)", () => {
  it('a finished push marks the book read in the column config_read_column names, and nothing else of metadata.db changes', async () => {
    await app();
    const before = tablesBut(['custom_column_1', 'sqlite_sequence']);
    const response = await push(BOOK1_EPUB, 1);
    expect(response.statusCode).toBe(200);
    expect(json(response)).toMatchObject(BOOK1);
    expect(readColumn()).toEqual([BOOK5_READ, { id: 2, book: 1, value: 1 }]);
    expect(tablesBut(['custom_column_1', 'sqlite_sequence'])).toEqual(before);
    expect(query(metadataDb(), `SELECT * FROM sqlite_sequence WHERE name = 'custom_column_1'`)).toEqual([
      { name: 'custom_column_1', seq: 2 },
    ]);
    expect(query(metadataDb(), 'PRAGMA journal_mode')).toEqual([{ journal_mode: 'delete' }]);
  });

  it('a push at 40 % changes nothing: metadata.db stays byte-identical', async () => {
    await app();
    const before = fileHash(metadataDb());
    expect((await push(BOOK1_EPUB, 0.4)).statusCode).toBe(200);
    expect(fileHash(metadataDb())).toBe(before);
  });

  it('book 5 stays read: a 10 % push leaves it, and a finished push finds it read and writes nothing', async () => {
    await app();
    const before = fileHash(metadataDb());
    await push(BOOK5_EPUB, 0.1);
    t!.clock.advance(SECOND);
    await push(BOOK5_EPUB, 1);
    expect(readColumn()).toEqual([BOOK5_READ]);
    expect(fileHash(metadataDb())).toBe(before);
  });

  it('is never cleared: a book finished and then started again keeps "read"', async () => {
    await app();
    await push(BOOK2_EPUB, 0.995);
    t!.clock.advance(SECOND);
    await push(BOOK2_EPUB, 0.2);
    expect(readColumn()).toEqual([BOOK5_READ, { id: 2, book: 2, value: 1 }]);
  });

  it('with the option off, a finished push leaves metadata.db byte-identical', async () => {
    t = await testApp({ app: 'app-readcol.db', library: 'calibre-readcol' });
    await t.app.ready();
    await t.library!.scanner.idle();
    const before = fileHash(metadataDb());
    expect((await push(BOOK1_EPUB, 1)).statusCode).toBe(200);
    expect(fileHash(metadataDb())).toBe(before);
    expect(fileHash(metadataDb())).toBe(fileHash(join(new URL('fixtures/calibre-readcol/', import.meta.url).pathname, 'metadata.db')));
  });

  it('writes nothing while Calibre-Web keeps read status in book_read_link (config_read_column 0), follows a change at once', async () => {
    await app({ app: 'app.db' });
    const before = fileHash(metadataDb());
    await push(BOOK1_EPUB, 1);
    expect(fileHash(metadataDb())).toBe(before);
    // The admin links read status to the column in Calibre-Web: the next finished push uses it, without a restart.
    execute(t!.files.appDb, 'UPDATE settings SET config_read_column = 1');
    t!.clock.advance(SECOND);
    await push(BOOK2_EPUB, 1);
    expect(readColumn()).toEqual([BOOK5_READ, { id: 2, book: 2, value: 1 }]);
  });

  it.each([
    [
      'a column that is not yes/no',
      `UPDATE custom_columns SET datatype = 'int'`,
      'custom column 1 (#read, "Read") is a int column, not yes/no',
    ],
    [
      'a column marked for deletion',
      'UPDATE custom_columns SET mark_for_delete = 1',
      'custom column 1 (#read, "Read") is marked for deletion in calibre',
    ],
    ['no such column', 'DELETE FROM custom_columns', 'config_read_column names custom column 1, which metadata.db does not have'],
  ])('%s is not written, and the log says why; the push is answered as usual', async (_what, change, problem) => {
    const lines: string[] = [];
    await app({
      env: { ...READ_COLUMN, KOSYNC_LOG_LEVEL: 'warn' },
      logStream: { write: (line) => lines.push(line) },
      prepare: (files) => execute(join(files.library!, 'metadata.db'), change),
    });
    const before = fileHash(metadataDb());
    expect((await push(BOOK1_EPUB, 1)).statusCode).toBe(200);
    expect(fileHash(metadataDb())).toBe(before);
    expect(lines.map((line) => JSON.parse(line).msg)).toContain(`Calibre's read column not updated: ${problem}`);
  });

  it('waits between event-loop turns while calibre holds metadata.db, and writes once it is free', async () => {
    const lines: string[] = [];
    await app({ env: { ...READ_COLUMN, KOSYNC_LOG_LEVEL: 'debug' }, logStream: { write: (line) => lines.push(line) } });
    const calibre = new Database(metadataDb());
    calibre.exec('BEGIN IMMEDIATE');
    const pushed = push(BOOK1_EPUB, 1);
    while (!lines.some((line) => line.includes('is locked by another process; waiting to mark the book read'))) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    // The event loop is free meanwhile: another reader is answered while the push waits.
    expect((await push(BOOK2_EPUB, 0.3)).statusCode).toBe(200);
    expect(readColumn()).toEqual([BOOK5_READ]);
    calibre.exec('COMMIT');
    calibre.close();
    expect((await pushed).statusCode).toBe(200);
    expect(readColumn()).toEqual([BOOK5_READ, { id: 2, book: 1, value: 1 }]);
  });

  it('a lock held past the budget leaves the column and answers the push 200, the progress kept', async () => {
    const lines: string[] = [];
    await app({
      env: { ...READ_COLUMN, KOSYNC_LOCK_WAIT_MS: '200', KOSYNC_LOG_LEVEL: 'warn' },
      logStream: { write: (line) => lines.push(line) },
    });
    const calibre = new Database(metadataDb());
    calibre.exec('BEGIN IMMEDIATE');
    try {
      expect((await push(BOOK1_EPUB, 1)).statusCode).toBe(200);
    } finally {
      calibre.exec('ROLLBACK');
      calibre.close();
    }
    expect(readColumn()).toEqual([BOOK5_READ]);
    expect(query(t!.files.appDb, 'SELECT document, percentage, timestamp FROM kosync_progress')).toEqual([
      { document: BOOK1_EPUB, percentage: 100, timestamp: at(0) },
    ]);
    expect(lines.map((line) => JSON.parse(line))).toContainEqual(
      expect.objectContaining({ msg: "Calibre's read column not updated", err: expect.objectContaining({ type: 'DatabaseBusy' }) }),
    );
  });

  it("goes through calibre's triggers: a book not in `books` is refused and nothing is written", async () => {
    await app();
    const before = fileHash(metadataDb());
    const column = { id: 1, label: 'read', name: 'Read' };
    const write = writeCalibreDb(metadataDb(), (conn) => markRead(conn, column, 999), { lockWaitMs: 0, clock: systemClock });
    await expect(write).rejects.toThrow('Foreign key violation: book not in books');
    expect(fileHash(metadataDb())).toBe(before);
  });

  it("keeps the server's own metadata.db connection read-only", async () => {
    await app();
    await push(BOOK1_EPUB, 1);
    const raw = t!.databases.calibreDb!.conn.raw;
    expect(raw.readonly).toBe(true);
    expect(raw.pragma('query_only', { simple: true })).toBe(1);
  });
});

describe('doctor and the Read column', () => {
  const doctor = async (copy: FixtureCopy, readColumnOn: boolean) => {
    copies.push(copy);
    const port = String(await freePort());
    const flags = ['--app-db', copy.appDb, '--library', copy.library!, '--port', port, ...(readColumnOn ? ['--read-column', 'true'] : [])];
    return cli(['doctor', ...flags], {});
  };

  it('reports the column a finished book is marked read in, when the option is on', async () => {
    const copy = copyFixtures({ app: 'app-readcol.db', library: 'calibre-readcol' });
    const on = await doctor(copy, true);
    expect(on.code).toBe(0);
    expect(on.stdout).toContain(
      `  ok    KOSYNC_READ_COLUMN: a book finished in KOReader is marked read in Calibre's column #read ("Read", ` +
        `table custom_column_1) of ${join(copy.library!, 'metadata.db')}, for every user of the library\n`,
    );
    expect((await doctor(copy, false)).stdout).not.toContain('KOSYNC_READ_COLUMN');
  });

  it('says when Calibre-Web keeps read status in its own table, and warns of a column it cannot write', async () => {
    const plain = await doctor(copyFixtures({ app: 'app.db', library: 'calibre-readcol' }), true);
    expect(plain.stdout).toContain(
      '  note  KOSYNC_READ_COLUMN is on, but Calibre-Web keeps read status in its own table (no Calibre column is linked to read status ' +
        'in its UI configuration): metadata.db is not written\n',
    );
    const copy = copyFixtures({ app: 'app-readcol.db', library: 'calibre', calibreWrites: true });
    const missing = await doctor(copy, true);
    expect(missing.code).toBe(0);
    expect(missing.stdout).toContain(
      '  WARN  KOSYNC_READ_COLUMN: config_read_column names custom column 1, which metadata.db does not have; ' +
        'nothing is written to metadata.db\n',
    );
  });
});
