import { afterEach, describe, expect, it } from 'vitest';
import { clientAddressKey, clientNetworkKey, verificationShareKey } from '../src/auth/client-address.js';
import { loginDelayMs } from '../src/auth/login-limiter.js';
import { localPasswordVerifier, type PasswordVerifier } from '../src/auth/password-verifier.js';
import { loadConfig } from '../src/config.js';
import { basic, SECOND, testApp, type TestApp, type TestAppOptions } from './support/app.js';
import { execute } from './support/fixtures.js';
import { werkzeugHash } from './support/hashes.js';
import { enable } from './support/keys.js';
import { DAVE, signIn } from './support/requests.js';

const UNAUTHORIZED = '{"code":2001,"message":"Unauthorized"}';
const TOO_MANY = '{"code":2001,"message":"Too many failed logins, try again later"}';

/** The real password check, counted: every call is one hash verification. */
function countingVerifier(): PasswordVerifier & { calls: number } {
  const verifier = Object.assign(
    async (...args: Parameters<PasswordVerifier>) => {
      verifier.calls++;
      return localPasswordVerifier(...args);
    },
    { calls: 0 },
  );
  return verifier;
}

/** The app with the waits before checking a username under attack off: these tests are about the limits. */
function limitsApp(options: TestAppOptions = {}): Promise<TestApp> {
  return testApp({ library: null, ...options, env: { KOSYNC_LOGIN_DELAY_MAX_MS: '0', ...options.env } });
}

