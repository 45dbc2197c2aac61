import { afterEach, describe, expect, it } from 'vitest';
import { basic, testApp, type TestApp } from './support/app.js';
import { query } from './support/fixtures.js';
import { listenOnLoopback } from './support/ports.js';
import { rawExchange, statusAndBody } from './support/raw-http.js';
import { BOOK1, BOOK1_EPUB, DAVE, get, healthcheck, json, put, signIn } from './support/requests.js';

const PUSH = { document: BOOK1_EPUB, progress: 'p0.5', percentage: 0.5, device: 'KOReader' };
const REGISTRATION_TEXT = (page: string) =>
  `Registration is not available: sign in with your Calibre-Web account. To use KOReader's own sync, open ${page} and enable it there.`;

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function listening(env: Record<string, string> = {}): Promise<number> {
  t = await testApp({ library: null, env });
  return listenOnLoopback(t.app);
}

describe('Cache-Control on JSON answers', () => {
  it('answers the authenticated routes with Cache-Control: no-store, successes and errors alike', async () => {
    t = await testApp();
    const answers = [
      await signIn(t.app, DAVE),
      await put(t.app, PUSH),
      await get(t.app, BOOK1_EPUB),
      await get(t.app, 'never-pushed'),
      await signIn(t.app, basic('dave', 'wrong')),
      await signIn(t.app),
      await put(t.app, { ...PUSH, document: 'a:b' }),
      await put(t.app, { ...PUSH, progress: '' }),
      await get(t.app, 'x'.repeat(256)),
    ];
    expect(answers.map((a) => [a.statusCode, a.headers['content-type'], a.headers['cache-control']])).toEqual([
      [200, 'application/json', 'no-store'],
      [200, 'application/json', 'no-store'],
      [200, 'application/json', 'no-store'],
      [200, 'application/json', 'no-store'],
      [401, 'application/json', 'no-store'],
      [401, 'application/json', 'no-store'],
      [403, 'application/json', 'no-store'],
      [403, 'application/json', 'no-store'],
      [403, 'application/json', 'no-store'],
    ]);
    expect(json(answers[2]!)).toMatchObject({ document: BOOK1_EPUB, progress: 'p0.5', ...BOOK1 });
  });

  it('sends no-store with the healthcheck, registration and unknown-route answers too', async () => {
    t = await testApp();
    const answers = [
      await healthcheck(t.app),
      await t.app.inject({ method: 'POST', url: '/kosync/users/create' }),
      await t.app.inject({ method: 'GET', url: '/kosync/nothing-here' }),
    ];
    expect(answers.map((a) => [a.statusCode, a.headers['cache-control']])).toEqual([
      [200, 'no-store'],
      [402, 'no-store'],
      [404, 'no-store'],
    ]);
  });
});

describe('the server address without a usable Host header', () => {
  it('names the address the client reached in the 402 message of an HTTP/1.0 request without Host', async () => {
    const port = await listening();
    const answer = statusAndBody(await rawExchange(port, 'POST /kosync/users/create HTTP/1.0\r\n\r\n'));
    expect(answer.status).toBe('HTTP/1.1 402 Payment Required');
    expect(JSON.parse(answer.body)).toEqual({ code: 2005, message: REGISTRATION_TEXT(`http://127.0.0.1:${port}/kosync`) });
  });

  it('names it for an empty Host header and for an HTTP/1.1 request without one, instead of a bare 400', async () => {
    const port = await listening();
    const empty = statusAndBody(await rawExchange(port, 'POST /kosync/users/create HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n'));
    const absent = statusAndBody(await rawExchange(port, 'POST /kosync/users/create HTTP/1.1\r\nConnection: close\r\n\r\n'));
    for (const answer of [empty, absent]) {
      expect(answer.status).toBe('HTTP/1.1 402 Payment Required');
      expect(answer.contentType).toBe('application/json');
      expect(JSON.parse(answer.body)).toEqual({ code: 2005, message: REGISTRATION_TEXT(`http://127.0.0.1:${port}/kosync`) });
    }
  });

  it('shows the reached address on the setup page, never http:///kosync', async () => {
    const port = await listening();
    const page = statusAndBody(await rawExchange(port, 'GET /kosync HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n'));
    expect(page.status).toBe('HTTP/1.1 200 OK');
    expect(page.body).toContain(`<span class="url" id="server-url">http://127.0.0.1:${port}/kosync</span>`);
    expect(page.body).not.toContain('http:///');
  });

  it('falls back the same way when a trusted proxy forwards an empty X-Forwarded-Host and Host', async () => {
    const port = await listening({ KOSYNC_TRUST_PROXY: '127.0.0.1' });
    const answer = statusAndBody(
      await rawExchange(
        port,
        'POST /kosync/users/create HTTP/1.1\r\nHost:\r\nX-Forwarded-Host:\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n',
      ),
    );
    expect(JSON.parse(answer.body)).toEqual({ code: 2005, message: REGISTRATION_TEXT(`https://127.0.0.1:${port}/kosync`) });
  });

  it('names the key-login page the same way in the 401 a stock-KOReader login gets', async () => {
    const port = await listening();
    const answer = statusAndBody(
      await rawExchange(
        port,
        'GET /kosync/users/auth HTTP/1.0\r\nx-auth-user: dave\r\nx-auth-key: 0123456789abcdef0123456789abcdef\r\n\r\n',
      ),
    );
    expect(answer.status).toBe('HTTP/1.1 401 Unauthorized');
    expect(JSON.parse(answer.body)).toEqual({
      code: 2001,
      message:
        'Wrong username or password, or KOReader sync is not enabled for this account yet: ' +
        `sign in once at http://127.0.0.1:${port}/kosync to enable it.`,
    });
  });
});

