import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decoyHashLike } from '../src/auth/decoy-password.js';
import { FailurePadding, slowestFormats } from '../src/auth/failure-padding.js';
import { localPasswordVerifier, type PasswordVerifier } from '../src/auth/password-verifier.js';
import { verifyWerkzeugHash } from '../src/auth/werkzeug.js';
import { listPasswordFormats } from '../src/repos/users.js';
import { basic, testApp, type TestApp } from './support/app.js';
import { execute } from './support/fixtures.js';
import { DAVE, ERIN, put, signIn } from './support/requests.js';

const ADMIN_HASH = 'pbkdf2:sha256:260000$kB9xXTXcgP1oNtYL$e1732cc5a9b5cbf6e8a97494f7ee0458d5fb4de1b3917597849600f73045a9f0';

describe('no username enumeration', () => {
  let t: TestApp;
  /** The stored hash each verification ran against, in order. */
  const checkedHashes: string[] = [];
  const recording: PasswordVerifier = async (user, password) => {
    checkedHashes.push(user.password);
    return localPasswordVerifier(user, password);
  };
  beforeAll(async () => {
    t = await testApp({ library: null, verifyPassword: recording });
  });
  afterAll(() => t.close());

  const attempts = [
    ['a wrong password for admin', basic('admin', 'not-it'), '198.51.100.1'],
    ['an unknown user', basic('nobody', 'not-it'), '198.51.100.2'],
    ['the Guest account', basic('Guest', 'not-it'), '198.51.100.3'],
    ['a user with an empty hash', basic('ldapuser', 'not-it'), '198.51.100.4'],
  ] as const;

  it('answers an unknown user, Guest, an empty-hash user and a wrong password byte for byte the same', async () => {
    const answers = [];
    for (const [, headers, remoteAddress] of attempts) {
      const response = await signIn(t.app, headers, remoteAddress);
      const { date: _date, ...headersWithoutDate } = response.headers;
      answers.push({ status: response.statusCode, headers: headersWithoutDate, body: response.rawPayload.toString('hex') });
    }
    expect(answers[0]!.status).toBe(401);
    for (const answer of answers.slice(1)) expect(answer).toEqual(answers[0]);
  });

  it("verifies one hash of the commonest format (admin's pbkdf2:sha256:260000 here) for each of them", () => {
    // The first attempt checked admin's real hash; the others a decoy of the same method, salt and digest
    // length (the empty-hash user is also offered to the verifier with its empty hash, which costs nothing).
    const derivations = checkedHashes.filter((hash) => hash !== '');
    expect(derivations).toHaveLength(4);
    expect(derivations[0]).toBe(ADMIN_HASH);
    for (const decoy of derivations.slice(1)) {
      expect(decoy).toMatch(/^pbkdf2:sha256:260000\$[A-Za-z0-9]{16}\$[0-9a-f]{64}$/);
    }
  });
});

describe('the decoy hash', () => {
  it('takes the method, salt length and digest length most users have', () => {
    const decoy = decoyHashLike([
      ADMIN_HASH,
      `scrypt:32768:8:1$abcdefgh$${'a'.repeat(128)}`,
      `scrypt:32768:8:1$ijklmnop$${'b'.repeat(128)}`,
    ]);
    expect(decoy).toMatch(/^scrypt:32768:8:1\$[A-Za-z0-9]{8}\$[0-9a-f]{128}$/);
  });

  it("breaks a tie in favour of the lowest user id, and falls back to werkzeug 3's scrypt default", () => {
    expect(decoyHashLike([`pbkdf2:sha1:1000$IVImtTrV$${'c'.repeat(40)}`, ADMIN_HASH])).toMatch(
      /^pbkdf2:sha1:1000\$[A-Za-z0-9]{8}\$[0-9a-f]{40}$/,
    );
    expect(decoyHashLike([])).toMatch(/^scrypt:32768:8:1\$[A-Za-z0-9]{16}\$[0-9a-f]{128}$/);
  });

  it('is a fresh random hash each time that no password matches', async () => {
    const hashes = ['pbkdf2:sha1:1000$IVImtTrV$69bd0306130a39830610d0fd3858d4a9106ef675'];
    expect(decoyHashLike(hashes)).not.toBe(decoyHashLike(hashes));
    expect(await verifyWerkzeugHash(decoyHashLike(hashes), 'oldtimer')).toBe(false);
  });
});

