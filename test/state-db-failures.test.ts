import { closeSync, openSync, writeSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { holdLock, type HeldLock } from '../bench/lock-holder.js';
import { main } from '../src/cli/main.js';
import { loadConfig } from '../src/config.js';
import { openDatabases } from '../src/databases.js';
import { StartupError } from '../src/db/startup-error.js';
import { basic, testApp, type TestApp } from './support/app.js';
import { copyFixtures, query } from './support/fixtures.js';
import { enable, keyHeaders, md5 } from './support/keys.js';
import { BOOK1, DAVE, ERIN, get, healthcheck, json, put, signIn, UNKNOWN_DOC } from './support/requests.js';

const NOW = '2026-11-28 15:21:55.781869';
const ADMIN = basic('admin', 'admin123');
const ALIAS = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';

let t: TestApp | undefined;
let lock: HeldLock | undefined;
let logLines: { level: number; msg: string }[] = [];
afterEach(async () => {
  await lock?.release();
  await t?.close();
  lock = t = undefined;
  logLines = [];
});

/** The waits below prove a duration: that a write outlasts the 2 s SQLite itself used to wait, and still succeeds. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const stateRows = (sql: string) => query(t!.files.stateDb, sql);

/** Waits (bounded) for the writes the server deferred while the state DB was locked. */
async function deferredWritesDone(): Promise<void> {
  // Keys recorded after a login are deferred only once their verifier is made (bcrypt, in the background).
  await t!.app.kosync.syncKeys.settled();
  await vi.waitFor(() => expect(t!.databases.stateDb.deferredWrites).toBe(0), { timeout: 5_000 });
}

describe('the state database locked by another process (kosync.db, BEGIN EXCLUSIVE)', () => {
  it(
    'answers pulls, pushes and logins that write to it without waiting for the lock, ' + 'and records those writes once it is free',
    async () => {
      t = await testApp({
        library: 'calibre',
        // Three first logins at once from one address: more than the default share of the verification queue.
        env: { KOSYNC_LOG_LEVEL: 'info', KOSYNC_VERIFY_PER_ADDRESS: '4' },
        logStream: { write: (line) => void logLines.push(JSON.parse(line) as { level: number; msg: string }) },
      });
      await t.app.ready();
      await t.library!.scanner.idle();
      expect((await enable(t.app, 'dave', 'oldtimer')).statusCode).toBe(200);

      // Held for at most 10 s: on a server that waits 2 s in SQLite per state write, these 20 requests
      // (7 of them write the state DB) would still be running when it lets go by itself.
      lock = await holdLock(t.files.stateDb, 'exclusive', { touch: 'UPDATE sync_keys SET user_name = user_name', releaseAfterMs: 10_000 });
      const requests: [string, Promise<LightMyRequestResponse>][] = [
        // First logins record the stock-KOReader key of the user.
        ['erin logs in', signIn(t.app, ERIN)],
        ['admin logs in', signIn(t.app, ADMIN)],
        // A key login records when the key was last used.
        ['dave logs in with his key', signIn(t.app, keyHeaders('dave', md5('oldtimer')))],
        // Matched by KOReader's metadata: recorded as an alias.
        [
          'dave pushes a document known by its metadata',
          put(t.app, {
            document: ALIAS,
            progress: 'p1',
            percentage: 0.3,
            device: 'KOReader',
            metadata: { title: 'The Quiet Lighthouse', authors: 'Mara Ellison' },
          }),
        ],
      ];
      for (let i = 0; i < 8; i++)
        requests.push([`dave pushes ${i}`, put(t.app, { document: UNKNOWN_DOC, progress: `p${i}`, percentage: 0.5, device: 'KOReader' })]);
      for (let i = 0; i < 8; i++) requests.push([`dave pulls ${i}`, get(t.app, UNKNOWN_DOC, DAVE)]);
      const answers = await Promise.all(requests.map(async ([name, request]) => [name, (await request).statusCode] as const));

      expect(lock.released).toBe(false);
      expect(answers).toEqual(requests.map(([name]) => [name, 200]));
      expect(
        json(
          await put(t.app, {
            document: ALIAS,
            progress: 'p2',
            percentage: 0.3,
            device: 'KOReader',
            metadata: { title: 'The Quiet Lighthouse', authors: 'Mara Ellison' },
          }),
        ),
      ).toMatchObject(BOOK1);
      // Nothing of it is in the state DB yet.
      expect(stateRows(`SELECT user_id, last_used_at FROM sync_keys ORDER BY user_id`)).toEqual([{ user_id: 6, last_used_at: null }]);
      expect(stateRows(`SELECT document FROM document_ids WHERE method = 'metadata'`)).toEqual([]);
      // The keys of erin's and admin's logins are made in the background (bcrypt); all wait for the lock.
      await t.app.kosync.syncKeys.settled();

      await lock.release();
      lock = undefined;
      await deferredWritesDone();
      expect(stateRows(`SELECT user_id, user_name, last_used_at FROM sync_keys ORDER BY user_id`)).toEqual([
        { user_id: 1, user_name: 'admin', last_used_at: null },
        { user_id: 6, user_name: 'dave', last_used_at: NOW },
        { user_id: 7, user_name: 'erin', last_used_at: null },
      ]);
      expect(stateRows(`SELECT user_id, document, book_id, format FROM document_ids WHERE method = 'metadata'`)).toEqual([
        { user_id: 6, document: ALIAS, book_id: 1, format: 'EPUB' },
      ]);
      // The key recorded after erin's login while the state DB was locked works.
      const erinKey = await signIn(t.app, keyHeaders('erin', md5('legacy')));
      expect(erinKey.statusCode).toBe(200);
      const said = logLines.map((l) => l.msg);
      expect(said).toContain(`state database locked by another process: ${t.files.stateDb}; writes are deferred until it is free`);
      // The eight pushes of a document nothing matches are explained once, and kept once.
      expect(stateRows('SELECT user_id, document, reason FROM unmatched_documents')).toEqual([
        { user_id: 6, document: UNKNOWN_DOC, reason: 'metadata-absent' },
      ]);
      // Every accepted push is kept in the history too (docs/PROTOCOL.md §9.1): the ten pushes waited with the
      // rest, those one group commit answered as one write (the nine sent at once, then the last).
      expect(stateRows('SELECT COUNT(*) AS entries FROM progress_history')).toEqual([{ entries: 10 }]);
      expect(said.filter((m) => m.startsWith('state database free again'))).toEqual([
        'state database free again: 7 deferred write(s) done',
      ]);
    },
  );

  it('enables a key on the page once a lock held past 2 s is gone, answering other requests while it waits', async () => {
    t = await testApp({ library: null });
    // bcrypt loaded and warm, so dave's verifier below is made in a few milliseconds.
    expect((await enable(t.app, 'erin', 'legacy')).statusCode).toBe(200);
    lock = await holdLock(t.files.stateDb, 'exclusive', { touch: 'UPDATE sync_keys SET user_name = user_name', releaseAfterMs: 15_000 });
    const enabling = enable(t.app, 'dave', 'oldtimer');
    // Past twice SQLite's own 2 s wait of old: the write waits for the lock, within its 10 s.
    await sleep(5000);
    const meanwhile = await signIn(t.app, DAVE);
    expect(meanwhile.statusCode).toBe(200);
    expect(lock.released).toBe(false);
    expect(stateRows('SELECT user_id FROM sync_keys')).toEqual([{ user_id: 7 }]);
    await lock.release();
    lock = undefined;
    expect((await enabling).statusCode).toBe(200);
    expect(stateRows('SELECT user_id FROM sync_keys ORDER BY user_id')).toEqual([{ user_id: 6 }, { user_id: 7 }]);
  });

  it('finishes a checksum scan whose batch waited for the lock, answering requests meanwhile', async () => {
    t = await testApp({ library: 'calibre', calibreWrites: true });
    lock = await holdLock(t.files.stateDb, 'exclusive', { touch: 'UPDATE sync_keys SET user_name = user_name', releaseAfterMs: 15_000 });
    const scanning = t.library!.scanner.scan();
    // Past SQLite's own 2 s wait of old: the scan's batch waits for the lock, within its 5 s.
    await sleep(2500);
    expect((await healthcheck(t.app)).statusCode).toBe(200);
    expect(lock.released).toBe(false);
    expect(stateRows('SELECT count(*) AS n FROM library_files')).toEqual([{ n: 0 }]);
    await lock.release();
    lock = undefined;
    expect(await scanning).toMatchObject({ files: 6, hashed: 6, failed: 0 });
    expect(stateRows('SELECT count(*) AS n FROM library_files')).toEqual([{ n: 6 }]);
  });

  it('records a deferred write dropped at shutdown in the log, and never stalls the stop', async () => {
    t = await testApp({
      library: null,
      env: { KOSYNC_LOG_LEVEL: 'info' },
      logStream: { write: (line) => void logLines.push(JSON.parse(line) as { level: number; msg: string }) },
    });
    lock = await holdLock(t.files.stateDb, 'exclusive', { touch: 'UPDATE sync_keys SET user_name = user_name', releaseAfterMs: 10_000 });
    expect((await signIn(t.app, ERIN)).statusCode).toBe(200);
    await t.app.close();
    t.databases.close();
    expect(lock.released).toBe(false);
    expect(logLines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
      'state database: not recorded: recording a KOReader sync key after a login (1)',
    ]);
    await lock.release();
    lock = undefined;
    t.files.remove();
    t = undefined;
  });
});

