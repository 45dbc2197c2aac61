import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { STATE_MIGRATIONS_DIR, StateDb } from '../src/db/state-db.js';
import { fingerprintOf } from '../src/auth/remembered-logins.js';
import { deleteSyncKey } from '../src/repos/sync-keys.js';
import { basic, testApp, type TestApp } from './support/app.js';
import { copyFixtures, execute, query } from './support/fixtures.js';
import { enable, keyHeaders, md5 } from './support/keys.js';
import { BOOK1_EPUB, DAVE, get, json, put, signIn } from './support/requests.js';

/** erin's hash (password `legacy`): another real Werkzeug hash to give dave as a "new password". */
const ERIN_HASH = 'pbkdf2:sha256:150000$LEqQ4dDh$b0c4e8136cbed8c62e842e2614166971e1c4c4b5b012ea5fd4b74b041ee55265';
const DAVE_KEY = keyHeaders('dave', md5('oldtimer'));
const PUSH = {
  document: BOOK1_EPUB,
  progress: '/body/DocFragment[3]/body/p[2]/text().0',
  percentage: 0.25,
  device: 'Kobo',
  device_id: 'A1',
};
const OUTDATED =
  'Your Calibre-Web password has changed since KOReader sync was enabled. ' +
  'Open http://localhost:80/kosync in a browser and enable it again.';

const RENAMED =
  'Your Calibre-Web account has changed since KOReader sync was enabled. ' +
  'Open http://localhost:80/kosync in a browser and sign in again to enable it.';

const REFUSED =
  'Wrong username or password, or KOReader sync is not enabled for this account yet: ' +
  'sign in once at http://localhost:80/kosync to enable it.';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function auth(app: TestApp['app'], headers: Record<string, string>) {
  return signIn(app, { accept: 'application/vnd.koreader.v1+json', ...headers });
}

function keyRows(t: TestApp) {
  return query<Record<string, unknown>>(t.files.stateDb, 'SELECT user_id, user_name, password_fingerprint, last_used_at FROM sync_keys');
}

describe('stock KOReader keys (x-auth-user / x-auth-key)', () => {
  it('after enabling, md5(password) logs in, pushes and pulls', async () => {
    t = await testApp({ env: { KOSYNC_RECORD_KEYS_ON_LOGIN: 'false' } });
    expect((await enable(t.app, 'dave', 'oldtimer')).statusCode).toBe(200);
    const login = await auth(t.app, DAVE_KEY);
    expect(login.statusCode).toBe(200);
    expect(json(login)).toEqual({ authorized: 'OK' });
    const pushed = await put(t.app, PUSH, DAVE_KEY);
    expect(pushed.statusCode).toBe(200);
    const pulled = await get(t.app, BOOK1_EPUB, DAVE_KEY);
    expect(pulled.statusCode).toBe(200);
    expect(json(pulled)).toMatchObject({
      document: BOOK1_EPUB,
      progress: PUSH.progress,
      percentage: 0.25,
      device: 'Kobo',
      device_id: 'A1',
    });
    expect(keyRows(t)).toEqual([
      { user_id: 6, user_name: 'dave', password_fingerprint: expect.any(String), last_used_at: '2026-11-28 15:21:55.781869' },
    ]);
  });

  it('keeps the plain 401 for a failed Basic login', async () => {
    t = await testApp();
    expect(json(await auth(t.app, basic('dave', 'wrong')))).toEqual({ code: 2001, message: 'Unauthorized' });
  });

  it('compares the key as hex, whatever its case', async () => {
    t = await testApp();
    await enable(t.app, 'dave', 'oldtimer');
    expect((await auth(t.app, keyHeaders('DAVE', md5('oldtimer').toUpperCase()))).statusCode).toBe(200);
  });

  it.each([
    ['a wrong key', keyHeaders('dave', md5('wrong'))],
    ['the password itself instead of its md5', keyHeaders('dave', 'oldtimer')],
    ['an unknown user', keyHeaders('nobody', md5('oldtimer'))],
    ['a user who never enabled it', keyHeaders('erin', md5('legacy'))],
    ['the Guest account', keyHeaders('Guest', md5(''))],
  ])('answers 401/2001 to %s', async (_case, headers) => {
    t = await testApp();
    await enable(t.app, 'dave', 'oldtimer');
    const response = await auth(t.app, headers);
    expect(response.statusCode).toBe(401);
    expect(json(response)).toEqual({ code: 2001, message: REFUSED });
    expect((await put(t.app, PUSH, headers)).statusCode).toBe(401);
  });

  it('stops accepting the key once the Calibre-Web password changes, and says where to enable it again', async () => {
    t = await testApp();
    await enable(t.app, 'dave', 'oldtimer');
    expect((await auth(t.app, DAVE_KEY)).statusCode).toBe(200); // now remembered
    execute(t.files.appDb, `UPDATE user SET password = '${ERIN_HASH}' WHERE id = 6`);
    for (const request of [auth(t.app, DAVE_KEY), put(t.app, PUSH, DAVE_KEY), get(t.app, BOOK1_EPUB, DAVE_KEY)]) {
      const response = await request;
      expect(response.statusCode).toBe(401);
      expect(json(response)).toEqual({ code: 2001, message: OUTDATED });
    }
    // The new password's key is not enabled yet: the answer any unknown key gets.
    expect(json(await auth(t.app, keyHeaders('dave', md5('legacy'))))).toEqual({ code: 2001, message: REFUSED });
  });

  it('after a rename, says the account changed, not the password', async () => {
    t = await testApp();
    await enable(t.app, 'dave', 'oldtimer');
    execute(t.files.appDb, `UPDATE user SET name = 'david' WHERE id = 6`);
    const response = await auth(t.app, keyHeaders('david', md5('oldtimer')));
    expect(response.statusCode).toBe(401);
    expect(json(response)).toEqual({ code: 2001, message: RENAMED });
    // Signing in again under the new name enables it for that name.
    expect((await enable(t.app, 'david', 'oldtimer')).statusCode).toBe(200);
    expect((await auth(t.app, keyHeaders('david', md5('oldtimer')))).statusCode).toBe(200);
  });

  it('ends a remembered key login as soon as the key is revoked', async () => {
    t = await testApp();
    await enable(t.app, 'dave', 'oldtimer');
    expect((await auth(t.app, DAVE_KEY)).statusCode).toBe(200);
    expect(deleteSyncKey(t.databases.stateDb.conn, 6)).toBe(true);
    expect((await auth(t.app, DAVE_KEY)).statusCode).toBe(401);
  });

  it('works for a user name with non-ASCII letters sent as raw UTF-8', async () => {
    t = await testApp();
    execute(
      t.files.appDb,
      `INSERT INTO user (name, email, role, password) SELECT 'zoë', 'zoe@example.org', 0, password FROM user WHERE id = 6`,
    );
    expect((await enable(t.app, 'zoë', 'oldtimer')).body).toContain('KOReader sync enabled for zoë');
    expect((await auth(t.app, keyHeaders('zoë', md5('oldtimer')))).statusCode).toBe(200);
  });
});

