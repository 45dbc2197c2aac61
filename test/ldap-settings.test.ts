import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { bindLdapUser } from '../src/auth/ldap/directory.js';
import { escapeFilterValue, userFilter } from '../src/auth/ldap/filter.js';
import { ldapSettingsFrom } from '../src/auth/ldap/settings.js';
import { parseTrustedPeers, proxyHeaderSettingsFrom } from '../src/auth/proxy-header/settings.js';

describe('the LDAP settings row', () => {
  it('is ignored unless config_login_type is LDAP (1)', () => {
    expect(ldapSettingsFrom({})).toBeUndefined();
    expect(ldapSettingsFrom({ config_login_type: 0 })).toBeUndefined();
    expect(ldapSettingsFrom({ config_login_type: 2 })).toBeUndefined();
  });

  it("takes Calibre-Web's defaults for missing columns and NULLs", () => {
    const defaults = {
      host: 'example.org',
      port: 389,
      encryption: 0,
      authentication: 0,
      serviceDn: 'cn=admin,dc=example,dc=org',
      servicePasswordToken: undefined,
      searchBase: 'dc=example,dc=org',
      userObject: 'uid=%s',
      openldap: true,
      cacertPath: '',
      certPath: '',
      keyPath: '',
    };
    expect(ldapSettingsFrom({ config_login_type: 1 })).toEqual(defaults);
    expect(
      ldapSettingsFrom({
        config_login_type: 1,
        config_ldap_provider_url: null,
        config_ldap_port: null,
        config_ldap_openldap: null,
        config_ldap_serv_password_e: null,
      }),
    ).toEqual(defaults);
  });

  it('reads the values Calibre-Web stores, the service password token as the BLOB it is', () => {
    const token = Buffer.from('gAAAAAB-token');
    expect(
      ldapSettingsFrom({
        config_login_type: 1,
        config_ldap_provider_url: 'ldap.example.net',
        config_ldap_port: 636,
        config_ldap_encryption: 2,
        config_ldap_authentication: 2,
        config_ldap_serv_username: 'cn=svc,dc=example,dc=net',
        config_ldap_serv_password_e: token,
        config_ldap_dn: 'ou=people,dc=example,dc=net',
        config_ldap_user_object: '(&(objectClass=person)(sAMAccountName=%s))',
        config_ldap_openldap: 0,
        config_ldap_cacert_path: '/ca.pem',
        config_ldap_cert_path: '/c.pem',
        config_ldap_key_path: '/k.pem',
      }),
    ).toEqual({
      host: 'ldap.example.net',
      port: 636,
      encryption: 2,
      authentication: 2,
      serviceDn: 'cn=svc,dc=example,dc=net',
      servicePasswordToken: token,
      searchBase: 'ou=people,dc=example,dc=net',
      userObject: '(&(objectClass=person)(sAMAccountName=%s))',
      openldap: false,
      cacertPath: '/ca.pem',
      certPath: '/c.pem',
      keyPath: '/k.pem',
    });
  });

  it('reads encryption and service authentication the way simpleldap.py compares them', () => {
    const read = (encryption: number, authentication: number) => {
      const s = ldapSettingsFrom({ config_login_type: 1, config_ldap_encryption: encryption, config_ldap_authentication: authentication })!;
      return [s.encryption, s.authentication];
    };
    expect([read(0, 0), read(1, 1), read(2, 2), read(7, 3), read(-1, -1)]).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
      [0, 2],
      [0, 0],
    ]);
  });
});