describe('failed-login limits', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const login = (headers: Record<string, string>, remoteAddress: string) => signIn(t!.app, headers, remoteAddress);

  it('answers 429 with Retry-After after 10 failures from one address, without verifying any more hashes', async () => {
    const verifier = countingVerifier();
    t = await limitsApp({ verifyPassword: verifier });
    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await login(basic('dave', `guess-${i}`), '203.0.113.7'));

    expect(answers.slice(0, 10).map((r) => [r.statusCode, r.body])).toEqual(Array(10).fill([401, UNAUTHORIZED]));
    for (const refused of answers.slice(10)) {
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['content-type']).toBe('application/json');
      expect(refused.headers['retry-after']).toBe('60');
      expect(refused.body).toBe(TOO_MANY);
    }
    expect(verifier.calls).toBe(10);
  });

  it('still lets the real user in from another address while one address is blocked', async () => {
    const verifier = countingVerifier();
    t = await limitsApp({ verifyPassword: verifier });
    for (let i = 0; i < 30; i++) await login(basic('dave', `guess-${i}`), '203.0.113.7');

    const fromHome = await login(DAVE, '198.51.100.20');
    expect([fromHome.statusCode, fromHome.body]).toEqual([200, '{"authorized":"OK"}']);
    expect(verifier.calls).toBe(11);
    // Once verified, the same credentials are remembered: they pass even from the blocked address.
    const rememberedFromBlocked = await login(DAVE, '203.0.113.7');
    expect(rememberedFromBlocked.statusCode).toBe(200);
    expect(verifier.calls).toBe(11);
  });

  it('refuses the right password from the blocked address when it is not remembered', async () => {
    t = await limitsApp();
    for (let i = 0; i < 10; i++) await login(basic('dave', `guess-${i}`), '203.0.113.7');
    const response = await login(DAVE, '203.0.113.7');
    expect([response.statusCode, response.body]).toEqual([429, TOO_MANY]);
  });

  it('forgets failures as they leave the sliding window', async () => {
    t = await limitsApp();
    for (let i = 0; i < 5; i++) await login(basic('dave', `early-${i}`), '203.0.113.7');
    t.clock.advance(40 * SECOND);
    for (let i = 0; i < 5; i++) await login(basic('dave', `late-${i}`), '203.0.113.7');

    const blocked = await login(basic('dave', 'x'), '203.0.113.7');
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers['retry-after']).toBe('20');
    t.clock.advance(19 * SECOND);
    expect((await login(basic('dave', 'x'), '203.0.113.7')).headers['retry-after']).toBe('1');
    t.clock.advance(1 * SECOND);
    // The five early failures have left the window; the five late ones are still in it.
    expect((await login(basic('dave', 'y'), '203.0.113.7')).statusCode).toBe(401);
    expect((await login(basic('dave', 'z'), '203.0.113.7')).statusCode).toBe(401);
  });

  it('counts attempts still being verified, so a burst of concurrent guesses cannot outrun the limit', async () => {
    const verifier = countingVerifier();
    // The address's share of the verification queue is not what this is about: let every attempt in.
    t = await limitsApp({ verifyPassword: verifier, env: { KOSYNC_VERIFY_PER_ADDRESS: '100' } });
    const answers = await Promise.all(Array.from({ length: 25 }, (_, i) => login(basic('dave', `burst-${i}`), '203.0.113.7')));
    expect(answers.filter((r) => r.statusCode === 401)).toHaveLength(10);
    expect(answers.filter((r) => r.statusCode === 429)).toHaveLength(15);
    expect(verifier.calls).toBe(10);
  });

  it('limits one username to 20 failures a minute from one network (IPv4 /24), and only there', async () => {
    const verifier = countingVerifier();
    t = await limitsApp({ verifyPassword: verifier });
    for (let i = 0; i < 20; i++) expect((await login(basic('dave', 'wrong'), `192.0.2.${i + 1}`)).statusCode).toBe(401);
    const next = await login(basic('DAVE', 'wrong again'), '192.0.2.200');
    expect([next.statusCode, next.body, next.headers['retry-after']]).toEqual([429, TOO_MANY, '60']);
    // Other usernames from that network, and the same username from elsewhere, are checked as usual.
    expect((await login(basic('erin', 'wrong'), '192.0.2.200')).statusCode).toBe(401);
    expect((await login(basic('dave', 'wrong'), '198.51.100.1')).statusCode).toBe(401);
    expect((await login(DAVE, '198.51.100.2')).statusCode).toBe(200);
    expect(verifier.calls).toBe(23);
  });

  it('counts one username per IPv6 /48, so spreading over its /64s escapes nothing', async () => {
    t = await limitsApp();
    for (let i = 0; i < 20; i++)
      expect((await login(basic('dave', 'wrong'), `2001:db8:1:${(i + 1).toString(16)}::1`)).statusCode).toBe(401);
    expect((await login(basic('dave', 'wrong'), '2001:db8:1:ffff::1')).statusCode).toBe(429);
    expect((await login(basic('dave', 'wrong'), '2001:db8:2::1')).statusCode).toBe(401);
  });

  it('exempts an address the user logged in from before from the per-username limit', async () => {
    t = await limitsApp();
    expect((await login(DAVE, '192.0.2.20')).statusCode).toBe(200);
    for (let i = 0; i < 20; i++) await login(basic('dave', 'wrong'), `192.0.2.${i + 100}`);
    // The password changes in Calibre-Web, so nothing remembered applies: the new one is verified.
    execute(t.files.appDb, `UPDATE user SET password = '${werkzeugHash('newpass', 'NewSalt1')}' WHERE name = 'dave'`);

    expect((await login(basic('dave', 'newpass'), '192.0.2.99')).statusCode).toBe(429);
    expect((await login(basic('dave', 'newpass'), '192.0.2.20')).statusCode).toBe(200);
  });

  it('takes the client address from X-Forwarded-For only when the peer is a trusted proxy', async () => {
    t = await limitsApp({ env: { KOSYNC_TRUST_PROXY: '127.0.0.1' } });
    const viaProxy = (forwardedFor: string, password: string) =>
      t!.app.inject({
        method: 'GET',
        url: '/kosync/users/auth',
        headers: { ...basic('dave', password), 'x-forwarded-for': forwardedFor },
        remoteAddress: '127.0.0.1',
      });
    for (let i = 0; i < 10; i++) await viaProxy('203.0.113.7', `guess-${i}`);
    expect((await viaProxy('203.0.113.7', 'more')).statusCode).toBe(429);
    expect((await viaProxy('198.51.100.20', 'oldtimer')).statusCode).toBe(200);

    // From a peer that is not the proxy, X-Forwarded-For is ignored: rotating it escapes nothing.
    for (let i = 0; i < 10; i++) {
      await t.app.inject({
        method: 'GET',
        url: '/kosync/users/auth',
        headers: { ...basic('dave', `spoof-${i}`), 'x-forwarded-for': `10.0.0.${i}` },
        remoteAddress: '192.0.2.50',
      });
    }
    const spoofed = await t.app.inject({
      method: 'GET',
      url: '/kosync/users/auth',
      headers: { ...basic('dave', 'x'), 'x-forwarded-for': '10.9.9.9' },
      remoteAddress: '192.0.2.50',
    });
    expect(spoofed.statusCode).toBe(429);
  });

  it('counts an IPv6 client per /64, so rotating addresses inside it escapes nothing', async () => {
    t = await limitsApp();
    for (let i = 0; i < 10; i++) await login(basic('dave', `guess-${i}`), `2001:db8:1:2::${(i + 1).toString(16)}`);
    expect((await login(basic('dave', 'x'), '2001:db8:1:2:ffff::1')).statusCode).toBe(429);
    expect((await login(basic('dave', 'x'), '2001:db8:1:3::1')).statusCode).toBe(401);
  });

  it('follows KOSYNC_LOGIN_FAILURES_PER_ADDRESS and KOSYNC_LOGIN_FAILURE_WINDOW, and 0 turns a limit off', async () => {
    t = await limitsApp({ env: { KOSYNC_LOGIN_FAILURES_PER_ADDRESS: '3', KOSYNC_LOGIN_FAILURE_WINDOW: '300' } });
    for (let i = 0; i < 3; i++) expect((await login(basic('dave', `g${i}`), '203.0.113.7')).statusCode).toBe(401);
    const refused = await login(basic('dave', 'g3'), '203.0.113.7');
    expect([refused.statusCode, refused.headers['retry-after']]).toEqual([429, '300']);
    await t.close();

    t = await limitsApp({ env: { KOSYNC_LOGIN_FAILURES_PER_ADDRESS: '0', KOSYNC_LOGIN_FAILURES_PER_USER: '0' } });
    for (let i = 0; i < 25; i++) expect((await login(basic('dave', `g${i}`), '203.0.113.7')).statusCode).toBe(401);
  });

  it('never counts requests without usable credentials as failed logins', async () => {
    t = await limitsApp();
    for (let i = 0; i < 15; i++) await login({ authorization: 'Bearer nope' }, '203.0.113.7');
    expect((await login(DAVE, '203.0.113.7')).statusCode).toBe(200);
  });
});