describe('recording the key on a successful Basic login', () => {
  it('lets a CWA-plugin user switch to stock KOReader with nothing to do', async () => {
    t = await testApp();
    expect((await auth(t.app, DAVE)).statusCode).toBe(200);
    await t.app.kosync.syncKeys.settled();
    expect(keyRows(t)).toEqual([{ user_id: 6, user_name: 'dave', password_fingerprint: expect.any(String), last_used_at: null }]);
    expect((await auth(t.app, DAVE_KEY)).statusCode).toBe(200);
  });

  it('accepts the key at once, in the very next request after the Basic login that records it', async () => {
    t = await testApp({ env: { KOSYNC_LOGIN_FAILURES_PER_ADDRESS: '1' } });
    expect((await auth(t.app, DAVE)).statusCode).toBe(200);
    const keyLogin = await auth(t.app, DAVE_KEY);
    expect(keyLogin.statusCode).toBe(200);
    expect(json(keyLogin)).toEqual({ authorized: 'OK' });
    // Nothing was counted as a failure: with a limit of one, a wrong password is still checked (401, not 429).
    expect((await auth(t.app, basic('dave', 'wrong'))).statusCode).toBe(401);
  });

  it('records the new key after a password change', async () => {
    t = await testApp();
    await auth(t.app, DAVE);
    await t.app.kosync.syncKeys.settled();
    execute(t.files.appDb, `UPDATE user SET password = '${ERIN_HASH}' WHERE id = 6`);
    expect((await auth(t.app, basic('dave', 'legacy'))).statusCode).toBe(200);
    await t.app.kosync.syncKeys.settled();
    expect(keyRows(t)[0]!.password_fingerprint).toBe(fingerprintOf(ERIN_HASH));
    expect((await auth(t.app, keyHeaders('dave', md5('legacy')))).statusCode).toBe(200);
    expect((await auth(t.app, DAVE_KEY)).statusCode).toBe(401);
  });

  it('records nothing on a failed login, or when KOSYNC_RECORD_KEYS_ON_LOGIN is false', async () => {
    t = await testApp();
    expect((await auth(t.app, basic('dave', 'wrong'))).statusCode).toBe(401);
    await t.app.kosync.syncKeys.settled();
    expect(keyRows(t)).toEqual([]);
    await t.close();
    t = await testApp({ env: { KOSYNC_RECORD_KEYS_ON_LOGIN: 'false' } });
    expect((await auth(t.app, DAVE)).statusCode).toBe(200);
    await t.app.kosync.syncKeys.settled();
    expect(keyRows(t)).toEqual([]);
    expect((await auth(t.app, DAVE_KEY)).statusCode).toBe(401);
  });
});

describe("KOReader's Register", () => {
  it('answers 402/2005 with a message naming the page', async () => {
    t = await testApp();
    const response = await t.app.inject({
      method: 'POST',
      url: '/kosync/users/create',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ username: 'newbie', password: md5('secret') }),
    });
    expect(response.statusCode).toBe(402);
    expect(json(response)).toEqual({
      code: 2005,
      message:
        "Registration is not available: sign in with your Calibre-Web account. To use KOReader's own sync, " +
        'open http://localhost:80/kosync and enable it there.',
    });
  });
});

describe('keys enabled before expiry was recorded (state schema 2)', () => {
  it('count as confirmed when they were last enabled', () => {
    const files = copyFixtures({ library: null });
    try {
      const old = new Database(files.stateDb);
      for (const file of ['001-sync-keys.sql', '002-checksum-index.sql']) old.exec(readFileSync(join(STATE_MIGRATIONS_DIR, file), 'utf8'));
      old.pragma('user_version = 2');
      old.exec(
        "INSERT INTO sync_keys VALUES (6, 'dave', 'verifier', 'fingerprint', " +
          "'2026-01-02 03:04:05.000000', '2026-03-04 05:06:07.000000', NULL)",
      );
      old.close();
      StateDb.open(files.stateDb).close();
      expect(query(files.stateDb, 'SELECT updated_at, confirmed_at FROM sync_keys')).toEqual([
        { updated_at: '2026-03-04 05:06:07.000000', confirmed_at: '2026-03-04 05:06:07.000000' },
      ]);
    } finally {
      files.remove();
    }
  });
});
