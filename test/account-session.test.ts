import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { testApp, type TestApp } from './support/app.js';
import { DAVE_ID, execute, query } from './support/fixtures.js';
import { BOOK1_EPUB, json, put, UNAUTHORIZED } from './support/requests.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

async function app(env: Record<string, string> = {}) {
  t = await testApp({ env });
  return t;
}

function signIn(password = 'oldtimer', headers: Record<string, string> = {}) {
  return t!.app.inject({
    method: 'POST',
    url: '/kosync/signin',
    headers: { ...FORM, ...headers },
    payload: `username=dave&password=${password}`,
  });
}

/** The `name=value` of the answer's session cookie, to send back. */
function cookieOf(response: LightMyRequestResponse): string {
  const header = String(response.headers['set-cookie']);
  return header.slice(0, header.indexOf(';'));
}

const documents = (cookie: string, headers: Record<string, string> = {}) =>
  t!.app.inject({ method: 'GET', url: '/kosync/api/v1/documents', headers: { cookie, ...headers } });

describe('signing in on the page (docs/PROTOCOL.md §9.4)', () => {
  it('starts a session: a signed, HttpOnly, SameSite=Strict cookie for BASE that expires, then a 303 back to the page', async () => {
    await app();
    const answer = await signIn();
    expect(answer.statusCode).toBe(303);
    expect(answer.headers.location).toBe('./');
    expect(answer.headers['set-cookie']).toMatch(
      /^kosync_session=[\w-]{43}\.[\w+/-]+; Max-Age=2592000; Path=\/kosync; HttpOnly; SameSite=Strict$/,
    );
    expect(query(t!.files.stateDb, 'SELECT user_id, created_at, expires_at FROM sessions')).toEqual([
      { user_id: DAVE_ID, created_at: '2026-11-28 15:21:55.781869', expires_at: '2026-12-28 15:21:55.781869' },
    ]);
    const page = await t!.app.inject({ method: 'GET', url: '/kosync', headers: { cookie: cookieOf(answer) } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Signed in as <strong>dave</strong>');
    expect(page.body).not.toContain('<button type="submit">Sign in</button>');
    expect(page.body).not.toContain('<script');
  });

  it('marks the cookie Secure when the request came over https through a trusted proxy, and keeps KOSYNC_SESSION_DAYS', async () => {
    await app({ KOSYNC_TRUST_PROXY: 'true', KOSYNC_SESSION_DAYS: '1' });
    const answer = await signIn('oldtimer', { 'x-forwarded-proto': 'https' });
    expect(answer.headers['set-cookie']).toMatch(/; Max-Age=86400; Path=\/kosync; HttpOnly; Secure; SameSite=Strict$/);
  });

  it('refuses a wrong password with the page (403) and no cookie, a cross-site form with 403', async () => {
    await app();
    const wrong = await signIn('nope');
    expect(wrong.statusCode).toBe(403);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect(wrong.body).toContain('Wrong username or password.');
    const crossSite = await signIn('oldtimer', { origin: 'https://evil.example' });
    expect(crossSite.statusCode).toBe(403);
    expect(crossSite.headers['set-cookie']).toBeUndefined();
    expect(query(t!.files.stateDb, 'SELECT * FROM sessions')).toEqual([]);
  });

  it('ends at sign-out: the row is deleted, the cookie cleared, and the old cookie no longer signs in', async () => {
    await app();
    const cookie = cookieOf(await signIn());
    expect((await documents(cookie)).statusCode).toBe(200);
    const out = await t!.app.inject({
      method: 'POST',
      url: '/kosync/signout',
      headers: { ...FORM, cookie, 'sec-fetch-site': 'same-origin' },
    });
    expect(out.statusCode).toBe(303);
    expect(out.headers['set-cookie']).toBe(
      'kosync_session=; Max-Age=0; Path=/kosync; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict',
    );
    expect(query(t!.files.stateDb, 'SELECT * FROM sessions')).toEqual([]);
    const after = await documents(cookie);
    expect([after.statusCode, json(after)]).toEqual([401, UNAUTHORIZED]);
  });

  it('ends when the Calibre-Web password hash changes, and at its expiry', async () => {
    await app();
    const cookie = cookieOf(await signIn());
    execute(t!.files.appDb, `UPDATE user SET password = password || 'x' WHERE id = ${DAVE_ID}`);
    expect((await documents(cookie)).statusCode).toBe(401);
    execute(t!.files.appDb, `UPDATE user SET password = substr(password, 1, length(password) - 1) WHERE id = ${DAVE_ID}`);
    expect((await documents(cookie)).statusCode).toBe(200);
    t!.clock.advance(30 * 24 * 3600 * 1_000_000);
    expect((await documents(cookie)).statusCode).toBe(401);
  });

  it('refuses a cookie whose signature does not hold', async () => {
    await app();
    const cookie = cookieOf(await signIn());
    const forged = `${cookie.slice(0, 20)}${cookie[20] === 'A' ? 'B' : 'A'}${cookie.slice(21)}`;
    expect((await documents(forged)).statusCode).toBe(401);
  });

  it('survives a restart: the signing key is kept in the state DB', async () => {
    await app();
    const cookie = cookieOf(await signIn());
    await t!.app.close();
    const config = loadConfig({
      KOSYNC_APP_DB: t!.files.appDb,
      KOSYNC_STATE_DB: t!.files.stateDb,
      KOSYNC_LIBRARY: t!.files.library!,
      KOSYNC_LOG_LEVEL: 'silent',
    });
    const restarted = await buildApp(config, { databases: t!.databases, clock: t!.clock, padFailedLogins: false });
    try {
      const answer = await restarted.inject({ method: 'GET', url: '/kosync/api/v1/documents', headers: { cookie } });
      expect(answer.statusCode).toBe(200);
    } finally {
      await restarted.close();
    }
  });
});

describe('the account API with the session cookie', () => {
  it('reads with the cookie alone, and refuses a write from another site (403 code 2003) while the same site may write', async () => {
    await app();
    await put(t!.app, { document: BOOK1_EPUB, progress: 'p', percentage: 0.1, device: 'Kobo' });
    const cookie = cookieOf(await signIn());
    expect(json(await documents(cookie))).toMatchObject({ documents: [{ document: BOOK1_EPUB, percentage: 0.1 }] });
    const write = (headers: Record<string, string>) =>
      t!.app.inject({
        method: 'PUT',
        url: `/kosync/api/v1/documents/${BOOK1_EPUB}/book`,
        headers: { cookie, 'content-type': 'application/json', ...headers },
        payload: JSON.stringify({ book_id: 2 }),
      });
    const crossSites: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
      { referer: 'https://evil.example/x' },
    ];
    for (const crossSite of crossSites) {
      const refused = await write(crossSite);
      expect([refused.statusCode, json(refused)]).toEqual([403, { code: 2003, message: 'Cross-site request refused' }]);
    }
    expect(query(t!.files.stateDb, 'SELECT * FROM document_links')).toEqual([]);
    expect((await write({ 'sec-fetch-site': 'same-origin' })).statusCode).toBe(200);
    expect(query(t!.files.stateDb, 'SELECT user_id, book_id FROM document_links')).toEqual([{ user_id: DAVE_ID, book_id: 2 }]);
  });
});
