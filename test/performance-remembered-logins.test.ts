import { afterEach, describe, expect, it } from 'vitest';
import { localPasswordVerifier, type PasswordVerifier } from '../src/auth/password-verifier.js';
import { basic, SECOND, testApp, type TestApp, type TestAppOptions } from './support/app.js';
import { execute } from './support/fixtures.js';
import { werkzeugHash } from './support/hashes.js';
import { json, signIn } from './support/requests.js';

/** The real verifier, counted: every call is one key derivation the remembered logins did not save. */
function countedVerifier(): { verify: PasswordVerifier; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    verify: async (user, password) => {
      calls.push(user.name);
      return localPasswordVerifier(user, password);
    },
  };
}

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function start(options: TestAppOptions = {}) {
  const counted = countedVerifier();
  t = await testApp({ ...options, verifyPassword: counted.verify });
  const auth = async (user: string, password: string) => {
    const response = await signIn(t!.app, basic(user, password));
    return { status: response.statusCode, body: json(response) };
  };
  return { t, calls: counted.calls, auth };
}

const OK = { status: 200, body: { authorized: 'OK' } };
const UNAUTHORIZED = { status: 401, body: { code: 2001, message: 'Unauthorized' } };

describe('remembered logins (docs/PROTOCOL.md §3.6)', () => {
  it('answers a repeated login from memory, whatever the case of the username', async () => {
    const { auth, calls } = await start();
    expect(await auth('dave', 'oldtimer')).toEqual(OK);
    expect(await auth('dave', 'oldtimer')).toEqual(OK);
    expect(await auth('DAVE', 'oldtimer')).toEqual(OK);
    expect(calls).toEqual(['dave']);
  });

  it('forgets a login at once when the password hash in app.db changes', async () => {
    const { t, auth, calls } = await start();
    expect(await auth('dave', 'oldtimer')).toEqual(OK);
    execute(t.files.appDb, `UPDATE user SET password = '${werkzeugHash('new secret')}' WHERE name = 'dave'`);

    expect(await auth('dave', 'oldtimer')).toEqual(UNAUTHORIZED);
    expect(await auth('dave', 'new secret')).toEqual(OK);
    expect(await auth('dave', 'new secret')).toEqual(OK);
    expect(calls).toEqual(['dave', 'dave', 'dave']);
  });

  it('forgets a login when the same password is hashed anew (a reset to the same password)', async () => {
    const { t, auth, calls } = await start();
    execute(t.files.appDb, `UPDATE user SET password = '${werkzeugHash('oldtimer', 'SaltOne')}' WHERE name = 'dave'`);
    expect(await auth('dave', 'oldtimer')).toEqual(OK);
    execute(t.files.appDb, `UPDATE user SET password = '${werkzeugHash('oldtimer', 'SaltTwo')}' WHERE name = 'dave'`);
    expect(await auth('dave', 'oldtimer')).toEqual(OK);
    expect(calls).toEqual(['dave', 'dave']);
  });

  it('never remembers a wrong password', async () => {
    const { auth, calls } = await start();
    expect(await auth('dave', 'wrong')).toEqual(UNAUTHORIZED);
    expect(await auth('dave', 'wrong')).toEqual(UNAUTHORIZED);
    expect(await auth('dave', 'oldtimer')).toEqual(OK);
    expect(await auth('dave', 'wrong')).toEqual(UNAUTHORIZED);
    expect(calls).toEqual(['dave', 'dave', 'dave', 'dave']);
  });

  it('keeps at most KOSYNC_REMEMBER_MAX_LOGINS, dropping the least recently used', async () => {
    const { auth, calls } = await start({
      env: { KOSYNC_REMEMBER_MAX_LOGINS: '2' },
      prepare: (files) => {
        execute(files.appDb, `UPDATE user SET password = '${werkzeugHash('erin pw')}' WHERE name = 'erin'`);
        execute(files.appDb, `UPDATE user SET password = '${werkzeugHash('admin pw')}' WHERE name = 'admin'`);
      },
    });
    expect(await auth('dave', 'oldtimer')).toEqual(OK);
    expect(await auth('erin', 'erin pw')).toEqual(OK);
    expect(await auth('admin', 'admin pw')).toEqual(OK); // dave dropped
    expect(calls).toEqual(['dave', 'erin', 'admin']);

    expect(await auth('erin', 'erin pw')).toEqual(OK); // remembered, now the most recent
    expect(await auth('dave', 'oldtimer')).toEqual(OK); // verified again; admin dropped
    expect(await auth('erin', 'erin pw')).toEqual(OK);
    expect(await auth('admin', 'admin pw')).toEqual(OK);
    expect(calls).toEqual(['dave', 'erin', 'admin', 'dave', 'admin']);
  });

  it('verifies again once KOSYNC_REMEMBER_SECONDS have passed', async () => {
    const { t, auth, calls } = await start({ env: { KOSYNC_REMEMBER_SECONDS: '60' } });
    expect(await auth('dave', 'oldtimer')).toEqual(OK);
    t.clock.advance(59 * SECOND);
    expect(await auth('dave', 'oldtimer')).toEqual(OK);
    t.clock.advance(2 * SECOND);
    expect(await auth('dave', 'oldtimer')).toEqual(OK);
    expect(calls).toEqual(['dave', 'dave']);
  });

  it('verifies every request when remembering is off', async () => {
    const { auth, calls } = await start({ env: { KOSYNC_REMEMBER_MAX_LOGINS: '0' } });
    expect(await auth('dave', 'oldtimer')).toEqual(OK);
    expect(await auth('dave', 'oldtimer')).toEqual(OK);
    expect(calls).toEqual(['dave', 'dave']);
  });

  it('verifies concurrent first requests with the same credentials once', async () => {
    const { auth, calls } = await start();
    // admin's real pbkdf2:sha256:260000 hash: the verification is slow enough for all to overlap it.
    const answers = await Promise.all(Array.from({ length: 8 }, () => auth('admin', 'admin123')));
    expect(answers).toEqual(Array.from({ length: 8 }, () => OK));
    expect(calls).toEqual(['admin']);
  });

  it('shares a concurrent wrong-password verification too, and remembers nothing from it', async () => {
    const { auth, calls } = await start();
    const answers = await Promise.all(Array.from({ length: 4 }, () => auth('admin', 'wrong')));
    expect(answers).toEqual(Array.from({ length: 4 }, () => UNAUTHORIZED));
    expect(calls).toEqual(['admin']);
    expect(await auth('admin', 'wrong')).toEqual(UNAUTHORIZED);
    expect(calls).toEqual(['admin', 'admin']);
  });
});
