import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindLdapUser, type ResolvedLdapSettings } from '../src/auth/ldap/directory.js';
import { ldapThenLocalVerifier } from '../src/auth/ldap/ldap-then-local.js';
import { LoginSettingsSource } from '../src/auth/login-settings.js';
import { localPasswordVerifier } from '../src/auth/password-verifier.js';
import { Client } from 'ldapts';
import { basic, testApp, type TestApp, type TestAppOptions } from './support/app.js';
import { execute, query } from './support/fixtures.js';
import { keyHeaders, md5 } from './support/keys.js';
import { signIn, UNAUTHORIZED } from './support/requests.js';
import { type Slapd, SUFFIX, slapdMissing, startSlapd } from './support/slapd.js';
import { skipWithout } from './support/system.js';

const OK = { authorized: 'OK' };

/** app-ldap.db users added for these tests: no local password, so only an LDAP bind can log them in. */
const LDAP_ONLY_USERS = ["o'brien(test)", '*', 'al*', 'alice)(uid=*', '\\61lice'];

describe.skipIf(skipWithout(slapdMissing(), 'the LDAP tests'))('LDAP login against a real slapd', () => {
  let slapd: Slapd;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    slapd = await startSlapd({ allowUnauthenticatedBind: true });
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await slapd.stop();
  });

  /** The app on a copy of app-ldap.db pointed at this slapd; `settings` are more SET clauses. */
  async function ldapApp(settings = '', options: TestAppOptions = {}): Promise<TestApp> {
    const app = await testApp({
      app: 'app-ldap.db',
      library: null,
      ...options,
      prepare: (files) => {
        const users = LDAP_ONLY_USERS.map(
          (name, i) =>
            'INSERT INTO user (id, name, email, role, password) ' +
            `VALUES (${100 + i}, '${name.replace(/'/g, "''")}', 'u${i}@example.org', 0, '')`,
        );
        execute(files.appDb, [`UPDATE settings SET config_ldap_port = ${slapd.port}${settings}`, ...users].join(';\n'));
        options.prepare?.(files);
      },
    });
    apps.push(app);
    return app;
  }

  async function auth(app: TestApp, user: string, password: string) {
    const response = await signIn(app.app, basic(user, password));
    return { status: response.statusCode, body: response.json() as unknown };
  }

  describe('simple service bind (the fixture: cn=svc with the Fernet-encrypted svcpass)', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await ldapApp();
    });

    it('logs in a user who exists only as an LDAP-imported user with the LDAP password', async () => {
      expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });
    });

    it('refuses an LDAP-imported user with a wrong password (no local hash to fall back to)', async () => {
      expect(await auth(app, 'ldapuser', 'wrong')).toEqual({ status: 401, body: UNAUTHORIZED });
    });

    it('logs in a user with both passwords with either: LDAP first, then the local hash', async () => {
      expect(await auth(app, 'alice', 'secret')).toEqual({ status: 200, body: OK });
      expect(await auth(app, 'alice', 'wonderland')).toEqual({ status: 200, body: OK });
      expect(await auth(app, 'alice', 'neither')).toEqual({ status: 401, body: UNAUTHORIZED });
    });

    it('binds with the stored name, whatever case the client typed', async () => {
      expect(await auth(app, 'LDAPUSER', 'ldappass')).toEqual({ status: 200, body: OK });
    });

    it('logs in a user only in app.db with the local password (not in the directory: fallback)', async () => {
      expect(await auth(app, 'dave', 'oldtimer')).toEqual({ status: 200, body: OK });
    });

    it('refuses a user who is only in the directory', async () => {
      expect(await auth(app, 'ldaponly', 'onlyhere')).toEqual({ status: 401, body: UNAUTHORIZED });
    });

    it('escapes parentheses in the name, so a uid containing them matches exactly', async () => {
      expect(await auth(app, "o'brien(test)", 'obrien')).toEqual({ status: 200, body: OK });
    });

    it('escapes `*`: a user named "*" matches the entry whose uid is "*", not every entry', async () => {
      expect(await auth(app, '*', 'star')).toEqual({ status: 200, body: OK });
      expect(await auth(app, '*', 'secret')).toEqual({ status: 401, body: UNAUTHORIZED });
    });

    it('special characters in a name cannot widen the search to another entry', async () => {
      // Unescaped, each filter would match alice: uid=al*, (uid=alice)(uid=*), uid=\61lice (\61 is "a").
      for (const name of ['al*', 'alice)(uid=*', '\\61lice']) {
        expect({ name, ...(await auth(app, name, 'secret')) }).toEqual({ name, status: 401, body: UNAUTHORIZED });
      }
    });

    it('never binds with an empty password, which this directory would accept as an unauthenticated bind', async () => {
      const silent = { warn: () => {}, info: () => {}, debug: () => {} };
      const settings = new LoginSettingsSource({
        appDb: app.databases.appDb,
        keyFile: join(app.files.dir, '.key'),
        lockWaitMs: 1000,
        honourHeaderLogin: false,
        log: silent,
        now: () => app.clock.monotonicMs(),
      });
      const { ldap } = await settings.current();
      expect(ldap?.usable).toBe(true);
      expect(await bindLdapUser((ldap as { settings: ResolvedLdapSettings }).settings, 'ldapuser', '')).toEqual({ result: 'bound' });
      const verify = ldapThenLocalVerifier({ settings, local: localPasswordVerifier, rememberMs: 1000, log: silent });
      expect(await verify({ id: 8, name: 'ldapuser', role: 0, password: '' }, '')).toBeUndefined();
      expect(await verify({ id: 8, name: 'ldapuser', role: 0, password: '' }, 'ldappass')).toEqual({ method: 'ldap', rememberMs: 1000 });
    });
  });

  it('anonymous service bind (config_ldap_authentication 0) finds and binds the user', async () => {
    const app = await ldapApp(', config_ldap_authentication = 0');
    expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });
    expect(await auth(app, 'ldapuser', 'wrong')).toEqual({ status: 401, body: UNAUTHORIZED });
  });

  it('unauthenticated service bind (config_ldap_authentication 1: the service DN, no password)', async () => {
    const app = await ldapApp(", config_ldap_authentication = 1, config_ldap_serv_username = 'cn=svc,dc=example,dc=org'");
    expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });
  });

  it('a refused service bind falls back to local passwords', async () => {
    const app = await ldapApp(", config_ldap_serv_username = 'cn=nobody,dc=example,dc=org'");
    expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(await auth(app, 'alice', 'wonderland')).toEqual({ status: 200, body: OK });
  });

  it('Active Directory mode (config_ldap_openldap 0) binds with the distinguishedName attribute, which slapd lacks: fallback', async () => {
    const app = await ldapApp(', config_ldap_openldap = 0');
    expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(await auth(app, 'alice', 'wonderland')).toEqual({ status: 200, body: OK });
  });

  it('a user filter with parentheses and a search base below the root work as Calibre-Web formats them', async () => {
    const app = await ldapApp(
      ", config_ldap_dn = 'ou=people,dc=example,dc=org', config_ldap_user_object = '(&(objectClass=posixAccount)(uid=%s))'",
    );
    expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });
  });

  it('LDAP down: users with a local password still get in, with a log line saying why LDAP failed', async () => {
    const lines: string[] = [];
    const app = await ldapApp(', config_ldap_port = 1', {
      env: { KOSYNC_LOG_LEVEL: 'warn' },
      logStream: { write: (line) => lines.push(line) },
    });
    expect(await auth(app, 'alice', 'wonderland')).toEqual({ status: 200, body: OK });
    expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 401, body: UNAUTHORIZED });
    const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages).toContain(
      'LDAP login for "alice" not possible (service bind: connect ECONNREFUSED 127.0.0.1:1); trying the local password',
    );
    expect(lines.join('\n')).not.toContain('wonderland');
  });

  it('an unreadable .key: one log line naming the file, then local passwords only', async () => {
    const lines: string[] = [];
    let keyFile = '';
    const app = await ldapApp('', {
      env: { KOSYNC_LOG_LEVEL: 'warn' },
      logStream: { write: (line) => lines.push(line) },
      prepare: (files) => {
        keyFile = join(files.dir, '.key');
        rmSync(keyFile);
      },
    });
    expect(await auth(app, 'alice', 'wonderland')).toEqual({ status: 200, body: OK });
    expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual([
      `LDAP service password unavailable (cannot read ${keyFile}: ENOENT); LDAP logins fall back to local passwords`,
    ]);
  });

  it('a .key that does not match the token: one log line naming the column and the file', async () => {
    const lines: string[] = [];
    let keyFile = '';
    const app = await ldapApp('', {
      env: { KOSYNC_LOG_LEVEL: 'warn' },
      logStream: { write: (line) => lines.push(line) },
      prepare: (files) => {
        keyFile = join(files.dir, '.key');
        writeFileSync(keyFile, Buffer.alloc(32, 9).toString('base64url'));
      },
    });
    expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(await auth(app, 'alice', 'wonderland')).toEqual({ status: 200, body: OK });
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual([
      `LDAP service password unavailable (settings.config_ldap_serv_password_e does not decrypt with ${keyFile}: ` +
        'Fernet token signature does not match the key); LDAP logins fall back to local passwords',
    ]);
  });

  it('settings changed in Calibre-Web apply without a restart', async () => {
    const app = await ldapApp(', config_login_type = 0');
    expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 401, body: UNAUTHORIZED });
    execute(app.files.appDb, 'UPDATE settings SET config_login_type = 1');
    expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });
  });

  it('a successful LDAP login is remembered for 10 minutes by default, a local one longer', async () => {
    const app = await ldapApp('');
    expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });
    expect(await auth(app, 'alice', 'wonderland')).toEqual({ status: 200, body: OK });
    execute(app.files.appDb, 'UPDATE settings SET config_ldap_port = 1'); // the directory goes away
    app.clock.advance(599 * 1e6);
    expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });
    app.clock.advance(2 * 1e6);
    expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(await auth(app, 'alice', 'wonderland')).toEqual({ status: 200, body: OK });
  });

  it('KOSYNC_LDAP_REMEMBER_SECONDS=0: every request binds again', async () => {
    const app = await ldapApp('', { env: { KOSYNC_LDAP_REMEMBER_SECONDS: '0' } });
    expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });
    execute(app.files.appDb, 'UPDATE settings SET config_ldap_port = 1');
    expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 401, body: UNAUTHORIZED });
  });

  describe('stock-KOReader keys of users without a local password', () => {
    const DAY = 24 * 3600 * 1_000_000;
    const ACCOUNT_CHANGED =
      'Your Calibre-Web account has changed since KOReader sync was enabled. ' +
      'Open http://localhost:80/kosync in a browser and sign in again to enable it.';
    const EXPIRED =
      'KOReader sync for this account has expired: an account without a Calibre-Web password must sign in again now and then. ' +
      'Open http://localhost:80/kosync in a browser and sign in to renew it.';

    async function keyAuth(app: TestApp, user: string, password: string) {
      const response = await signIn(app.app, keyHeaders(user, md5(password)));
      return { status: response.statusCode, body: response.json() as unknown };
    }

    /** Changes the directory as its administrator would. */
    async function asDirectoryAdmin(change: (client: Client) => Promise<void>): Promise<void> {
      const client = new Client({ url: `ldap://127.0.0.1:${slapd.port}` });
      try {
        await client.bind(`cn=admin,${SUFFIX}`, 'adminpw');
        await change(client);
      } finally {
        await client.unbind();
      }
    }

    it('refuses the key as soon as the user is no longer in the directory', async () => {
      const dn = `uid=leaver,ou=people,${SUFFIX}`;
      await asDirectoryAdmin((client) =>
        client.add(dn, {
          objectClass: ['inetOrgPerson', 'posixAccount'],
          uid: 'leaver',
          cn: 'Leaving User',
          sn: 'User',
          uidNumber: '10100',
          gidNumber: '10100',
          homeDirectory: '/home/leaver',
          userPassword: 'leaverpass',
        }),
      );
      const app = await ldapApp('', {
        prepare: (files) =>
          execute(files.appDb, "INSERT INTO user (id, name, email, role, password) VALUES (120, 'leaver', 'leaver@example.org', 0, '')"),
      });
      // The LDAP password login records the key (KOSYNC_RECORD_KEYS_ON_LOGIN).
      expect(await auth(app, 'leaver', 'leaverpass')).toEqual({ status: 200, body: OK });
      await app.app.kosync.syncKeys.settled();
      await asDirectoryAdmin((client) => client.del(dn));

      expect(await keyAuth(app, 'leaver', 'leaverpass')).toEqual({ status: 401, body: { code: 2001, message: ACCOUNT_CHANGED } });
      // As the password login, once its remembered answer (10 minutes) has run out.
      app.clock.advance(11 * 60 * 1_000_000);
      expect(await auth(app, 'leaver', 'leaverpass')).toEqual({ status: 401, body: UNAUTHORIZED });
    });

    it('ends the key KOSYNC_LDAP_KEY_DAYS after the last LDAP password login, which renews it', async () => {
      const app = await ldapApp();
      const confirmedAt = () =>
        query<{ confirmed_at: string }>(app.files.stateDb, 'SELECT confirmed_at FROM sync_keys WHERE user_id = 8')[0]?.confirmed_at;
      expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });
      expect(await keyAuth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });
      expect(confirmedAt()).toBe('2026-11-28 15:21:55.781869');

      app.clock.advance(29 * DAY);
      expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });
      await app.app.kosync.syncKeys.settled();
      expect(confirmedAt()).toBe('2026-12-27 15:21:55.781869');
      app.clock.advance(29 * DAY); // 58 days after enabling, 29 after the renewal
      expect(await keyAuth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });

      // The directory cannot be asked: the user's presence is unknown, the expiry alone decides.
      execute(app.files.appDb, 'UPDATE settings SET config_ldap_port = 1');
      app.clock.advance(DAY - 60 * 1_000_000);
      expect(await keyAuth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });
      app.clock.advance(2 * DAY);
      expect(await keyAuth(app, 'ldapuser', 'ldappass')).toEqual({ status: 401, body: { code: 2001, message: EXPIRED } });
    });

    it('remembers a key login of such a user only as long as an LDAP password login (KOSYNC_LDAP_REMEMBER_SECONDS)', async () => {
      const app = await ldapApp('', { env: { KOSYNC_LDAP_KEY_DAYS: '1' } });
      expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });
      await app.app.kosync.syncKeys.settled();
      app.clock.advance(DAY - 5 * 60 * 1_000_000);
      expect(await keyAuth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK }); // remembered from here
      // Expired 5 minutes later; 11 minutes later the remembered login has ended too (a local key's lasts 12 hours).
      app.clock.advance(11 * 60 * 1_000_000);
      expect(await keyAuth(app, 'ldapuser', 'ldappass')).toEqual({ status: 401, body: { code: 2001, message: EXPIRED } });
    });
  });
});
