import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from './support/app.js';
import { execute } from './support/fixtures.js';
import { md5 } from './support/keys.js';
import { BOOK1, BOOK1_EPUB } from './support/requests.js';

/**
 * Replays stock KOReader's kosync.koplugin over a real socket, request by request as lua-Spore sends
 * them (docs/UPSTREAM.md#koreader-what-the-client-makes-of-answers): lower-case header names, the vendor `accept`, `x-auth-user` as raw
 * UTF-8 bytes, `x-auth-key` = md5(password), `connection: close`, the base URL's path prefix joined to
 * the method path with no trailing slash, JSON bodies in whatever key order dkjson produced.
 */
interface Reply {
  status: number;
  contentType: string | undefined;
  body: unknown;
}

let t: TestApp;
let origin: string;
const BASE = '/books/kosync';
function koreader(method: string, path: string, auth?: { user: string; password: string }, body?: string): Promise<Reply> {
  const url = new URL(origin);
  const headers: Record<string, string> = {
    accept: 'application/vnd.koreader.v1+json',
    'user-agent': 'lua-Spore v0.4.2',
    connection: 'close',
    te: 'trailers',
  };
  if (auth) {
    headers['x-auth-user'] = Buffer.from(auth.user, 'utf8').toString('latin1');
    headers['x-auth-key'] = md5(auth.password);
  }
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path: `${BASE}${path}`, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          contentType: res.headers['content-type'],
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        }),
      );
    });
    req.on('error', reject);
    // A Buffer: with a string body, Node writes the header block in the body's encoding (UTF-8),
    // which would double-encode the raw UTF-8 bytes of x-auth-user.
    req.end(body === undefined ? undefined : Buffer.from(body, 'utf8'));
  });
}

/** The page's form as a browser on this server submits it. */
async function enableInBrowser(username: string, password: string): Promise<number> {
  const response = await fetch(`${origin}${BASE}/enable`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
    body: new URLSearchParams({ username, password }),
  });
  return response.status;
}

beforeAll(async () => {
  t = await testApp({ env: { KOSYNC_BASE_PATH: BASE, KOSYNC_RECORD_KEYS_ON_LOGIN: 'false' } });
  execute(
    t.files.appDb,
    `INSERT INTO user (name, email, role, password) SELECT 'Zoë', 'zoe@example.org', 0, password FROM user WHERE id = 6`,
  );
  origin = await t.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await t?.close();
});

describe('stock KOReader against a real port, base URL with a path prefix', () => {
  it('Register shows the page to visit instead of creating an account', async () => {
    const reply = await koreader('POST', '/users/create', undefined, JSON.stringify({ password: md5('oldtimer'), username: 'dave' }));
    expect(reply).toEqual({
      status: 402,
      contentType: 'application/json',
      body: {
        code: 2005,
        message:
          "Registration is not available: sign in with your Calibre-Web account. To use KOReader's own sync, " +
          `open ${origin}${BASE} and enable it there.`,
      },
    });
  });

  it('Login fails until the key is enabled on the page, then succeeds', async () => {
    const dave = { user: 'dave', password: 'oldtimer' };
    expect(await koreader('GET', '/users/auth', dave)).toEqual({
      status: 401,
      contentType: 'application/json',
      body: {
        code: 2001,
        message:
          'Wrong username or password, or KOReader sync is not enabled for this account yet: ' +
          `sign in once at ${origin}${BASE} to enable it.`,
      },
    });
    expect(await enableInBrowser('dave', 'oldtimer')).toBe(200);
    expect(await koreader('GET', '/users/auth', dave)).toEqual({
      status: 200,
      contentType: 'application/json',
      body: { authorized: 'OK' },
    });
  });

  it('pushes and pulls progress with the key', async () => {
    const dave = { user: 'dave', password: 'oldtimer' };
    const body =
      '{"percentage":0.4567,"device_id":"0F1E2D3C4B5A69788796A5B4C3D2E1F0","progress":"/body/DocFragment[12]/body/div/p[7]/text().123",' +
      `"document":"${BOOK1_EPUB}","device":"Kobo_spaBW"}`;
    const pushed = await koreader('PUT', '/syncs/progress', dave, body);
    expect(pushed.status).toBe(200);
    expect(pushed.contentType).toBe('application/json');
    expect(pushed.body).toEqual({ document: BOOK1_EPUB, timestamp: 1795879315, ...BOOK1 });
    expect(await koreader('GET', `/syncs/progress/${BOOK1_EPUB}`, dave)).toEqual({
      status: 200,
      contentType: 'application/json',
      body: {
        document: BOOK1_EPUB,
        progress: '/body/DocFragment[12]/body/div/p[7]/text().123',
        percentage: 0.4567,
        device: 'Kobo_spaBW',
        device_id: '0F1E2D3C4B5A69788796A5B4C3D2E1F0',
        timestamp: 1795879315,
        ...BOOK1,
      },
    });
    expect(await koreader('GET', '/syncs/progress/0123456789abcdef0123456789abcdef', dave)).toEqual({
      status: 200,
      contentType: 'application/json',
      body: {},
    });
  });

  it('accepts a non-ASCII user name sent as raw UTF-8 bytes', async () => {
    expect(await enableInBrowser('Zoë', 'oldtimer')).toBe(200);
    const zoe = { user: 'zoë', password: 'oldtimer' };
    expect((await koreader('GET', '/users/auth', zoe)).status).toBe(200);
    const body = `{"device":"Kindle","document":"${BOOK1_EPUB}","progress":"12","percentage":0.1,"device_id":"AA"}`;
    expect((await koreader('PUT', '/syncs/progress', zoe, body)).status).toBe(200);
  });
});
