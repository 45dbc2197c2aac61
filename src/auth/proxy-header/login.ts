import { timingSafeEqual } from 'node:crypto';
import { msLeft } from '../../clock.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { AppDb } from '../../db/app-db.js';
import { findUserByName, isGuest, type UserRow } from '../../repos/users.js';
import { headerText } from '../credentials.js';
import type { HeaderLogin, LoginSettingsSource } from '../login-settings.js';

/**
 * The user a trusted reverse proxy vouches for, or undefined (then the usual credentials apply).
 * `deadline` (monotonic ms) ends every wait for app.db's lock.
 */
export type HeaderLoginCheck = (
  headers: IncomingHttpHeaders,
  peerAddress: string | undefined,
  deadline: number,
) => Promise<UserRow | undefined>;

interface ProxyHeaderLoginDeps {
  settings: LoginSettingsSource;
  appDb: AppDb;
  /** Monotonic milliseconds (src/clock.ts). */
  now: () => number;
  log: { warn(message: string): void };
}

/**
 * Calibre-Web's reverse-proxy header login (usermanagement.py load_user_from_reverse_proxy_header with
 * 0.6.27's reverse_proxy_auth.py checks, docs/UPSTREAM.md#calibre-web-reverse-proxy-header-login): only
 * when config_allow_reverse_proxy_header_login is on, only from a peer listed in
 * config_reverse_proxy_trusted_ips (the connecting address, never a forwarded one), with the
 * shared-secret header when config_reverse_proxy_use_shared_secret is on; the header's value names the
 * user, matched case-insensitively. A header that names no user falls through to the usual credentials,
 * as in Calibre-Web. Unlike Calibre-Web, the Guest account is never logged in.
 */
export function proxyHeaderLogin(deps: ProxyHeaderLoginDeps): HeaderLoginCheck {
  return async (headers, peerAddress, deadline) => {
    const login = (await deps.settings.current(deadline)).headerLogin;
    if (!login) return undefined;
    const value = headers[login.headerName];
    if (typeof value !== 'string' || value.trim() === '') return undefined;
    if (peerAddress === undefined || !login.trustedPeers.includes(peerAddress)) {
      deps.log.warn(`Discarded reverse proxy auth header '${login.headerName}' from untrusted source address ${peerAddress ?? 'unknown'}`);
      return undefined;
    }
    if (login.sharedSecret && !sharedSecretMatches(login, headers[login.sharedSecret.headerName])) {
      deps.log.warn(`Discarded reverse proxy auth header '${login.headerName}': shared secret missing or wrong`);
      return undefined;
    }
    const user = await deps.appDb.reading((conn) => findUserByName(conn, headerText(value)), msLeft(deadline, deps.now()));
    return user && !isGuest(user) ? user : undefined;
  };
}

/**
 * reverse_proxy_auth.py is_shared_secret_valid: hmac.compare_digest of the header and the secret
 * (docs/UPSTREAM.md#calibre-web-reverse-proxy-header-login).
 */
function sharedSecretMatches(login: HeaderLogin, provided: string | string[] | undefined): boolean {
  if (login.sharedSecretValue === undefined || typeof provided !== 'string') return false;
  const a = Buffer.from(headerText(provided), 'utf8');
  const b = Buffer.from(login.sharedSecretValue, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
