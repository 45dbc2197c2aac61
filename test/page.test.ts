import { Writable } from 'node:stream';
import { verify } from '@node-rs/bcrypt';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { fingerprintOf } from '../src/auth/remembered-logins.js';
import { fixedClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { openDatabases } from '../src/databases.js';
import { T0, testApp, type TestApp } from './support/app.js';
import { copyFixtures, query } from './support/fixtures.js';
import { enable, md5 } from './support/keys.js';

const DAVE_HASH = 'pbkdf2:sha1:1000$IVImtTrV$69bd0306130a39830610d0fd3858d4a9106ef675';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function keyRows(path: string) {
  return query<Record<string, unknown>>(path, 'SELECT * FROM sync_keys ORDER BY user_id');
}

describe('the setup page at BASE', () => {
  it('renders as HTML with the server URL, the plugin URL and a form posting to BASE/enable', async () => {
    t = await testApp();
    const response = await t.app.inject({ method: 'GET', url: '/kosync', headers: { host: 'books.example:8084' } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['content-security-policy']).toMatch(
      /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+='; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/,
    );
    expect(response.body).toContain('<span class="url" id="server-url">http://books.example:8084/kosync</span>');
    expect(response.body).toContain('set the server to <code>http://books.example:8084</code>');
    expect(response.body).toContain('<form method="post" action="kosync/enable" accept-charset="utf-8">');
    expect(response.body).toContain('<strong>Register</strong> does not create accounts');
  });

  it("tells readers to turn on KOReader's Send document metadata, where it is, and that it is off by default", async () => {
    t = await testApp();
    const response = await t.app.inject({ method: 'GET', url: '/kosync' });
    expect(response.body).toContain(
      '<li id="send-metadata">Turn on <strong>Send document metadata</strong>, in the same menu (<strong>Tools</strong> →\n' +
        '<strong>Progress sync</strong>; it is off by default).',
    );
    // The same menu: the step before names it in full.
    expect(response.body).toMatch(
      /<strong>Tools<\/strong> \(the wrench icon\) → <strong>Progress sync<\/strong> →[\s\S]*id="send-metadata"/,
    );
  });

  it('posts the form relative to the URL the browser shows', async () => {
    t = await testApp();
    const withSlash = await t.app.inject({ method: 'GET', url: '/kosync/' });
    expect(withSlash.body).toContain('action="enable"');
    const enablePage = await t.app.inject({ method: 'GET', url: '/kosync/enable' });
    expect(enablePage.statusCode).toBe(200);
    expect(enablePage.body).toContain('action="enable"');
  });

  it('ignores X-Forwarded-Proto/Host unless KOSYNC_TRUST_PROXY is set', async () => {
    const forwarded = { host: 'internal:8084', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'books.example' };
    t = await testApp();
    const untrusted = await t.app.inject({ method: 'GET', url: '/kosync', headers: forwarded });
    expect(untrusted.body).toContain('id="server-url">http://internal:8084/kosync<');
    await t.close();
    t = await testApp({ env: { KOSYNC_TRUST_PROXY: '127.0.0.1' } });
    const trusted = await t.app.inject({ method: 'GET', url: '/kosync', headers: forwarded });
    expect(trusted.body).toContain('id="server-url">https://books.example/kosync<');
  });

  it('works at the root when KOSYNC_BASE_PATH is /', async () => {
    t = await testApp({ env: { KOSYNC_BASE_PATH: '/' } });
    const response = await t.app.inject({ method: 'GET', url: '/', headers: { host: 'sync.example' } });
    expect(response.body).toContain('id="server-url">http://sync.example<');
    expect(response.body).toContain('action="enable"');
    const enabled = await t.app.inject({
      method: 'POST',
      url: '/enable',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      payload: 'username=dave&password=oldtimer',
    });
    expect(enabled.statusCode).toBe(200);
    expect(enabled.body).toContain('KOReader sync enabled for dave');
  });

  it('says CWA’s plugin cannot be used when BASE does not end in /kosync', async () => {
    t = await testApp({ env: { KOSYNC_BASE_PATH: '/sync' } });
    const response = await t.app.inject({ method: 'GET', url: '/sync', headers: { host: 'books.example' } });
    expect(response.body).toContain('id="server-url">http://books.example/sync<');
    expect(response.body).toContain('it works only when this\nserver is reached under a path ending in <code>/kosync</code>');
  });
});

describe('enabling stock KOReader from the page', () => {
  it('stores a bcrypt verifier of md5(password) bound to the user’s hash and says so', async () => {
    t = await testApp();
    const response = await enable(t.app, 'DAVE', 'oldtimer');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.body).toContain('KOReader sync enabled for dave');
    const rows = keyRows(t.files.stateDb);
    expect(rows).toEqual([
      {
        user_id: 6,
        user_name: 'dave',
        verifier: expect.stringMatching(/^\$2b\$10\$/),
        password_fingerprint: fingerprintOf(DAVE_HASH),
        created_at: '2026-11-28 15:21:55.781869',
        updated_at: '2026-11-28 15:21:55.781869',
        last_used_at: null,
        confirmed_at: '2026-11-28 15:21:55.781869',
      },
    ]);
    await expect(verify(md5('oldtimer'), rows[0]!.verifier as string)).resolves.toBe(true);
  });

  it('enabling again replaces the verifier and keeps the creation time', async () => {
    t = await testApp();
    await enable(t.app, 'dave', 'oldtimer');
    const first = keyRows(t.files.stateDb)[0]!;
    t.clock.advance(60_000_000);
    expect((await enable(t.app, 'dave', 'oldtimer')).statusCode).toBe(200);
    const second = keyRows(t.files.stateDb)[0]!;
    expect(second.created_at).toBe('2026-11-28 15:21:55.781869');
    expect(second.updated_at).toBe('2026-11-28 15:22:55.781869');
    expect(second.verifier).not.toBe(first.verifier);
  });

  it('refuses a wrong password with the typed name escaped and stores nothing', async () => {
    t = await testApp();
    const response = await enable(t.app, 'dave', 'wrong');
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain('<div class="notice error" role="alert">Wrong username or password.</div>');
    expect(response.body).toContain('value="dave"');
    const hostile = await enable(t.app, '<script>alert("x")</script>', 'pw');
    expect(hostile.statusCode).toBe(403);
    expect(hostile.body).toContain('value="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"');
    expect(hostile.body).not.toContain('<script>');
    expect(keyRows(t.files.stateDb)).toEqual([]);
  });

  it('never enables the Guest account', async () => {
    t = await testApp();
    const response = await enable(t.app, 'Guest', 'anything');
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain('Wrong username or password.');
    expect(keyRows(t.files.stateDb)).toEqual([]);
  });

  it('asks for both fields when the form is incomplete or not a form', async () => {
    t = await testApp();
    const empty = await enable(t.app, 'dave', '');
    expect(empty.statusCode).toBe(400);
    expect(empty.body).toContain('Enter your Calibre-Web username and password.');
    expect(empty.body).toContain('value="dave"');
    const json = await t.app.inject({
      method: 'POST',
      url: '/kosync/enable',
      headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
      payload: JSON.stringify({ username: 'dave', password: 'oldtimer' }),
    });
    expect(json.statusCode).toBe(400);
    expect(keyRows(t.files.stateDb)).toEqual([]);
  });

  it.each([
    ['Sec-Fetch-Site says cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site says same-site', { 'sec-fetch-site': 'same-site' }],
    ['the Origin is another host', { 'sec-fetch-site': '', origin: 'https://evil.example' }],
    ['the Origin is null', { 'sec-fetch-site': '', origin: 'null' }],
    ['the Referer is another host', { 'sec-fetch-site': '', referer: 'https://evil.example/kosync' }],
  ])('refuses a cross-site submission when %s', async (_case, headers) => {
    t = await testApp();
    const cleaned = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== ''));
    const response = await t.app.inject({
      method: 'POST',
      url: '/kosync/enable',
      headers: { host: 'books.example', 'content-type': 'application/x-www-form-urlencoded', ...cleaned },
      payload: 'username=dave&password=oldtimer',
    });
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain('This form can only be sent from this page.');
    expect(keyRows(t.files.stateDb)).toEqual([]);
  });

  it('accepts an Origin naming this host, or the host a proxy forwarded', async () => {
    t = await testApp();
    const direct = await enable(t.app, 'dave', 'oldtimer', {
      'sec-fetch-site': undefined,
      host: 'books.example:8084',
      origin: 'http://books.example:8084',
    });
    expect(direct.statusCode).toBe(200);
    const proxied = await enable(t.app, 'dave', 'oldtimer', {
      'sec-fetch-site': undefined,
      host: 'internal:8084',
      'x-forwarded-host': 'books.example',
      referer: 'https://books.example/kosync',
    });
    expect(proxied.statusCode).toBe(200);
  });

  it('counts failed sign-ins like any failed login, then answers 429 with Retry-After', async () => {
    t = await testApp({ env: { KOSYNC_LOGIN_FAILURES_PER_ADDRESS: '2' } });
    expect((await enable(t.app, 'dave', 'wrong1')).statusCode).toBe(403);
    expect((await enable(t.app, 'dave', 'wrong2')).statusCode).toBe(403);
    const limited = await enable(t.app, 'dave', 'oldtimer');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    expect(limited.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(limited.body).toContain('<div class="notice error" role="alert">Too many failed logins, try again later</div>');
    expect(keyRows(t.files.stateDb)).toEqual([]);
  });

  it('keeps the password out of the logs, even at trace level', async () => {
    const files = copyFixtures();
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const config = loadConfig({ KOSYNC_APP_DB: files.appDb, KOSYNC_STATE_DB: files.stateDb, KOSYNC_LOG_LEVEL: 'trace' });
    const databases = openDatabases(config, { warn: () => {} });
    const app = await buildApp(config, { databases, clock: fixedClock(T0), logStream });
    try {
      expect((await enable(app, 'dave', 'oldtimer')).statusCode).toBe(200);
      expect((await enable(app, 'dave', 'hunter2-wrong')).statusCode).toBe(403);
    } finally {
      await app.close();
      databases.close();
      files.remove();
    }
    const log = lines.join('');
    expect(log).toContain('/kosync/enable');
    expect(log).not.toContain('oldtimer');
    expect(log).not.toContain('hunter2');
    expect(log).not.toContain(md5('oldtimer'));
  });
});