describe('failed logins padded to the slowest hash format in app.db', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** The padding over this app's app.db, with a measurement that reports `costs[method]` and records what it measured. */
  function padding(app: TestApp, costs: Record<string, number>) {
    const measured: string[] = [];
    const appDb = app.databases.appDb;
    const padding = new FailurePadding({
      storedFormats: () => listPasswordFormats(appDb.read),
      version: () => String(appDb.read.statement('PRAGMA data_version').pluck().get()),
      measure: async (hash) => {
        const method = hash.slice(0, hash.indexOf('$'));
        measured.push(method);
        return costs[method] ?? 0;
      },
      now: () => app.clock.monotonicMs(),
    });
    return { padding, measured };
  }

  it('measures the costliest method of each family present (pbkdf2 per digest, scrypt)', async () => {
    t = await testApp({ library: null });
    const formats = listPasswordFormats(t.databases.appDb.read);
    expect(formats.map((f) => f.method)).toEqual([
      'pbkdf2:sha1:1000',
      'pbkdf2:sha256:1000000',
      'pbkdf2:sha256:150000',
      'pbkdf2:sha256:260000',
      'pbkdf2:sha256:600000',
      'scrypt:32768:8:1',
    ]);
    expect(slowestFormats(formats).map((f) => f.method)).toEqual(['pbkdf2:sha1:1000', 'pbkdf2:sha256:1000000', 'scrypt:32768:8:1']);
    // A bare pbkdf2 hash is checked with every default iteration count werkzeug had: 1.86 million in all.
    expect(slowestFormats([...formats, { method: 'pbkdf2', sample: 'pbkdf2$salt$00' }]).map((f) => f.method)).toEqual([
      'pbkdf2:sha1:1000',
      'pbkdf2',
      'scrypt:32768:8:1',
    ]);
  });

  it("pads to the slowest measured format, and measures again only when the users' formats change", async () => {
    t = await testApp({ library: null });
    const { padding: pad, measured } = padding(t, {
      'pbkdf2:sha256:1000000': 380,
      'scrypt:32768:8:1': 140,
      'pbkdf2:sha1:1000': 1,
      'pbkdf2:sha256:3000000': 1150,
    });
    expect(await pad.targetMs()).toBe(380);
    expect(measured.sort()).toEqual(['pbkdf2:sha1:1000', 'pbkdf2:sha256:1000000', 'scrypt:32768:8:1']);

    // Writes that leave the formats as they were (a sync, an e-mail change) measure nothing.
    expect(
      (await put(t.app, { document: '0123456789abcdef0123456789abcdef', progress: 'p', percentage: 0.1, device: 'd' })).statusCode,
    ).toBe(200);
    execute(t.files.appDb, `UPDATE user SET email = 'new@example.org' WHERE name = 'dave'`);
    expect(await pad.targetMs()).toBe(380);
    expect(measured).toHaveLength(3);

    // carol's password is re-hashed with 3 million iterations: the new slowest format is measured.
    execute(t.files.appDb, `UPDATE user SET password = 'pbkdf2:sha256:3000000$abcdefgh$${'0'.repeat(64)}' WHERE name = 'carol'`);
    expect(await pad.targetMs()).toBe(1150);
    expect(measured.slice(3).sort()).toEqual(['pbkdf2:sha1:1000', 'pbkdf2:sha256:3000000', 'scrypt:32768:8:1']);
  });

  it("follows the running average of real failed checks of the slowest formats, up and down with the host's load", async () => {
    t = await testApp({ library: null });
    const { padding: pad } = padding(t, { 'pbkdf2:sha256:1000000': 380, 'scrypt:32768:8:1': 140, 'pbkdf2:sha1:1000': 1 });
    expect(await pad.targetMs()).toBe(380);
    pad.observe('pbkdf2:sha256:1000000', 600);
    expect(await pad.targetMs()).toBe(600);
    pad.observe('pbkdf2:sha256:1000000', 400);
    expect(await pad.targetMs()).toBe(560); // 600 moved a fifth of the way to 400
    pad.observe('pbkdf2:sha256:260000', 5000); // not the costliest of its family: no say
    for (let i = 0; i < 20; i++) pad.observe('pbkdf2:sha256:1000000', 100);
    // carol's format now costs about 105 ms (100 + 460 * 0.8^20), so scrypt's measured 140 ms is the slowest…
    expect(await pad.targetMs()).toBe(140);
    // …until a real scrypt check is seen taking 90 ms.
    pad.observe('scrypt:32768:8:1', 90);
    expect(Math.round(await pad.targetMs())).toBe(105);
  });

  it('makes a wrong password for a cheap hash last as long as the slowest, while a right one is not held back', async () => {
    t = await testApp({ library: null, padFailedLogins: true });
    // The first failure measures the formats; the next is padded to carol's pbkdf2:sha256:1000000 (~0.4 s).
    expect((await signIn(t.app, basic('dave', 'warm-up'), '198.51.100.1')).statusCode).toBe(401);
    const order: string[] = [];
    const login = (name: string, headers: Record<string, string>, remoteAddress: string) =>
      signIn(t!.app, headers, remoteAddress).then((r) => {
        order.push(name);
        return r.statusCode;
      });
    // dave's hash (1,000 iterations) is checked 150 times faster than erin's (150,000); yet erin's
    // success is answered first, because dave's failure waits out the slowest format's time.
    const statuses = await Promise.all([
      login('dave wrong', basic('dave', 'wrong'), '198.51.100.2'),
      login('erin right', ERIN, '198.51.100.3'),
    ]);
    expect(statuses).toEqual([401, 200]);
    expect(order).toEqual(['erin right', 'dave wrong']);
    expect((await signIn(t.app, DAVE, '198.51.100.4')).statusCode).toBe(200);
  });
});
