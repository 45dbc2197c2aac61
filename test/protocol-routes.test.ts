import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, testApp, type TestApp } from './support/app.js';
import { execute } from './support/fixtures.js';
import { werkzeugHash } from './support/hashes.js';
import { BOOK1_EPUB, DAVE, get, healthcheck, json, put, signIn, UNAUTHORIZED, UNKNOWN_DOC } from './support/requests.js';

const PUSH = { document: UNKNOWN_DOC, progress: '12', percentage: 0.5, device: 'KOReader', device_id: 'DEV1' };

describe('authentication over HTTP Basic with Calibre-Web accounts', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.close());

  const auth = (headers: Record<string, string> = {}) => signIn(t.app, headers);

  it.each([
    ['admin', 'admin123', 'pbkdf2:sha256:260000'],
    ['alice', 'wonderland', 'scrypt:32768:8:1'],
    ['Bob', 'builder', 'pbkdf2:sha256:600000'],
    ['bob', 'builder', 'a lower-case spelling of a mixed-case name'],
    ['BOB', 'builder', 'an upper-case spelling of a mixed-case name'],
    ['carol', 'pässwörd ✓', 'pbkdf2:sha256:1000000 and a UTF-8 password with a space'],
    ['dave', 'oldtimer', 'pbkdf2:sha1:1000 with an 8-char salt'],
    ['erin', 'legacy', 'pbkdf2:sha256:150000 with an 8-char salt'],
  ])('accepts %s with the right password (%s / %s)', async (user, password) => {
    const response = await auth(basic(user, password));
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.body).toBe('{"authorized":"OK"}');
  });

  it.each([
    ['a wrong password', basic('admin', 'nope')],
    ['an unknown user', basic('nobody', 'admin123')],
    ['the Guest account with an empty password', basic('Guest', '')],
    ['the Guest account with any password', basic('Guest', 'x')],
    ['a user with an empty local hash', basic('ldapuser', 'anything')],
    ['an empty password', basic('admin', '')],
    ['an empty username', basic('', 'admin123')],
    ['a username over 100 characters', basic('a'.repeat(101), 'x')],
    ['no colon in the credentials', { authorization: `Basic ${Buffer.from('adminadmin123').toString('base64')}` }],
    ['credentials that are not UTF-8', { authorization: `Basic ${Buffer.from([0x61, 0xff, 0x3a, 0x62]).toString('base64')}` }],
    ['another scheme', { authorization: 'Bearer abc' }],
    ['no credentials at all', {}],
  ])('refuses %s with 401 code 2001', async (_case, headers) => {
    const response = await auth(headers);
    expect(response.statusCode).toBe(401);
    expect(json(response)).toEqual(UNAUTHORIZED);
  });

  it('splits the credentials at the first colon, so passwords may contain colons', async () => {
    execute(
      t.files.appDb,
      `INSERT INTO user (id, name, email, role, password) VALUES (90, 'colon', 'colon@example.org', 0, '${werkzeugHash('a:b:c')}')`,
    );
    const response = await auth(basic('colon', 'a:b:c'));
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('{"authorized":"OK"}');
    expect((await auth(basic('colon', 'a'))).statusCode).toBe(401);
    expect((await auth(basic('admin', 'admin123:extra'))).statusCode).toBe(401);
  });

  it('answers 401 code 2001, not 400, on the progress routes (docs/PROTOCOL.md §2.1)', async () => {
    const wrong = basic('dave', 'wrong');
    const pushed = await put(t.app, PUSH, wrong);
    expect(pushed.statusCode).toBe(401);
    expect(json(pushed)).toEqual(UNAUTHORIZED);
    const pulled = await get(t.app, BOOK1_EPUB, wrong);
    expect(pulled.statusCode).toBe(401);
    expect(json(pulled)).toEqual(UNAUTHORIZED);
  });

  it('checks credentials before the body, so a bad body from a stranger is still 401', async () => {
    const response = await put(t.app, 'not json', basic('dave', 'wrong'));
    expect(response.statusCode).toBe(401);
  });
});

