import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { basic, T0, testApp, type TestApp, type TestAppOptions } from './support/app.js';
import { execute } from './support/fixtures.js';
import { signIn, UNAUTHORIZED } from './support/requests.js';

const OK = { authorized: 'OK' };
const HEADER_ON = "config_allow_reverse_proxy_header_login = 1, config_reverse_proxy_login_header_name = 'X-Remote-User'";

let current: TestApp | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

/** The app with Calibre-Web's `settings` changed; KOSYNC_PROXY_HEADER_LOGIN on unless `options.env` says otherwise. */
async function appWith(settings: string | undefined, options: TestAppOptions = {}): Promise<TestApp> {
  current = await testApp({
    library: null,
    ...options,
    env: { KOSYNC_PROXY_HEADER_LOGIN: 'true', ...options.env },
    prepare: (files) => {
      if (settings) execute(files.appDb, `UPDATE settings SET ${settings}`);
      options.prepare?.(files);
    },
  });
  return current;
}

async function auth(app: TestApp, headers: Record<string, string>, remoteAddress = '127.0.0.1') {
  const response = await signIn(app.app, headers, remoteAddress);
  return { status: response.statusCode, body: response.json() as unknown };
}

/** `Fernet(key).encrypt(text)` (the token layout of Python's cryptography), as Calibre-Web stores `*_e` values. */
function fernetToken(keyFile: string, text: string): string {
  const key = Buffer.from(readFileSync(keyFile, 'latin1').trim(), 'base64url');
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-128-cbc', key.subarray(16), iv);
  const header = Buffer.alloc(9);
  header[0] = 0x80;
  header.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)), 1);
  const body = Buffer.concat([header, iv, cipher.update(text, 'utf8'), cipher.final()]);
  return Buffer.concat([body, createHmac('sha256', key.subarray(0, 16)).update(body).digest()]).toString('base64url');
}

describe('reverse-proxy header login switched off (Calibre-Web default)', () => {
  it('ignores a spoofed header: no credentials, no login', async () => {
    const app = await appWith(undefined);
    expect(await auth(app, { 'x-remote-user': 'dave' })).toEqual({ status: 401, body: UNAUTHORIZED });
  });

  it('ignores the header even when a header name is configured but the switch is off', async () => {
    const app = await appWith("config_allow_reverse_proxy_header_login = 0, config_reverse_proxy_login_header_name = 'X-Remote-User'");
    expect(await auth(app, { 'x-remote-user': 'dave' })).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(await auth(app, { 'x-remote-user': 'dave', ...basic('dave', 'wrong') })).toEqual({ status: 401, body: UNAUTHORIZED });
  });
});

describe("KOSYNC_PROXY_HEADER_LOGIN off (the default): Calibre-Web's header login is not honoured", () => {
  const off = { env: { KOSYNC_PROXY_HEADER_LOGIN: 'false' } };

  it('ignores the header even from a trusted loopback peer, with the switch on in Calibre-Web', async () => {
    const app = await appWith(HEADER_ON, off);
    expect(await auth(app, { 'x-remote-user': 'dave' }, '127.0.0.1')).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(await auth(app, { 'x-remote-user': 'dave' }, '::1')).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(await auth(app, { 'x-remote-user': 'dave', ...basic('dave', 'oldtimer') }, '127.0.0.1')).toEqual({ status: 200, body: OK });
  });

  it('ignores it with every trusted address and a matching shared secret too', async () => {
    const app = await appWith(undefined, {
      ...off,
      prepare: (files) => {
        const token = fernetToken(join(files.dir, '.key'), 'secret');
        execute(
          files.appDb,
          `UPDATE settings SET ${HEADER_ON}, config_reverse_proxy_trusted_ips = '0.0.0.0/0, ::/0',
             config_reverse_proxy_use_shared_secret = 1, config_reverse_proxy_login_secret_header_name = 'X-Proxy-Secret',
             config_reverse_proxy_login_header_secret_e = CAST('${token}' AS BLOB)`,
        );
      },
    });
    expect(await auth(app, { 'x-remote-user': 'dave', 'x-proxy-secret': 'secret' }, '10.0.0.5')).toEqual({
      status: 401,
      body: UNAUTHORIZED,
    });
  });

  it('says once, at start, that Calibre-Web has it on and this server ignores it', async () => {
    const lines: string[] = [];
    const app = await appWith(HEADER_ON, {
      ...off,
      env: { ...off.env, KOSYNC_LOG_LEVEL: 'warn' },
      logStream: { write: (line) => lines.push(line) },
    });
    await app.app.ready();
    await auth(app, { 'x-remote-user': 'dave' });
    await auth(app, basic('dave', 'wrong'));
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual([
      "Calibre-Web's reverse-proxy header login is on, but this server ignores the 'x-remote-user' header " +
        'unless KOSYNC_PROXY_HEADER_LOGIN is true',
    ]);
  });
});

