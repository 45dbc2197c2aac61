import { copyFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { KOSYNC_PROGRESS_DDL } from '../src/db/app-db.js';
import { testApp, type TestApp } from './support/app.js';
import { execute, FIXTURES, query } from './support/fixtures.js';
import { DAVE, ERIN, get, healthcheck, json, put, signIn, UNAVAILABLE, UNKNOWN_DOC } from './support/requests.js';

const PUSH = { document: UNKNOWN_DOC, progress: 'p0.5', percentage: 0.5, device: 'KOReader' };

let t: TestApp | undefined;
let logLines: { level: number; msg: string }[] = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  logLines = [];
});

async function start(): Promise<TestApp> {
  t = await testApp({
    library: null,
    env: { KOSYNC_LOG_LEVEL: 'info' },
    logStream: { write: (line) => void logLines.push(JSON.parse(line) as { level: number; msg: string }) },
  });
  return t;
}

/** What AppDb said about the file (not the access lines, nor what others made of a 503). */
const fileMessages = () => logLines.filter((l) => /^(app\.db|not Calibre-Web)/.test(l.msg)).map((l) => [l.level, l.msg]);

/** Puts a changed copy of app.db in its place in one rename, as a restore or sync tool does. */
function replaceAppDb(appDb: string, change: (copy: string) => void): void {
  const copy = join(appDb, '..', 'restored.db');
  copyFileSync(appDb, copy);
  change(copy);
  renameSync(copy, appDb);
}

describe('app.db replaced while the server runs (a restored backup)', () => {
  it('refuses at once a user the new file no longer has, though their login was remembered, and serves the others from it', async () => {
    const t = await start();
    expect((await signIn(t.app, DAVE)).statusCode).toBe(200);
    expect((await signIn(t.app, ERIN)).statusCode).toBe(200);

    replaceAppDb(t.files.appDb, (copy) => execute(copy, `DELETE FROM user WHERE name = 'dave'`));

    const dave = await signIn(t.app, DAVE);
    expect([dave.statusCode, json(dave)]).toEqual([401, { code: 2001, message: 'Unauthorized' }]);
    expect((await put(t.app, PUSH, DAVE)).statusCode).toBe(401);
    const erin = await put(t.app, PUSH, ERIN);
    expect(erin.statusCode).toBe(200);
    // Written to the file now at the path, not to the one that was replaced.
    expect(query(t.files.appDb, 'SELECT user_id, document, progress FROM kosync_progress')).toEqual([
      { user_id: 7, document: UNKNOWN_DOC, progress: 'p0.5' },
    ]);
    expect(fileMessages()).toEqual([
      [40, `app.db was replaced while running: ${t.files.appDb}; opening the new file`],
      [30, `app.db opened again: ${t.files.appDb}`],
    ]);
  });

  it('reads Calibre-Web’s login settings from the new file at once, though its data_version may equal the old one', async () => {
    // kosync_progress made beforehand, so opening commits nothing: the old and the new connection
    // both start at the same data_version.
    t = await testApp({
      library: null,
      env: { KOSYNC_PROXY_HEADER_LOGIN: 'true' },
      prepare: (files) => execute(files.appDb, KOSYNC_PROGRESS_DDL),
    });
    const asAlice = { 'x-remote-user': 'alice' };
    expect((await signIn(t.app, asAlice)).statusCode).toBe(401);

    replaceAppDb(t.files.appDb, (copy) =>
      execute(
        copy,
        "UPDATE settings SET config_allow_reverse_proxy_header_login = 1, config_reverse_proxy_login_header_name = 'X-Remote-User'",
      ),
    );

    const alice = await signIn(t.app, asAlice);
    expect([alice.statusCode, json(alice)]).toEqual([200, { authorized: 'OK' }]);
  });

  it('creates kosync_progress with CWA’s DDL in a restored app.db that lacks it', async () => {
    const t = await start();
    expect((await put(t.app, PUSH, DAVE)).statusCode).toBe(200);
    // The fixture is Calibre-Web's app.db before CWA ever ran: no kosync_progress.
    replaceAppDb(t.files.appDb, (copy) => copyFileSync(join(FIXTURES, 'calibre-web', 'app.db'), copy));
    expect(query(t.files.appDb, `SELECT name FROM sqlite_master WHERE name = 'kosync_progress'`)).toEqual([]);

    const pushed = await put(t.app, { ...PUSH, progress: 'p0.75', percentage: 0.75 }, DAVE);
    expect(pushed.statusCode).toBe(200);
    expect(query(t.files.appDb, `SELECT sql FROM sqlite_master WHERE name = 'kosync_progress'`)).toEqual([{ sql: KOSYNC_PROGRESS_DDL }]);
    expect(query(t.files.appDb, 'SELECT user_id, progress FROM kosync_progress')).toEqual([{ user_id: 6, progress: 'p0.75' }]);
  });

  it('answers 503/1000 while the file at the path is not Calibre-Web’s app.db, and serves again once it is', async () => {
    const t = await start();
    const good = join(t.files.dir, 'good.db');
    copyFileSync(t.files.appDb, good);
    replaceAppDb(t.files.appDb, (copy) => {
      unlinkSync(copy);
      const db = new Database(copy);
      db.exec('CREATE TABLE notes (text TEXT)');
      db.close();
    });

    for (const response of [await put(t.app, PUSH), await get(t.app, UNKNOWN_DOC), await signIn(t.app, DAVE), await healthcheck(t.app)]) {
      expect([response.statusCode, json(response)]).toEqual([503, UNAVAILABLE]);
    }
    const problem =
      `not Calibre-Web's app.db: ${t.files.appDb} has no table ` +
      'user, book_read_link, kobo_reading_state, kobo_bookmark, kobo_statistics';
    // Said once, not once per request; each failed request also logs why it was refused.
    expect(fileMessages().filter(([level]) => level === 40)).toEqual([
      [40, `app.db was replaced while running: ${t.files.appDb}; opening the new file`],
      [40, `${problem}; answering 503 until a usable app.db is there`],
    ]);
    expect(fileMessages().filter(([level]) => level === 50)).toEqual(Array.from({ length: 4 }, () => [50, problem]));

    renameSync(good, t.files.appDb);
    expect([(await healthcheck(t.app)).statusCode, (await put(t.app, PUSH)).statusCode]).toEqual([200, 200]);
  });
});