describe('the user search filter', () => {
  it('escapes the RFC 4515 specials once and leaves everything else as typed', () => {
    expect(escapeFilterValue('a*b(c)d\\e\0f')).toBe('a\\2ab\\28c\\29d\\5ce\\00f');
    expect(escapeFilterValue("o'brien=Zoë & co")).toBe("o'brien=Zoë & co");
  });

  it("puts the escaped name where config_ldap_user_object's %s is, %% being a literal %", () => {
    expect(userFilter('uid=%s', 'al*')).toBe('uid=al\\2a');
    expect(userFilter('(&(cn=100%%)(uid=%s))', 'bob')).toBe('(&(cn=100%)(uid=bob))');
  });

  it('refuses a template without exactly one %s, as Python formatting would', () => {
    expect(() => userFilter('uid=bob', 'x')).toThrow('config_ldap_user_object must contain exactly one %s (found 0)');
    expect(() => userFilter('(|(uid=%s)(mail=%s))', 'x')).toThrow('config_ldap_user_object must contain exactly one %s (found 2)');
    expect(() => userFilter('uid=%d', 'x')).toThrow('config_ldap_user_object has an unsupported "%d"');
  });
});

describe('an LDAP server that accepts connections but never answers', () => {
  it('gives up within the attempt budget and closes every connection', async () => {
    const sockets: Socket[] = [];
    const closed: Promise<void>[] = [];
    const server = createServer((socket) => {
      sockets.push(socket);
      closed.push(new Promise((resolve) => socket.once('close', () => resolve())));
      socket.on('error', () => {});
      socket.resume(); // read (and ignore) what the client sends, so its closing is seen
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const settings = {
        ...ldapSettingsFrom({ config_login_type: 1, config_ldap_provider_url: '127.0.0.1', config_ldap_port: port })!,
        servicePassword: '',
      };
      const outcome = await bindLdapUser(settings, 'alice', 'secret', { connectMs: 5000, operationMs: 5000, totalMs: 200 });
      expect(outcome).toEqual({ result: 'unavailable', reason: 'no answer within 200 ms' });
      expect(sockets).toHaveLength(1);
      await Promise.all(closed);
    } finally {
      server.close();
    }
  });
});

describe('the reverse-proxy header settings', () => {
  it('are off unless config_allow_reverse_proxy_header_login is set and a header is named', () => {
    expect(proxyHeaderSettingsFrom({})).toBeUndefined();
    expect(
      proxyHeaderSettingsFrom({ config_allow_reverse_proxy_header_login: 0, config_reverse_proxy_login_header_name: 'X-User' }),
    ).toBeUndefined();
    expect(
      proxyHeaderSettingsFrom({ config_allow_reverse_proxy_header_login: 1, config_reverse_proxy_login_header_name: ' ' }),
    ).toBeUndefined();
  });

  it("trust only loopback by default (Calibre-Web 0.6.27's config_reverse_proxy_trusted_ips)", () => {
    const settings = proxyHeaderSettingsFrom({
      config_allow_reverse_proxy_header_login: 1,
      config_reverse_proxy_login_header_name: 'X-Remote-User',
    })!;
    expect(settings.headerName).toBe('x-remote-user');
    expect(settings.sharedSecret).toBeUndefined();
    const checks = [
      ['127.0.0.1', 'ipv4'],
      ['::1', 'ipv6'],
      ['127.0.0.2', 'ipv4'],
      ['10.0.0.1', 'ipv4'],
    ] as const;
    expect(checks.map(([a]) => settings.trustedPeers.includes(a))).toEqual([true, true, false, false]);
  });

  it('read addresses and networks, host bits allowed, bad entries set aside', () => {
    const { peers, invalid } = parseTrustedPeers(' 10.1.2.3/8, fd42:42::/56 ,, 192.168.1.7, proxy.local, 10.0.0.0/33, 1.2.3.4/8/9');
    expect(invalid).toEqual(['proxy.local', '10.0.0.0/33', '1.2.3.4/8/9']);
    const checks = [
      ['10.200.0.1', 'ipv4'],
      ['fd42:42:0:ff::1', 'ipv6'],
      ['fd42:43::1', 'ipv6'],
      ['192.168.1.7', 'ipv4'],
      ['192.168.1.8', 'ipv4'],
      ['::ffff:10.9.9.9', 'ipv6'],
    ] as const;
    expect(checks.map(([a]) => peers.includes(a))).toEqual([true, true, false, true, false, true]);
  });
});