describe('reverse-proxy header login switched on', () => {
  it('logs in the user the header names, from a trusted peer, without a password', async () => {
    const app = await appWith(HEADER_ON);
    expect(await auth(app, { 'x-remote-user': 'dave' })).toEqual({ status: 200, body: OK });
  });

  it('matches the name case-insensitively, as Calibre-Web does', async () => {
    const app = await appWith(HEADER_ON);
    expect(await auth(app, { 'x-remote-user': 'bob' })).toEqual({ status: 200, body: OK });
    expect(await auth(app, { 'x-remote-user': 'DAVE' })).toEqual({ status: 200, body: OK });
  });

  it('syncs as that user', async () => {
    const app = await appWith(HEADER_ON);
    const put = await app.app.inject({
      method: 'PUT',
      url: '/kosync/syncs/progress',
      remoteAddress: '127.0.0.1',
      headers: { 'x-remote-user': 'Dave', 'content-type': 'application/json' },
      payload: JSON.stringify({ document: '0123456789abcdef0123456789abcdef', progress: 'p', percentage: 0.5, device: 'd' }),
    });
    expect(put.statusCode).toBe(200);
    const get = await app.app.inject({
      method: 'GET',
      url: '/kosync/syncs/progress/0123456789abcdef0123456789abcdef',
      remoteAddress: '127.0.0.1',
      headers: basic('dave', 'oldtimer'),
    });
    expect(get.json()).toEqual({
      document: '0123456789abcdef0123456789abcdef',
      progress: 'p',
      percentage: 0.5,
      device: 'd',
      timestamp: Math.floor(T0 / 1e6),
    });
  });

  it('ignores the header from a peer outside config_reverse_proxy_trusted_ips (default: loopback only)', async () => {
    const app = await appWith(HEADER_ON);
    expect(await auth(app, { 'x-remote-user': 'dave' }, '10.0.0.5')).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(await auth(app, { 'x-remote-user': 'dave', ...basic('dave', 'oldtimer') }, '10.0.0.5')).toEqual({ status: 200, body: OK });
  });

  it('judges the connecting peer, never an X-Forwarded-For it sends', async () => {
    const app = await appWith(HEADER_ON, { env: { KOSYNC_TRUST_PROXY: 'true' } });
    expect(await auth(app, { 'x-remote-user': 'dave', 'x-forwarded-for': '127.0.0.1' }, '10.0.0.5')).toEqual({
      status: 401,
      body: UNAUTHORIZED,
    });
  });

  it('accepts peers from the configured trusted networks, IPv4-mapped forms included', async () => {
    const app = await appWith(`${HEADER_ON}, config_reverse_proxy_trusted_ips = '10.0.0.0/8, fd00::/8'`);
    expect(await auth(app, { 'x-remote-user': 'dave' }, '10.0.0.5')).toEqual({ status: 200, body: OK });
    expect(await auth(app, { 'x-remote-user': 'dave' }, '::ffff:10.0.0.5')).toEqual({ status: 200, body: OK });
    expect(await auth(app, { 'x-remote-user': 'dave' }, 'fd00::5')).toEqual({ status: 200, body: OK });
    expect(await auth(app, { 'x-remote-user': 'dave' }, '127.0.0.1')).toEqual({ status: 401, body: UNAUTHORIZED });
  });

  it('a header naming no user falls through to the usual credentials', async () => {
    const app = await appWith(HEADER_ON);
    expect(await auth(app, { 'x-remote-user': 'nobody' })).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(await auth(app, { 'x-remote-user': 'nobody', ...basic('dave', 'oldtimer') })).toEqual({ status: 200, body: OK });
    expect(await auth(app, { 'x-remote-user': '', ...basic('dave', 'oldtimer') })).toEqual({ status: 200, body: OK });
  });

  it('never logs in the Guest account', async () => {
    const app = await appWith(HEADER_ON);
    expect(await auth(app, { 'x-remote-user': 'Guest' })).toEqual({ status: 401, body: UNAUTHORIZED });
  });

  it('applies a change made in Calibre-Web without a restart', async () => {
    const app = await appWith(undefined);
    expect(await auth(app, { 'x-remote-user': 'dave' })).toEqual({ status: 401, body: UNAUTHORIZED });
    execute(app.files.appDb, `UPDATE settings SET ${HEADER_ON}`);
    expect(await auth(app, { 'x-remote-user': 'dave' })).toEqual({ status: 200, body: OK });
    execute(app.files.appDb, 'UPDATE settings SET config_allow_reverse_proxy_header_login = 0');
    expect(await auth(app, { 'x-remote-user': 'dave' })).toEqual({ status: 401, body: UNAUTHORIZED });
  });
});