describe('a state database with damaged pages', () => {
  /** A state DB with keys and a full checksum index, then garbage written over the index's first page. */
  function damagedStateDb() {
    const files = copyFixtures({ library: 'calibre' });
    const config = loadConfig({
      KOSYNC_APP_DB: files.appDb,
      KOSYNC_STATE_DB: files.stateDb,
      KOSYNC_LIBRARY: files.library!,
      KOSYNC_LOG_LEVEL: 'silent',
    });
    const databases = openDatabases(config, { warn: () => {} });
    databases.stateDb.conn.raw.exec(
      'INSERT INTO sync_keys (user_id, user_name, verifier, password_fingerprint, created_at, updated_at) ' +
        `VALUES (6, 'dave', 'v', 'f', '${NOW}', '${NOW}')`,
    );
    databases.stateDb.conn.raw.exec(
      'INSERT INTO document_ids (document, book_id, format, method, detail, first_seen, last_seen) ' +
        'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) ' +
        `SELECT hex(randomblob(16)), i, 'EPUB', 'binary', NULL, '${NOW}', '${NOW}' FROM n`,
    );
    databases.close();
    const raw = new Database(files.stateDb);
    const pageSize = raw.pragma('page_size', { simple: true }) as number;
    const root = (raw.prepare(`SELECT rootpage FROM sqlite_master WHERE name = 'document_ids'`).get() as { rootpage: number }).rootpage;
    raw.close();
    const fd = openSync(files.stateDb, 'r+');
    writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, (root - 1) * pageSize);
    closeSync(fd);
    return { files, config };
  }

  it('refuses to start with an error naming the file, what quick_check found and what to do', () => {
    const { files, config } = damagedStateDb();
    try {
      let thrown: unknown;
      try {
        openDatabases(config, { warn: () => {} }).close();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(StartupError);
      expect((thrown as Error).message).toMatch(
        new RegExp(
          `^state database is damaged: ${files.stateDb.replace(/[.]/g, '\\.')} \\(PRAGMA quick_check: .+\\)\\. ` +
            "It holds only the sidecar's own data: stop the server, " +
            'move the file aside \\(with its -wal and -shm files\\) and start again\\. ' +
            'Users then enable stock KOReader sync again on the page; the checksum index is rebuilt by itself\\.$',
        ),
      );
    } finally {
      files.remove();
    }
  });

  it('makes `serve` exit 1 with that message', async () => {
    const { files } = damagedStateDb();
    try {
      const stderr = new PassThrough();
      let text = '';
      stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      const code = await main({
        argv: ['serve'],
        env: {
          KOSYNC_APP_DB: files.appDb,
          KOSYNC_STATE_DB: files.stateDb,
          KOSYNC_LIBRARY: files.library!,
          KOSYNC_PORT: '0',
          KOSYNC_LOG_LEVEL: 'silent',
        },
        stdout: new PassThrough(),
        stderr,
      });
      expect(code).toBe(1);
      expect(text).toMatch(/^calibre-web-kosync: state database is damaged: .*kosync\.db \(PRAGMA quick_check: /);
    } finally {
      files.remove();
    }
  });
});
