import { decryptWithKeyFile, keyFileBeside } from '../auth/fernet.js';
import { bindLdapUser } from '../auth/ldap/directory.js';
import { ldapSettingsFrom } from '../auth/ldap/settings.js';
import { fail, ok, warn, type Finding } from './findings.js';

/** A name no directory should hold: the bind test runs the service bind and the search, and finds nobody. */
const PROBE_USER = 'calibre-web-kosync-doctor-probe';

/**
 * When Calibre-Web logs in through LDAP (settings.config_login_type 1): the `.key` beside app.db that
 * decrypts the service password, and a real service bind and user search against the directory.
 */
export async function inspectLdap(appDbPath: string, settings: Record<string, unknown>): Promise<Finding[]> {
  const ldap = ldapSettingsFrom(settings);
  if (!ldap) return [];
  const findings: Finding[] = [ok(`LDAP login is on in Calibre-Web: ${ldap.host}:${ldap.port}`)];
  const keyFile = keyFileBeside(appDbPath);
  let servicePassword = '';
  if (ldap.authentication === 2) {
    const decrypted = decryptWithKeyFile(keyFile, ldap.servicePasswordToken);
    if ('problem' in decrypted) {
      findings.push(
        decrypted.problem === 'unreadable-key'
          ? fail(
              `${keyFile} is missing or unreadable: the LDAP service password cannot be decrypted, ` +
                'so LDAP users cannot log in (local passwords still work)',
            )
          : fail(`the LDAP service password does not decrypt with ${keyFile}: ${decrypted.message}`),
      );
      return findings;
    }
    servicePassword = decrypted.plaintext;
    findings.push(ok(`${keyFile}: readable, decrypts the LDAP service password`));
  }
  const outcome = await bindLdapUser({ ...ldap, servicePassword }, PROBE_USER, 'probe');
  if (outcome.result === 'unavailable') {
    findings.push(fail(`LDAP bind test failed: ${outcome.reason}; LDAP users cannot log in (local passwords still work)`));
  } else if (outcome.result === 'not-found') {
    findings.push(ok(`LDAP bind test: the service bind and the user search in ${ldap.searchBase} work`));
  } else {
    findings.push(warn(`LDAP bind test: the directory has an entry for the probe name "${PROBE_USER}"; the service bind and search work`));
  }
  return findings;
}