describe('routes and paths', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.close());

  it.each(['/kosync/users/auth', '/kosync/users/auth/', '//kosync/users/auth', '/kosync//users//auth'])(
    'serves %s without a redirect',
    async (url) => {
      const response = await t.app.inject({ method: 'GET', url, headers: DAVE });
      expect(response.statusCode).toBe(200);
      expect(response.body).toBe('{"authorized":"OK"}');
    },
  );

  it('answers the healthcheck without credentials', async () => {
    const response = await healthcheck(t.app);
    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual({ state: 'OK' });
  });

  it('never creates users: registration is 402 code 2005 naming the page', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/kosync/users/create',
      headers: { 'content-type': 'application/json', host: 'books.example' },
      payload: { username: 'new-user', password: '5f4dcc3b5aa765d61d8327deb882cf99' },
    });
    expect(response.statusCode).toBe(402);
    const body = json(response) as { code: number; message: string };
    expect(body.code).toBe(2005);
    expect(body.message).toContain('http://books.example/kosync');
  });

  it('serves the setup page as HTML at BASE, with and without a trailing slash', async () => {
    for (const url of ['/kosync', '/kosync/']) {
      const response = await t.app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    }
  });

  it('answers an unknown path with a JSON 404, not HTML', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/kosync/nothing-here' });
    expect(response.statusCode).toBe(404);
    expect(json(response)).toEqual({ code: 2000, message: 'Not found' });
  });

  it('leaves the root paths alone unless aliases are switched on', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/users/auth', headers: DAVE });
    expect(response.statusCode).toBe(404);
  });

  it('does not need the vendor Accept header, and ignores it when sent', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/kosync/users/auth',
      headers: { ...DAVE, accept: 'application/vnd.koreader.v1+json' },
    });
    expect(response.statusCode).toBe(200);
  });
});

describe('base path and root aliases', () => {
  it('serves every route under a configured base path', async () => {
    const t = await testApp({ env: { KOSYNC_BASE_PATH: '/sync/ko/' } });
    try {
      const auth = await t.app.inject({ method: 'GET', url: '/sync/ko/users/auth', headers: DAVE });
      expect(auth.statusCode).toBe(200);
      const health = await t.app.inject({ method: 'GET', url: '/sync/ko/healthcheck' });
      expect(health.statusCode).toBe(200);
      const old = await signIn(t.app, DAVE);
      expect(old.statusCode).toBe(404);
    } finally {
      await t.close();
    }
  });

  it('also answers at the root when KOSYNC_ROOT_ALIASES is on', async () => {
    const t = await testApp({ env: { KOSYNC_ROOT_ALIASES: 'true' } });
    try {
      for (const url of ['/users/auth', '/kosync/users/auth']) {
        const response = await t.app.inject({ method: 'GET', url, headers: DAVE });
        expect(response.statusCode).toBe(200);
      }
      const pushed = await put(t.app, PUSH, DAVE, '/syncs/progress');
      expect(pushed.statusCode).toBe(200);
      const pulled = await t.app.inject({ method: 'GET', url: `/syncs/progress/${UNKNOWN_DOC}`, headers: DAVE });
      expect((json(pulled) as { progress: string }).progress).toBe('12');
      const health = await t.app.inject({ method: 'GET', url: '/healthcheck' });
      expect(json(health)).toEqual({ state: 'OK' });
    } finally {
      await t.close();
    }
  });

  it('serves at the root when the base path is /', async () => {
    const t = await testApp({ env: { KOSYNC_BASE_PATH: '/' } });
    try {
      const auth = await t.app.inject({ method: 'GET', url: '/users/auth', headers: DAVE });
      expect(auth.statusCode).toBe(200);
      const page = await t.app.inject({ method: 'GET', url: '/' });
      expect(page.statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe('unexpected failures', () => {
  it('answers 502 code 2000 without detail when app.db refuses the write, and logs it with the request id', async () => {
    const lines: string[] = [];
    const t = await testApp({ env: { KOSYNC_LOG_LEVEL: 'error' }, logStream: { write: (line: string) => lines.push(line) } });
    try {
      execute(t.files.appDb, `DROP TABLE kosync_progress; CREATE VIEW kosync_progress AS SELECT 1 AS id, 6 AS user_id, 'x' AS document`);
      const response = await put(t.app, PUSH);
      expect(response.statusCode).toBe(502);
      expect(json(response)).toEqual({ code: 2000, message: 'Unknown server error' });
      const logged = lines.map((l) => JSON.parse(l) as { reqId?: string; msg: string });
      expect(logged).toContainEqual(expect.objectContaining({ msg: 'unexpected error', reqId: expect.any(String) }));
    } finally {
      await t.close();
    }
  });
});