describe('reverse-proxy header login with a shared secret (config_reverse_proxy_use_shared_secret)', () => {
  const withSecret = (secret: string) =>
    appWith(undefined, {
      prepare: (files) => {
        const token = fernetToken(join(files.dir, '.key'), secret);
        execute(
          files.appDb,
          `UPDATE settings SET ${HEADER_ON}, config_reverse_proxy_use_shared_secret = 1,
             config_reverse_proxy_login_secret_header_name = 'X-Proxy-Secret',
             config_reverse_proxy_login_header_secret_e = CAST('${token}' AS BLOB)`,
        );
      },
    });

  it('logs in only when the secret header carries the decrypted secret', async () => {
    const app = await withSecret('s3cret-värde');
    expect(await auth(app, { 'x-remote-user': 'dave', 'x-proxy-secret': 's3cret-värde' })).toEqual({ status: 200, body: OK });
    expect(await auth(app, { 'x-remote-user': 'dave', 'x-proxy-secret': 'wrong' })).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(await auth(app, { 'x-remote-user': 'dave' })).toEqual({ status: 401, body: UNAUTHORIZED });
  });

  it('refuses header logins when the secret does not decrypt with .key, and says so once', async () => {
    const lines: string[] = [];
    const app = await appWith(undefined, {
      env: { KOSYNC_LOG_LEVEL: 'warn' },
      logStream: { write: (line) => lines.push(line) },
      prepare: (files) =>
        execute(
          files.appDb,
          `UPDATE settings SET ${HEADER_ON}, config_reverse_proxy_use_shared_secret = 1,
             config_reverse_proxy_login_secret_header_name = 'X-Proxy-Secret',
             config_reverse_proxy_login_header_secret_e = 'gAAAAAB-not-a-token'`,
        ),
    });
    expect(await auth(app, { 'x-remote-user': 'dave', 'x-proxy-secret': '' })).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(await auth(app, { 'x-remote-user': 'dave', 'x-proxy-secret': 'x' })).toEqual({ status: 401, body: UNAUTHORIZED });
    const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages.filter((m) => m.startsWith('reverse-proxy header login refused'))).toEqual([
      'reverse-proxy header login refused: settings.config_reverse_proxy_login_header_secret_e ' +
        `does not decrypt with ${join(app.files.dir, '.key')}: not a Fernet token`,
    ]);
  });
});