describe('a username under attack from many addresses', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const login = (headers: Record<string, string>, remoteAddress: string) => signIn(t!.app, headers, remoteAddress);
  /** The app with defaults, except that the verification queue takes every guess: each one is checked. */
  const attackedApp = () => testApp({ library: null, env: { KOSYNC_VERIFY_PER_ADDRESS: '100', KOSYNC_VERIFY_QUEUE: '100' } });
  /** `count` wrong passwords for `user` at once, from two addresses of different networks. */
  const guesses = (user: string, count: number) =>
    Promise.all(Array.from({ length: count }, (_, i) => login(basic(user, `guess-${i}`), i % 2 ? '192.0.2.7' : '198.51.100.7')));

  it('never locks the real user out: after 20 wrong passwords from two addresses, a new device and the page still sign in', async () => {
    t = await attackedApp();
    const answers = await guesses('dave', 24);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([...Array(20).fill(401), ...Array(4).fill(429)]);

    const newDevice = await login(DAVE, '203.0.113.50');
    expect([newDevice.statusCode, newDevice.body]).toEqual([200, '{"authorized":"OK"}']);
    const page = await enable(t.app, 'dave', 'oldtimer');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('KOReader sync enabled for dave');
  });

  it('makes each attempt for that username wait before its check, the same for a name no user has', async () => {
    t = await attackedApp();
    await Promise.all([guesses('dave', 8), guesses('nobody', 8)]);
    // Three checks at once: the two attacked names wait (2 s), erin's is checked at once. Her answer
    // comes first although dave's hash (pbkdf2:sha1:1000) is checked 150 times faster than hers.
    const order: string[] = [];
    const tracked = (name: string, response: ReturnType<typeof login>) =>
      response.then((r) => {
        order.push(name);
        return r.statusCode;
      });
    const statuses = await Promise.all([
      tracked('dave', login(DAVE, '203.0.113.50')),
      tracked('nobody', login(basic('nobody', 'oldtimer'), '203.0.113.51')),
      tracked('erin', login(basic('erin', 'wrong'), '203.0.113.52')),
    ]);
    expect(statuses).toEqual([200, 401, 401]);
    expect(order[0]).toBe('erin');
  });

  it('waits nothing for the first three failures, then 250 ms doubling up to KOSYNC_LOGIN_DELAY_MAX_MS', () => {
    expect(Array.from({ length: 9 }, (_, failures) => loginDelayMs(failures, 2000))).toEqual([0, 0, 0, 250, 500, 1000, 2000, 2000, 2000]);
    expect(loginDelayMs(50, 3000)).toBe(3000);
    expect(loginDelayMs(50, 0)).toBe(0);
  });
});

