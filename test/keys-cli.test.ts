import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { testApp, type TestApp } from './support/app.js';
import { execute, query } from './support/fixtures.js';
import { enable, keyHeaders, md5 } from './support/keys.js';
import { signIn } from './support/requests.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function capture() {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return { stream, text: () => text };
}

async function cli(t: TestApp, ...argv: string[]) {
  const stdout = capture();
  const stderr = capture();
  const code = await main({
    argv,
    clock: t.clock,
    env: { KOSYNC_APP_DB: t.files.appDb, KOSYNC_STATE_DB: t.files.stateDb },
    stdout: stdout.stream,
    stderr: stderr.stream,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('calibre-web-kosync keys', () => {
  it('lists every enabled key with its state', async () => {
    t = await testApp();
    expect(await cli(t, 'keys', 'list')).toEqual({ code: 0, stdout: 'No user has enabled KOReader sync keys.\n', stderr: '' });
    await enable(t.app, 'dave', 'oldtimer');
    await enable(t.app, 'erin', 'legacy');
    t.clock.advance(90_000_000);
    await signIn(t.app, keyHeaders('dave', md5('oldtimer')));
    execute(t.files.appDb, `UPDATE user SET password = 'plain$$changed' WHERE name = 'erin'`);
    const listed = await cli(t, 'keys', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toBe(
      [
        'USER  ID  ENABLED               UPDATED               LAST USED             EXPIRES  STATE',
        'dave  6   2026-11-28 15:21 UTC  2026-11-28 15:21 UTC  2026-11-28 15:23 UTC  -        active',
        'erin  7   2026-11-28 15:21 UTC  2026-11-28 15:21 UTC  -                     -        outdated (password changed): enable again',
        '',
      ].join('\n'),
    );
  });

  it('shows when the key of a user without a local password (LDAP) expires, and that an old one has', async () => {
    t = await testApp();
    // Keys as a password login through LDAP leaves them: ldapuser's row has no local hash.
    execute(t.files.appDb, `UPDATE user SET password = '' WHERE name IN ('dave', 'erin')`);
    await t.app.kosync.syncKeys.enable({ id: 6, name: 'dave', role: 0, password: '' }, 'ldap secret');
    await t.app.kosync.syncKeys.enable({ id: 7, name: 'erin', role: 256, password: '' }, 'ldap secret');
    execute(t.files.stateDb, `UPDATE sync_keys SET confirmed_at = '2026-09-01 08:00:00.000000' WHERE user_id = 7`);
    const listed = await cli(t, 'keys', 'list');
    expect(listed.stdout).toBe(
      [
        'USER  ID  ENABLED               UPDATED               LAST USED  EXPIRES               STATE',
        'dave  6   2026-11-28 15:21 UTC  2026-11-28 15:21 UTC  -          2026-12-28 15:21 UTC  active',
        'erin  7   2026-11-28 15:21 UTC  2026-11-28 15:21 UTC  -          2026-10-01 08:00 UTC  expired: sign in again',
        '',
      ].join('\n'),
    );
    const shorter = await cli(t, 'keys', 'list', '--ldap-key-days', '7');
    expect(shorter.stdout).toContain('dave  6   2026-11-28 15:21 UTC  2026-11-28 15:21 UTC  -          2026-12-05 15:21 UTC  active');
    t.clock.advance(7 * 24 * 3600 * 1_000_000);
    expect((await cli(t, 'keys', 'list', '--ldap-key-days', '7')).stdout).toContain('2026-12-05 15:21 UTC  expired: sign in again');
  });

  it('revokes one user’s key, found as Calibre-Web finds the user', async () => {
    t = await testApp();
    await enable(t.app, 'dave', 'oldtimer');
    await enable(t.app, 'erin', 'legacy');
    const revoked = await cli(t, 'keys', 'revoke', 'DAVE');
    expect(revoked).toEqual({
      code: 0,
      stdout: 'Revoked the KOReader sync key of "DAVE": stock KOReader logins with it fail from now on.\n',
      stderr: '',
    });
    expect(query(t.files.stateDb, 'SELECT user_id FROM sync_keys')).toEqual([{ user_id: 7 }]);
    const login = await signIn(t.app, keyHeaders('dave', md5('oldtimer')));
    expect(login.statusCode).toBe(401);
    expect(await cli(t, 'keys', 'revoke', 'dave')).toEqual({ code: 1, stdout: '', stderr: 'No KOReader sync key for "dave".\n' });
  });

  it('revokes the key of a user deleted from Calibre-Web by the name stored with it', async () => {
    t = await testApp();
    await enable(t.app, 'erin', 'legacy');
    execute(t.files.appDb, `DELETE FROM user WHERE name = 'erin'`);
    expect((await cli(t, 'keys', 'list')).stdout).toContain(
      'erin  7   2026-11-28 15:21 UTC  2026-11-28 15:21 UTC  -          -        user deleted',
    );
    expect((await cli(t, 'keys', 'revoke', 'erin')).code).toBe(0);
    expect(query(t.files.stateDb, 'SELECT user_id FROM sync_keys')).toEqual([]);
  });

  it('explains its usage', async () => {
    t = await testApp();
    expect(await cli(t, 'keys')).toEqual({ code: 2, stdout: '', stderr: 'calibre-web-kosync keys: expected "list" or "revoke <user>"\n' });
    expect((await cli(t, 'keys', 'revoke')).code).toBe(2);
  });
});
