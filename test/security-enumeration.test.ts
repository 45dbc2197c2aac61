import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decoyHashLike } from '../src/auth/decoy-password.js';
import { localPasswordVerifier, type PasswordVerifier } from '../src/auth/password-verifier.js';
import { verifyWerkzeugHash } from '../src/auth/werkzeug.js';
import { basic, testApp, type TestApp } from './support/app.js';

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
      const response = await t.app.inject({ method: 'GET', url: '/kosync/users/auth', headers, remoteAddress });
      const { date: _date, ...headersWithoutDate } = response.headers;
      answers.push({ status: response.statusCode, headers: headersWithoutDate, body: response.rawPayload.toString('hex') });
    }
    expect(answers[0]!.status).toBe(401);
    for (const answer of answers.slice(1)) expect(answer).toEqual(answers[0]);
  });

  it('verifies one hash of the commonest format (admin\'s pbkdf2:sha256:260000 here) for each of them', () => {
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
    const decoy = decoyHashLike([ADMIN_HASH, 'scrypt:32768:8:1$abcdefgh$' + 'a'.repeat(128), 'scrypt:32768:8:1$ijklmnop$' + 'b'.repeat(128)]);
    expect(decoy).toMatch(/^scrypt:32768:8:1\$[A-Za-z0-9]{8}\$[0-9a-f]{128}$/);
  });

  it('breaks a tie in favour of the lowest user id, and falls back to werkzeug 3\'s scrypt default', () => {
    expect(decoyHashLike(['pbkdf2:sha1:1000$IVImtTrV$' + 'c'.repeat(40), ADMIN_HASH])).toMatch(/^pbkdf2:sha1:1000\$[A-Za-z0-9]{8}\$[0-9a-f]{40}$/);
    expect(decoyHashLike([])).toMatch(/^scrypt:32768:8:1\$[A-Za-z0-9]{16}\$[0-9a-f]{128}$/);
  });

  it('is a fresh random hash each time that no password matches', async () => {
    const hashes = ['pbkdf2:sha1:1000$IVImtTrV$69bd0306130a39830610d0fd3858d4a9106ef675'];
    expect(decoyHashLike(hashes)).not.toBe(decoyHashLike(hashes));
    expect(await verifyWerkzeugHash(decoyHashLike(hashes), 'oldtimer')).toBe(false);
  });
});