describe('BASE given twice (CWA’s plugin given the full URL appends /kosync again)', () => {
  it('serves every route at BASE/BASE as at BASE', async () => {
    t = await testApp();
    const auth = await t.app.inject({ method: 'GET', url: '/kosync/kosync/users/auth', headers: DAVE });
    expect([auth.statusCode, json(auth)]).toEqual([200, { authorized: 'OK' }]);
    const pushed = await put(t.app, PUSH, DAVE, '/kosync/kosync/syncs/progress');
    expect([pushed.statusCode, json(pushed)]).toEqual([200, { document: BOOK1_EPUB, timestamp: expect.any(Number), ...BOOK1 }]);
    expect(query(t.files.appDb, 'SELECT user_id, document, progress FROM kosync_progress')).toEqual([
      { user_id: 6, document: BOOK1_EPUB, progress: 'p0.5' },
    ]);
    const pulled = await t.app.inject({ method: 'GET', url: `/kosync/kosync/syncs/progress/${BOOK1_EPUB}`, headers: DAVE });
    expect(json(pulled)).toMatchObject({ document: BOOK1_EPUB, progress: 'p0.5', percentage: 0.5 });
    const missing = await t.app.inject({ method: 'GET', url: '/kosync/kosync/syncs/progress/', headers: DAVE });
    expect([missing.statusCode, json(missing)]).toEqual([403, { code: 2004, message: 'Invalid document field' }]);
    const health = await t.app.inject({ method: 'GET', url: '/kosync/kosync/healthcheck' });
    expect([health.statusCode, json(health)]).toEqual([200, { state: 'OK' }]);
    const register = await t.app.inject({ method: 'POST', url: '/kosync/kosync/users/create', headers: { host: 'books.example' } });
    expect([register.statusCode, json(register)]).toEqual([402, { code: 2005, message: REGISTRATION_TEXT('http://books.example/kosync') }]);
    const page = await t.app.inject({ method: 'GET', url: '/kosync/kosync', headers: { host: 'books.example' } });
    expect(page.statusCode).toBe(200);
    // Relative to /kosync/kosync, so the form posts to /kosync/kosync/enable, served like /kosync/enable.
    expect(page.body).toContain('action="kosync/enable"');
    expect((await t.app.inject({ method: 'GET', url: '/kosync/kosync/enable' })).statusCode).toBe(200);
  });

  it('logs the path the client asked for beside the route that answered', async () => {
    const lines: { msg: string; path?: string; route?: string; status?: number }[] = [];
    t = await testApp({
      env: { KOSYNC_LOG_LEVEL: 'info' },
      logStream: { write: (line) => void lines.push(JSON.parse(line) as (typeof lines)[number]) },
    });
    await t.app.inject({ method: 'GET', url: '/kosync/kosync/users/auth?x=1', headers: DAVE });
    expect(lines.filter((l) => l.msg === 'request').map(({ path, route, status }) => ({ path, route, status }))).toEqual([
      { path: '/kosync/kosync/users/auth', route: '/kosync/users/auth', status: 200 },
    ]);
  });

  it('accepts the doubled BASE with repeated slashes, a trailing slash and a query string', async () => {
    t = await testApp();
    for (const url of ['//kosync//kosync/users/auth', '/kosync/kosync/users/auth/', '/kosync/kosync/users/auth?x=1']) {
      const response = await t.app.inject({ method: 'GET', url, headers: DAVE });
      expect([url, response.statusCode, json(response)]).toEqual([url, 200, { authorized: 'OK' }]);
    }
  });

  it('leaves other paths that merely start with BASE twice alone', async () => {
    t = await testApp();
    for (const url of ['/kosync/kosyncx/users/auth', '/kosync/kosync/kosync/users/auth', '/kosynckosync/users/auth']) {
      const response = await t.app.inject({ method: 'GET', url, headers: DAVE });
      expect([url, response.statusCode, json(response)]).toEqual([url, 404, { code: 2000, message: 'Not found' }]);
    }
  });

  it('doubles a BASE of two segments too, and changes nothing when BASE is /', async () => {
    t = await testApp({ env: { KOSYNC_BASE_PATH: '/sync/ko' } });
    const nested = await t.app.inject({ method: 'GET', url: '/sync/ko/sync/ko/users/auth', headers: DAVE });
    expect([nested.statusCode, json(nested)]).toEqual([200, { authorized: 'OK' }]);
    await t.close();
    t = await testApp({ env: { KOSYNC_BASE_PATH: '/' } });
    const root = await t.app.inject({ method: 'GET', url: '/users/auth', headers: DAVE });
    expect([root.statusCode, json(root)]).toEqual([200, { authorized: 'OK' }]);
    const prefixed = await signIn(t.app, DAVE);
    expect(prefixed.statusCode).toBe(404);
  });
});
