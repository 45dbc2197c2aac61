import type { IncomingHttpHeaders } from 'node:http';
import { msLeft } from '../clock.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppDb } from '../db/app-db.js';
import { LoginFailed, VerificationsFull } from '../domain-errors.js';
import { findUserByName, isGuest, type UserRow } from '../repos/users.js';
import { verificationShareKey } from './client-address.js';
import { readCredentials, type Credentials } from './credentials.js';
import type { DecoyPassword } from './decoy-password.js';
import type { FailurePadding } from './failure-padding.js';
import type { LoginLimiter } from './login-limiter.js';
import type { PasswordVerifier } from './password-verifier.js';
import type { HeaderLoginCheck } from './proxy-header/login.js';
import type { RememberedLogins } from './remembered-logins.js';
import type { SyncKeys } from './sync-keys.js';
import type { VerificationQueue } from './verification-queue.js';

export type AuthMethod = 'basic' | 'key' | 'ldap' | 'proxy' | 'remembered';

interface Authenticated {
  user: UserRow;
  method: AuthMethod;
  /** Absent for a reverse-proxy header login. */
  credentials?: Credentials;
}

interface AuthenticatorDeps {
  appDb: AppDb;
  /** Monotonic milliseconds (src/clock.ts), against which lock-wait deadlines are counted. */
  now: () => number;
  remembered: RememberedLogins;
  verifyPassword: PasswordVerifier;
  /** Stock-KOReader keys (docs/PROTOCOL.md §3.5); without them an x-auth-key login always fails. */
  syncKeys?: Pick<SyncKeys, 'verify' | 'bindingOf' | 'recordLogin' | 'rememberMsOf'>;
  /** Failed-login limits, consulted before any verification (429); none when absent. */
  limiter?: LoginLimiter;
  /** The cap on concurrent verifications, in total and per client (VerificationsFull when full); unbounded when absent. */
  verifications?: VerificationQueue;
  /** Makes logins that cannot succeed cost a real verification; they fail at once when absent. */
  decoy?: DecoyPassword;
  /** Makes every failed password login last as long as one of the slowest hash format's; none when absent. */
  padding?: FailurePadding;
  /** Calibre-Web's reverse-proxy header login (docs/PROTOCOL.md §3.4), consulted before any credentials. */
  headerLogin?: HeaderLoginCheck;
}

/** A verification's outcome, and when it began (monotonic ms) to pad a failure from. */
interface Checked {
  result: Authenticated | undefined;
  startedAt: number;
}

/**
 * Who is asking: HTTP Basic with a Calibre-Web password (docs/PROTOCOL.md §3.1–3.2), answered from
 * memory when the same credentials were verified before and the user's stored hash has not changed
 * since. Every failure is the same LoginFailed.
 */
export class Authenticator {
  /** Verifications under way, so concurrent first requests with one set of credentials verify once. */
  private readonly inFlight = new Map<string, Promise<Checked>>();

  constructor(private readonly deps: AuthenticatorDeps) {}

  /**
   * `clientAddress` is what failed logins are counted under (fastify's request.ip); `peerAddress` is the
   * connecting socket's address, the one a proxy header must come from. `deadline` (monotonic ms) ends
   * every wait for app.db's lock, however many reads the check makes: one budget per request.
   */
  async authenticate(
    headers: IncomingHttpHeaders,
    clientAddress: string | undefined,
    peerAddress: string | undefined,
    deadline: number,
  ): Promise<Authenticated> {
    const proxied = await this.deps.headerLogin?.(headers, peerAddress, deadline);
    if (proxied) return { user: proxied, method: 'proxy' };
    const credentials = readCredentials(headers);
    if (!credentials) throw new LoginFailed('no credentials, or malformed ones');
    return this.authenticateCredentials(credentials, clientAddress, deadline);
  }

  /** The same check for credentials that did not come in headers (the page's sign-in form). */
  async authenticateCredentials(credentials: Credentials, clientAddress: string | undefined, deadline: number): Promise<Authenticated> {
    const user = await this.deps.appDb.reading((conn) => findUserByName(conn, credentials.username), msLeft(deadline, this.deps.now()));
    const key = this.deps.remembered.keyFor(credentials);
    const binding = user && this.bindingOf(credentials, user);
    if (user && binding !== undefined && this.deps.remembered.find(key, user.id, binding)) {
      return { user, method: 'remembered', credentials };
    }
    const attempt = this.deps.limiter?.begin(clientAddress, credentials.username);
    // A username under attack: wait before the check (holding no verification slot), never refuse.
    if (attempt?.delayMs) await sleep(attempt.delayMs);
    let pending = this.inFlight.get(key);
    if (!pending) {
      const check = async (): Promise<Checked> => {
        const startedAt = this.deps.now();
        return { result: await this.verify(credentials, user, key, deadline), startedAt };
      };
      const share = clientAddress === undefined ? undefined : verificationShareKey(clientAddress);
      pending = (this.deps.verifications ? this.deps.verifications.run(check, share) : check()).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    let checked: Checked;
    try {
      checked = await pending;
    } catch (error) {
      if (error instanceof VerificationsFull) attempt?.refused();
      else attempt?.abandoned();
      throw error;
    }
    const { result } = checked;
    if (!result) {
      attempt?.failed();
      // Outside the verification slot: the wait costs no CPU and holds no place in the queue.
      if (credentials.scheme === 'basic') await this.deps.padding?.pad(checked.startedAt);
      throw new LoginFailed('wrong credentials');
    }
    attempt?.succeeded();
    return result;
  }

  private async verify(
    credentials: Credentials,
    user: UserRow | undefined,
    key: string,
    deadline: number,
  ): Promise<Authenticated | undefined> {
    if (credentials.scheme === 'key') return this.verifyKey(credentials, user, key);
    if (!user || isGuest(user) || credentials.scheme !== 'basic') return this.failLikeAWrongPassword(credentials, deadline);
    const verified = await this.deps.verifyPassword(user, credentials.secret, deadline);
    if (!verified) return user.password === '' ? this.failLikeAWrongPassword(credentials, deadline) : undefined;
    this.deps.remembered.remember(key, user.id, user.password, verified.method, verified.rememberMs);
    this.deps.syncKeys?.recordLogin(user, credentials.secret);
    return { user, method: verified.method, credentials };
  }

  private async verifyKey(credentials: Credentials, user: UserRow | undefined, key: string): Promise<Authenticated | undefined> {
    const keys = this.deps.syncKeys;
    if (!keys || !(await keys.verify(user && !isGuest(user) ? user : undefined, credentials.secret)) || !user) return undefined;
    this.deps.remembered.remember(key, user.id, keys.bindingOf(user), 'key', keys.rememberMsOf(user));
    return { user, method: 'key', credentials };
  }

  /** Unknown user, Guest, no local hash: same time and same LoginFailed as a wrong password (no enumeration). */
  private async failLikeAWrongPassword(credentials: Credentials, deadline: number): Promise<undefined> {
    await this.deps.decoy?.check(credentials.username, credentials.secret, deadline);
    return undefined;
  }

  /** What a remembered login is tied to: the stored hash, plus the current verifier for a key login. */
  private bindingOf(credentials: Credentials, user: UserRow): string | undefined {
    return credentials.scheme === 'key' ? this.deps.syncKeys?.bindingOf(user) : user.password;
  }
}