describe('app.db removed while the server runs', () => {
  it('answers 503/1000 and fails the healthcheck until it is back, then serves from the file put back', async () => {
    const t = await start();
    expect((await put(t.app, PUSH, DAVE)).statusCode).toBe(200);
    const saved = join(t.files.dir, 'saved.db');
    copyFileSync(t.files.appDb, saved);
    unlinkSync(t.files.appDb);

    for (const response of [await put(t.app, PUSH), await get(t.app, UNKNOWN_DOC), await signIn(t.app, ERIN), await healthcheck(t.app)]) {
      expect([response.statusCode, response.headers['content-type'], json(response)]).toEqual([503, 'application/json', UNAVAILABLE]);
    }
    // What needs no app.db still answers.
    expect((await t.app.inject({ method: 'POST', url: '/kosync/users/create' })).statusCode).toBe(402);
    expect((await t.app.inject({ method: 'GET', url: '/kosync' })).statusCode).toBe(200);
    expect(fileMessages().filter(([level]) => level === 40)).toEqual([
      [40, `app.db was removed while running: ${t.files.appDb}; answering 503 until it is back`],
      [40, `app.db not found: ${t.files.appDb}; answering 503 until a usable app.db is there`],
    ]);

    copyFileSync(saved, t.files.appDb);
    const back = await healthcheck(t.app);
    expect([back.statusCode, json(back)]).toEqual([200, { state: 'OK' }]);
    const pushed = await put(t.app, { ...PUSH, progress: 'p0.9', percentage: 0.9 }, DAVE);
    expect(pushed.statusCode).toBe(200);
    expect(query(t.files.appDb, 'SELECT user_id, progress FROM kosync_progress')).toEqual([{ user_id: 6, progress: 'p0.9' }]);
  });
});