describe('the limit settings', () => {
  it('default to 10 per address and 20 per username and network a minute, and waits of at most 2 s', () => {
    expect(loadConfig({}).loginLimits).toEqual({ perAddress: 10, perUserAndNetwork: 20, windowMs: 60_000, maxDelayMs: 2000 });
  });

  it("keep the wait below KOReader's 5 s timeout", () => {
    expect(() => loadConfig({ KOSYNC_LOGIN_DELAY_MAX_MS: '5000' })).toThrow(
      'KOSYNC_LOGIN_DELAY_MAX_MS: must be between 0 and 3000 (got "5000")',
    );
  });

  it('name the variable when a value is wrong', () => {
    expect(() => loadConfig({ KOSYNC_LOGIN_FAILURES_PER_USER: 'many' })).toThrow(
      'KOSYNC_LOGIN_FAILURES_PER_USER: must be a whole number (got "many")',
    );
    expect(() => loadConfig({ KOSYNC_LOGIN_FAILURE_WINDOW: '0' })).toThrow('KOSYNC_LOGIN_FAILURE_WINDOW: must be between 1 and 86400');
  });
});

describe('client address keys', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::ffff:10.1.2.3:1', '::ffff:10.1.2.3:1'],
  ])('counts %s as %s', (address, key) => {
    expect(clientAddressKey(address)).toBe(key);
  });

  it.each([
    ['192.0.2.77', '192.0.2.0/24', '192.0.2.77'],
    ['::ffff:192.0.2.77', '192.0.2.0/24', '192.0.2.77'],
    ['2001:db8:1:2::1', '2001:db8:1::/48', '2001:db8:1::/48'],
    ['2001:db8:1:ffc0:1:2:3:4', '2001:db8:1::/48', '2001:db8:1::/48'],
    ['fe80::1%eth0', 'fe80:0:0::/48', 'fe80:0:0::/48'],
  ])('puts %s in network %s and in the verification share %s', (address, network, share) => {
    expect(clientNetworkKey(address)).toBe(network);
    expect(verificationShareKey(address)).toBe(share);
  });
});
