import type { IncomingHttpHeaders } from 'node:http';
import type { AppDb } from '../db/app-db.js';
import { KosyncError } from '../errors.js';
import { findUserByName, isGuest, type UserRow } from '../repos/users.js';
import { readCredentials, type Credentials } from './credentials.js';
import type { PasswordVerifier } from './password-verifier.js';
import type { RememberedLogins } from './remembered-logins.js';
import type { SyncKeys } from './sync-keys.js';

export type AuthMethod = 'basic' | 'key' | 'ldap' | 'proxy' | 'remembered';

export interface Authenticated {
  user: UserRow;
  method: AuthMethod;
  credentials: Credentials;
}

export interface AuthenticatorDeps {
  appDb: AppDb;
  lockWaitMs: number;
  remembered: RememberedLogins;
  verifyPassword: PasswordVerifier;
  /** Stock-KOReader keys (PROTOCOL.md §3.5); without them an x-auth-key login always fails. */
  syncKeys?: Pick<SyncKeys, 'verify' | 'bindingOf' | 'recordLogin'>;
}

/**
 * Who is asking: HTTP Basic with a Calibre-Web password (PROTOCOL.md §3.1–3.2), answered from memory
 * when the same credentials were verified before and the user's stored hash has not changed since.
 * Every failure is the same 401/2001.
 */
export class Authenticator {
  /** Verifications under way, so concurrent first requests with one set of credentials verify once. */
  private readonly inFlight = new Map<string, Promise<Authenticated | undefined>>();

  constructor(private readonly deps: AuthenticatorDeps) {}

  async authenticate(headers: IncomingHttpHeaders): Promise<Authenticated> {
    const credentials = readCredentials(headers);
    if (!credentials) throw new KosyncError('unauthorized');
    return this.authenticateCredentials(credentials);
  }

  /** The same check for credentials that did not come in headers (the page's sign-in form). */
  async authenticateCredentials(credentials: Credentials): Promise<Authenticated> {
    const user = await this.deps.appDb.reading((conn) => findUserByName(conn, credentials.username), this.deps.lockWaitMs);
    const key = this.deps.remembered.keyFor(credentials);
    const binding = user && this.bindingOf(credentials, user);
    if (user && binding !== undefined && this.deps.remembered.find(key, user.id, binding)) {
      return { user, method: 'remembered', credentials };
    }
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.verify(credentials, user, key).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    const result = await pending;
    if (!result) throw new KosyncError('unauthorized');
    return result;
  }

  private async verify(credentials: Credentials, user: UserRow | undefined, key: string): Promise<Authenticated | undefined> {
    if (credentials.scheme === 'key') return this.verifyKey(credentials, user, key);
    if (!user || isGuest(user) || credentials.scheme !== 'basic') return undefined;
    const verified = await this.deps.verifyPassword(user, credentials.secret);
    if (!verified) return undefined;
    this.deps.remembered.remember(key, user.id, user.password, verified.method, verified.rememberMs);
    this.deps.syncKeys?.recordLogin(user, credentials.secret);
    return { user, method: verified.method, credentials };
  }

  private async verifyKey(credentials: Credentials, user: UserRow | undefined, key: string): Promise<Authenticated | undefined> {
    const keys = this.deps.syncKeys;
    if (!keys || !(await keys.verify(user && !isGuest(user) ? user : undefined, credentials.secret)) || !user) return undefined;
    this.deps.remembered.remember(key, user.id, keys.bindingOf(user), 'key');
    return { user, method: 'key', credentials };
  }

  /** What a remembered login is tied to: the stored hash, plus the current verifier for a key login. */
  private bindingOf(credentials: Credentials, user: UserRow): string | undefined {
    return credentials.scheme === 'key' ? this.deps.syncKeys?.bindingOf(user) : user.password;
  }
}
