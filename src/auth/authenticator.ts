import type { IncomingHttpHeaders } from 'node:http';
import type { AppDb } from '../db/app-db.js';
import { KosyncError } from '../errors.js';
import { findUserByName, isGuest, type UserRow } from '../repos/users.js';
import { readCredentials, type Credentials } from './credentials.js';
import type { PasswordVerifier } from './password-verifier.js';
import type { RememberedLogins } from './remembered-logins.js';

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
    const user = await this.deps.appDb.reading((conn) => findUserByName(conn, credentials.username), this.deps.lockWaitMs);
    const key = this.deps.remembered.keyFor(credentials);
    if (user && this.deps.remembered.find(key, user.id, user.password)) {
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
    if (!user || isGuest(user) || credentials.scheme !== 'basic') return undefined;
    const verified = await this.deps.verifyPassword(user, credentials.secret);
    if (!verified) return undefined;
    this.deps.remembered.remember(key, user.id, user.password, verified.method, verified.rememberMs);
    return { user, method: verified.method, credentials };
  }
}
