/** config_ldap_encryption: 0 plain `ldap://`, 1 STARTTLS, 2 `ldaps://`. */
export type LdapEncryption = 0 | 1 | 2;
/** config_ldap_authentication as the admin form offers it: 0 anonymous, 1 unauthenticated, 2 simple. */
export type LdapServiceAuthentication = 0 | 1 | 2;

/** Calibre-Web's LDAP login settings (docs/UPSTREAM.md#calibre-web-ldap), with its defaults filled in. */
export interface LdapSettings {
  host: string;
  port: number;
  encryption: LdapEncryption;
  authentication: LdapServiceAuthentication;
  serviceDn: string;
  /** The Fernet token of the service password (BLOB or text), only used by simple service binds. */
  servicePasswordToken: Buffer | string | undefined;
  searchBase: string;
  /** A search filter with one `%s` for the user name, e.g. `uid=%s` or `(&(objectClass=person)(uid=%s))`. */
  userObject: string;
  /** true: bind with the entry's DN; false (Active Directory): with its `distinguishedName` attribute. */
  openldap: boolean;
  cacertPath: string;
  certPath: string;
  keyPath: string;
}

/** config_login_type value for LDAP (constants.LOGIN_LDAP). */
const LOGIN_LDAP = 1;

/**
 * The LDAP settings from Calibre-Web's `settings` row, or undefined when the login type is not LDAP. A
 * missing column or a NULL takes the column's default, as ConfigSQL.load does (the `_Settings` defaults
 * of cps/config_sql.py: docs/UPSTREAM.md#calibre-web-settings-and-the-key-file).
 */
export function ldapSettingsFrom(row: Record<string, unknown>): LdapSettings | undefined {
  if (integer(row.config_login_type, 0) !== LOGIN_LDAP) return undefined;
  return {
    host: text(row.config_ldap_provider_url, 'example.org'),
    port: integer(row.config_ldap_port, 389),
    encryption: encryption(integer(row.config_ldap_encryption, 0)),
    authentication: serviceAuthentication(integer(row.config_ldap_authentication, 0)),
    serviceDn: text(row.config_ldap_serv_username, 'cn=admin,dc=example,dc=org'),
    servicePasswordToken: token(row.config_ldap_serv_password_e),
    searchBase: text(row.config_ldap_dn, 'dc=example,dc=org'),
    userObject: text(row.config_ldap_user_object, 'uid=%s'),
    openldap: integer(row.config_ldap_openldap, 1) !== 0,
    cacertPath: text(row.config_ldap_cacert_path, ''),
    certPath: text(row.config_ldap_cert_path, ''),
    keyPath: text(row.config_ldap_key_path, ''),
  };
}

export function text(value: unknown, fallback: string): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return fallback;
}

export function integer(value: unknown, fallback: number): number {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) return Number(value);
  return fallback;
}

/** A Fernet token column (`*_e`): a BLOB as Calibre-Web stores it, or text; absent when NULL/empty. */
export function token(value: unknown): Buffer | string | undefined {
  if (Buffer.isBuffer(value)) return value.length > 0 ? value : undefined;
  if (typeof value === 'string') return value !== '' ? value : undefined;
  return undefined;
}

/** simpleldap.py tests `== 2` for `ldaps://` and `== 1` for STARTTLS; anything else is plain (docs/UPSTREAM.md#calibre-web-ldap). */
function encryption(n: number): LdapEncryption {
  return n === 1 || n === 2 ? n : 0;
}

/** simpleldap.py tests `> 0` (bind with the service DN) and `> 1` (with its password) (docs/UPSTREAM.md#calibre-web-ldap). */
function serviceAuthentication(n: number): LdapServiceAuthentication {
  return n > 1 ? 2 : n > 0 ? 1 : 0;
}
