import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, testApp, type TestApp } from './support/app.js';
import { execute } from './support/fixtures.js';
import { signIn, UNAUTHORIZED } from './support/requests.js';
import { opensslMissing, type Slapd, selfSignedCertificate, slapdMissing, startSlapd } from './support/slapd.js';
import { skipWithout } from './support/system.js';

const OK = { authorized: 'OK' };

describe.skipIf(skipWithout(slapdMissing() ?? opensslMissing(), 'the LDAP TLS tests'))(
  'LDAP over TLS with a self-signed certificate made for the test',
  () => {
    let slapd: Slapd;
    let client: { cert: string; key: string };
    let stranger: { cert: string; key: string };
    const apps: TestApp[] = [];

    beforeAll(async () => {
      slapd = await startSlapd({ tls: true });
      client = { cert: join(slapd.dir, 'client.crt'), key: join(slapd.dir, 'client.key') };
      selfSignedCertificate(client.cert, client.key);
      stranger = { cert: join(slapd.dir, 'stranger.crt'), key: join(slapd.dir, 'stranger.key') };
      selfSignedCertificate(stranger.cert, stranger.key);
    });
    afterAll(async () => {
      await Promise.all(apps.map((a) => a.close()));
      await slapd.stop();
    });

    const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;

    async function tlsApp(encryption: 1 | 2, verifyWith?: { ca: string }): Promise<TestApp> {
      const port = encryption === 2 ? slapd.ldapsPort! : slapd.port;
      const paths = verifyWith
        ? `, config_ldap_cacert_path = ${quote(verifyWith.ca)}, config_ldap_cert_path = ${quote(client.cert)}, ` +
          `config_ldap_key_path = ${quote(client.key)}`
        : '';
      const app = await testApp({
        app: 'app-ldap.db',
        library: null,
        prepare: (files) =>
          execute(files.appDb, `UPDATE settings SET config_ldap_port = ${port}, config_ldap_encryption = ${encryption}${paths}`),
      });
      apps.push(app);
      return app;
    }

    async function auth(app: TestApp, user: string, password: string) {
      const response = await signIn(app.app, basic(user, password));
      return { status: response.statusCode, body: response.json() as unknown };
    }

    it('STARTTLS (config_ldap_encryption 1) without certificate paths: not verified, as Calibre-Web', async () => {
      const app = await tlsApp(1);
      expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });
      expect(await auth(app, 'ldapuser', 'wrong')).toEqual({ status: 401, body: UNAUTHORIZED });
    });

    it('LDAPS (config_ldap_encryption 2) without certificate paths: not verified, as Calibre-Web', async () => {
      const app = await tlsApp(2);
      expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });
    });

    it('LDAPS with the certificate paths set and the right CA: verified, and the login works', async () => {
      const app = await tlsApp(2, { ca: slapd.certFile! });
      expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });
    });

    it('STARTTLS with the certificate paths set and the right CA: verified against the host, and the login works', async () => {
      const app = await tlsApp(1, { ca: slapd.certFile! });
      expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 200, body: OK });
    });

    it('a server certificate the configured CA did not sign: no LDAP login, local passwords still work', async () => {
      for (const encryption of [1, 2] as const) {
        const app = await tlsApp(encryption, { ca: stranger.cert });
        expect(await auth(app, 'ldapuser', 'ldappass')).toEqual({ status: 401, body: UNAUTHORIZED });
        expect(await auth(app, 'dave', 'oldtimer')).toEqual({ status: 200, body: OK });
      }
    });
  },
);
