import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { AppDb } from '../db/app-db.js';
import type { StateDb } from '../db/state-db.js';
import { isBusy } from '../db/busy.js';
import { listPasswordFormats, listPasswordHashes } from '../repos/users.js';
import { Authenticator } from './authenticator.js';
import { DecoyPassword } from './decoy-password.js';
import { FailurePadding, timeFailedCheck } from './failure-padding.js';
import { keyFileBeside } from './fernet.js';
import { findLdapUser } from './ldap/directory.js';
import { ldapThenLocalVerifier } from './ldap/ldap-then-local.js';
import { LoginLimiter } from './login-limiter.js';
import { LoginSettingsSource } from './login-settings.js';
import type { PasswordVerifier } from './password-verifier.js';
import { proxyHeaderLogin } from './proxy-header/login.js';
import { RememberedLogins } from './remembered-logins.js';
import { SyncKeys } from './sync-keys.js';
import { VerificationQueue } from './verification-queue.js';

interface LoginServicesOptions {
  config: Config;
  appDb: AppDb;
  stateDb: StateDb;
  clock: Clock;
  log: FastifyBaseLogger;
  /** The local Werkzeug-hash check (timed for metrics, or wrapped by tests). */
  localVerifier: PasswordVerifier;
  /** Pad failed password logins to the slowest hash format's time (tests not about timing turn it off). */
  padFailedLogins: boolean;
}

interface LoginServices {
  authenticator: Authenticator;
  syncKeys: SyncKeys;
  /** Calibre-Web's LDAP and reverse-proxy settings, re-read from app.db while running. */
  loginSettings: LoginSettingsSource;
}

/** Everything that decides who a request is, wired from the configuration. */
export function createLoginServices({
  config,
  appDb,
  stateDb,
  clock,
  log,
  localVerifier,
  padFailedLogins,
}: LoginServicesOptions): LoginServices {
  const now = () => clock.monotonicMs();
  const loginSettings = new LoginSettingsSource({
    appDb,
    keyFile: keyFileBeside(appDb.path),
    lockWaitMs: config.lockWaitMs,
    honourHeaderLogin: config.proxyHeaderLogin,
    log,
    now,
  });
  const syncKeys = new SyncKeys({
    stateDb: stateDb.conn,
    stateWrites: stateDb,
    clock,
    log,
    recordOnLogin: config.recordKeysOnLogin,
    ldapKeyDays: config.ldapKeyDays,
    ldapRememberMs: config.ldapRememberMs,
    directoryHas: async (username) => {
      const { ldap } = await loginSettings.current();
      return ldap?.usable ? findLdapUser(ldap.settings, username) : { result: 'unavailable', reason: 'LDAP login is not on' };
    },
  });
  const padding = padFailedLogins
    ? new FailurePadding({
        storedFormats: () => withoutWaiting(() => listPasswordFormats(appDb.read)),
        version: () => withoutWaiting(() => appDb.changeSignature()),
        measure: (hash) => timeFailedCheck(hash, now),
        now,
      })
    : undefined;
  const verifyPassword = padding ? padding.observing(localVerifier) : localVerifier;
  const authenticator = new Authenticator({
    appDb,
    now,
    remembered: new RememberedLogins(config.rememberedLogins, now),
    verifyPassword: ldapThenLocalVerifier({ settings: loginSettings, local: verifyPassword, rememberMs: config.ldapRememberMs, log }),
    ...(config.proxyHeaderLogin ? { headerLogin: proxyHeaderLogin({ settings: loginSettings, appDb, now, log }) } : {}),
    limiter: new LoginLimiter(config.loginLimits, now),
    verifications: new VerificationQueue({
      concurrency: config.verifyConcurrency,
      maxWaiting: config.verifyQueue,
      perShare: config.verifyPerAddress,
    }),
    decoy: new DecoyPassword(verifyPassword, (lockWaitMs) => appDb.reading(listPasswordHashes, lockWaitMs), now),
    ...(padding ? { padding } : {}),
    syncKeys,
  });
  return { authenticator, syncKeys, loginSettings };
}

/** `read()`, or undefined when app.db is locked right now: for reads that must never wait. */
function withoutWaiting<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    if (isBusy(error)) return undefined;
    throw error;
  }
}
