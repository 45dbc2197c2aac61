import type { LoginSettingsSource } from '../login-settings.js';
import type { PasswordVerifier } from '../password-verifier.js';
import { bindLdapUser, DEFAULT_LDAP_TIMEOUTS, type LdapTimeouts } from './directory.js';

interface LdapThenLocalDeps {
  settings: LoginSettingsSource;
  /** The local Werkzeug-hash check tried whenever the LDAP bind does not succeed. */
  local: PasswordVerifier;
  /** How long a successful LDAP login is remembered: a directory password can change without app.db changing. */
  rememberMs: number;
  log: { warn(message: string): void; debug(message: string): void };
  timeouts?: LdapTimeouts;
}

/**
 * CWA kosync.py authenticate_user (docs/UPSTREAM.md#cwa-the-original-kosyncpy): when Calibre-Web's login
 * type is LDAP, bind as the user's stored `name` first; whenever that does not succeed — wrong password,
 * not in the directory, server down, service password unavailable — try the local password hash next.
 * Empty passwords are refused before any bind (an empty simple bind is an anonymous success on many
 * servers).
 */
export function ldapThenLocalVerifier(deps: LdapThenLocalDeps): PasswordVerifier {
  return async (user, password, deadline) => {
    if (password === '') return undefined;
    const { ldap } = await deps.settings.current(deadline);
    if (ldap?.usable) {
      const outcome = await bindLdapUser(ldap.settings, user.name, password, deps.timeouts ?? DEFAULT_LDAP_TIMEOUTS);
      if (outcome.result === 'bound') return { method: 'ldap', rememberMs: deps.rememberMs };
      if (outcome.result === 'unavailable') {
        deps.log.warn(`LDAP login for "${user.name}" not possible (${outcome.reason}); trying the local password`);
      } else {
        const why = outcome.result === 'rejected' ? outcome.reason : 'not in the directory';
        deps.log.debug(`LDAP login for "${user.name}" failed (${why}); trying the local password`);
      }
    }
    return deps.local(user, password);
  };
}
