import type { AppDb } from '../db/app-db.js';
import { msLeft } from '../clock.js';
import { readSettingsRow } from '../repos/settings.js';
import { decryptWithKeyFile, FernetError } from './fernet.js';
import type { ResolvedLdapSettings } from './ldap/directory.js';
import { ldapSettingsFrom } from './ldap/settings.js';
import { proxyHeaderSettingsFrom, type ProxyHeaderSettings } from './proxy-header/settings.js';

/** LDAP login as configured in Calibre-Web: usable, or switched on but unusable (local logins only). */
type LdapLogin = { usable: true; settings: ResolvedLdapSettings } | { usable: false; problem: string };

export interface HeaderLogin extends ProxyHeaderSettings {
  /** The decrypted shared secret when one is required; undefined when it cannot be had (login refused). */
  sharedSecretValue: string | undefined;
}

/** What Calibre-Web's settings say about logging in, beyond the user's own password hash. */
interface LoginSettings {
  /** Undefined unless config_login_type is LDAP. */
  ldap: LdapLogin | undefined;
  /** Undefined unless config_allow_reverse_proxy_header_login is on and this server honours it. */
  headerLogin: HeaderLogin | undefined;
  /**
   * The header that logs a request in to Calibre-Web itself (config_reverse_proxy_login_header_name,
   * lower case) whenever that login is on there, whether this server honours it or not.
   */
  calibreWebLoginHeader: string | undefined;
}

interface LoginSettingsLog {
  warn(message: string): void;
  info(message: string): void;
}

interface LoginSettingsSourceOptions {
  appDb: AppDb;
  /** Calibre-Web's Fernet key: `.key` in the folder that holds app.db. */
  keyFile: string;
  lockWaitMs: number;
  /** KOSYNC_PROXY_HEADER_LOGIN: unless true, Calibre-Web's header-login settings are ignored. */
  honourHeaderLogin: boolean;
  log: LoginSettingsLog;
  /** Re-read at least this often even when app.db did not change (a new `.key`). */
  maxAgeMs?: number;
  /** Monotonic milliseconds (src/clock.ts). */
  now: () => number;
}

const SETTINGS_MAX_AGE_MS = 5000;

/**
 * Calibre-Web's `settings` row, kept current without a restart: read again whenever another
 * connection has committed to app.db since (SQLite's `PRAGMA data_version`, exact in every journal
 * mode) and at least every few seconds. A failed read keeps the last good settings.
 * Problems (unreadable `.key`, a token that does not decrypt, bad trusted-address entries) are logged
 * once each, naming the file or column, never the secret.
 */
export class LoginSettingsSource {
  private cached: { settings: LoginSettings; signature: string; readAt: number } | undefined;
  private pending: Promise<LoginSettings> | undefined;
  private readonly reported = new Map<string, string>();
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(private readonly options: LoginSettingsSourceOptions) {
    this.maxAgeMs = options.maxAgeMs ?? SETTINGS_MAX_AGE_MS;
    this.now = options.now;
  }

  /**
   * The settings, read again when app.db changed. Once read, a re-read never waits for app.db's lock:
   * while it is busy the last settings stand, so a request spends its lock-wait budget only once. The
   * first read waits until `deadline` (monotonic ms; by default the budget from now).
   */
  async current(deadline = this.now() + this.options.lockWaitMs): Promise<LoginSettings> {
    const signature = this.dataVersion();
    const cached = this.cached;
    if (cached && cached.signature === signature && this.now() - cached.readAt < this.maxAgeMs) return cached.settings;
    this.pending ??= this.reload(signature, cached ? 0 : msLeft(deadline, this.now())).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async reload(signature: string, lockWaitMs: number): Promise<LoginSettings> {
    const readAt = this.now();
    let row: Record<string, unknown>;
    try {
      row = await this.options.appDb.reading(readSettingsRow, lockWaitMs);
      this.report('settings', undefined);
    } catch (error) {
      if (this.cached) return this.cached.settings;
      this.report('settings', `cannot read the settings table of ${this.options.appDb.path}: ${(error as Error).message}`);
      throw error;
    }
    const settings = this.resolve(row);
    this.cached = { settings, signature, readAt };
    return settings;
  }

  private resolve(row: Record<string, unknown>): LoginSettings {
    /** A missing token is "" as in Calibre-Web (None → ""), without reading the key. */
    const decrypt = (column: string, value: Buffer | string | undefined): string | FernetError => {
      if (value === undefined) return '';
      const decrypted = decryptWithKeyFile(this.options.keyFile, value);
      if ('plaintext' in decrypted) return decrypted.plaintext;
      if (decrypted.problem !== 'does-not-decrypt') return new FernetError(decrypted.message);
      return new FernetError(`settings.${column} does not decrypt with ${this.options.keyFile}: ${decrypted.message}`);
    };

    let ldap: LdapLogin | undefined;
    const ldapSettings = ldapSettingsFrom(row);
    if (ldapSettings) {
      const password = ldapSettings.authentication === 2 ? decrypt('config_ldap_serv_password_e', ldapSettings.servicePasswordToken) : '';
      ldap =
        password instanceof FernetError
          ? { usable: false, problem: `LDAP service password unavailable (${password.message}); LDAP logins fall back to local passwords` }
          : { usable: true, settings: { ...ldapSettings, servicePassword: password } };
    }
    this.report('ldap', ldap && !ldap.usable ? ldap.problem : undefined);

    let headerLogin: HeaderLogin | undefined;
    const proxy = proxyHeaderSettingsFrom(row);
    this.report(
      'header-login-ignored',
      proxy && !this.options.honourHeaderLogin
        ? `Calibre-Web's reverse-proxy header login is on, but this server ignores the '${proxy.headerName}' header ` +
            'unless KOSYNC_PROXY_HEADER_LOGIN is true'
        : undefined,
    );
    if (proxy && this.options.honourHeaderLogin) {
      let sharedSecretValue: string | undefined;
      let problem: string | undefined;
      if (proxy.sharedSecret) {
        const secret = decrypt('config_reverse_proxy_login_header_secret_e', proxy.sharedSecret.token);
        if (secret instanceof FernetError) problem = secret.message;
        else if (secret === '' || proxy.sharedSecret.headerName === '') problem = 'no shared secret or secret header configured';
        else sharedSecretValue = secret;
      }
      headerLogin = { ...proxy, sharedSecretValue };
      this.report('header-secret', problem && `reverse-proxy header login refused: ${problem}`);
      this.report(
        'trusted-peers',
        proxy.invalidEntries.length > 0
          ? `ignoring invalid entries of config_reverse_proxy_trusted_ips: ${proxy.invalidEntries.join(', ')}`
          : undefined,
      );
    }
    return { ldap, headerLogin, calibreWebLoginHeader: proxy?.headerName };
  }

  /** Changes whenever another connection (Calibre-Web, or the sidecar's own writer) commits to app.db. */
  private dataVersion(): string {
    try {
      return this.options.appDb.changeSignature();
    } catch {
      return 'unknown'; // e.g. locked: the read that follows keeps the last settings, or waits for the first
    }
  }

  /** Logs a problem once, and once more when it goes away. */
  private report(slot: string, problem: string | undefined): void {
    const previous = this.reported.get(slot);
    if (problem === previous) return;
    if (problem === undefined) {
      this.reported.delete(slot);
      this.options.log.info(`resolved: ${previous}`);
    } else {
      this.reported.set(slot, problem);
      this.options.log.warn(problem);
    }
  }
}
