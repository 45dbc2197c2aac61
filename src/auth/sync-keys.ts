import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../clock.js';
import { formatSqlDatetime } from '../db/datetime.js';
import type { Connection } from '../db/query.js';
import { KosyncError } from '../errors.js';
import { findSyncKey, markSyncKeyUsed, saveSyncKey, type SyncKeyRow } from '../repos/sync-keys.js';
import type { UserRow } from '../repos/users.js';
import { fingerprintOf } from './remembered-logins.js';

/** bcrypt work factor: about 50 ms of one core, paid once per fresh key login (then remembered). */
export const BCRYPT_COST = 10;

const MD5_HEX = /^[0-9a-f]{32}$/;

let bcryptModule: Promise<typeof import('@node-rs/bcrypt')> | undefined;
/** The bcrypt addon, loaded on the first key login or recording: servers without keys never need it. */
function bcrypt(): Promise<typeof import('@node-rs/bcrypt')> {
  return (bcryptModule ??= import('@node-rs/bcrypt'));
}

/** KOReader's userkey: md5 of the password as lower-case hex (kosync.koplugin, notes/koreader.md §2.4). */
export function userkeyOf(password: string): string {
  return createHash('md5').update(password, 'utf8').digest('hex');
}

/** Why a key that was right when enabled no longer is. */
export type OutdatedReason = 'password' | 'account';

const OUTDATED_MESSAGES: Record<OutdatedReason, (page: string) => string> = {
  password: (page) =>
    `Your Calibre-Web password has changed since KOReader sync was enabled. Open ${page} in a browser and enable it again.`,
  // A rename (or a user id now held by another account): nothing says the password changed.
  account: (page) =>
    `Your Calibre-Web account has changed since KOReader sync was enabled. Open ${page} in a browser and sign in again to enable it.`,
};

/** Undefined while a stored key still fits the account; else what changed (a rename says nothing of the password). */
export function outdatedReason(row: SyncKeyRow, user: UserRow): OutdatedReason | undefined {
  if (row.user_name.toLowerCase() !== user.name.toLowerCase()) return 'account';
  return row.password_fingerprint === fingerprintOf(user.password) ? undefined : 'password';
}

/**
 * 401/2001 for a key that was right when enabled but whose Calibre-Web account changed since. The
 * message names the page where it is enabled again; `forPage` fills in its URL.
 */
export class SyncKeyOutdatedError extends KosyncError {
  constructor(
    readonly reason: OutdatedReason,
    pageUrl?: string,
  ) {
    super('unauthorized', OUTDATED_MESSAGES[reason](pageUrl ?? 'the sync server page'));
  }

  forPage(pageUrl: string): SyncKeyOutdatedError {
    return new SyncKeyOutdatedError(this.reason, pageUrl);
  }
}

/**
 * The 401 a stock-KOReader client shows its user (on Login it displays the message): says where to
 * enable sync rather than a bare "Unauthorized". The same text for every failed key login, so it tells
 * nothing about whether the account exists; only the holder of an outdated key learns that it is one.
 */
export function explainKeyFailure(error: unknown, headers: IncomingHttpHeaders, pageUrl: string): unknown {
  if (error instanceof SyncKeyOutdatedError) return error.forPage(pageUrl);
  const keyLogin = headers.authorization === undefined && headers['x-auth-user'] !== undefined;
  if (keyLogin && error instanceof KosyncError && error.kind === 'unauthorized') {
    return new KosyncError(
      'unauthorized',
      `Wrong username or password, or KOReader sync is not enabled for this account yet: sign in once at ${pageUrl} to enable it.`,
      { ...error.headers },
    );
  }
  return error;
}

export interface SyncKeysDeps {
  stateDb: Connection;
  clock: Clock;
  log: Pick<FastifyBaseLogger, 'warn'>;
  /** Store the verifier after every successful password login (KOSYNC_RECORD_KEYS_ON_LOGIN). */
  recordOnLogin: boolean;
}

/**
 * Stock-KOReader keys (PROTOCOL.md §3.5). KOReader authenticates with md5(password), which a Werkzeug
 * hash cannot check, so the sidecar keeps its own bcrypt verifier of that md5 in the state database,
 * bound to a fingerprint of the Calibre-Web password hash and the user name it was made for.
 */
export class SyncKeys {
  /**
   * Background recordings by user id, awaited before that user's key is checked (a key login right
   * after the Basic login that records it must find it) and on shutdown (no write to a closed database).
   */
  private readonly pending = new Map<number, Promise<void>>();
  /** Checked against when no key exists, so an unknown user costs what a wrong key costs. */
  private decoy: Promise<string> | undefined;

  constructor(private readonly deps: SyncKeysDeps) {}

  /**
   * Enables the key for a user whose password was just confirmed: (re)stores the verifier, after any
   * recording that confirmation started, so the explicit enable is the one that stays.
   */
  async enable(user: UserRow, password: string): Promise<void> {
    await this.pending.get(user.id);
    await this.store(user, password);
  }

  private async store(user: UserRow, password: string): Promise<void> {
    const verifier = await (await bcrypt()).hash(userkeyOf(password), BCRYPT_COST);
    saveSyncKey(this.deps.stateDb, {
      userId: user.id,
      userName: user.name,
      verifier,
      passwordFingerprint: fingerprintOf(user.password),
      at: this.now(),
    });
  }

  /**
   * After a password login succeeded: stores the verifier in the background when it is missing or no
   * longer fits, so a CWA-plugin user can switch to stock KOReader with nothing to do. Users without a
   * local hash (LDAP) have no fingerprint that changes with their password, so their stored verifier is
   * checked against the password just used instead. Recordings of one user run one after the other.
   */
  recordLogin(user: UserRow, password: string): void {
    if (!this.deps.recordOnLogin) return;
    const work: Promise<void> = (this.pending.get(user.id) ?? Promise.resolve())
      .then(async () => {
        const row = findSyncKey(this.deps.stateDb, user.id);
        if (row && outdatedReason(row, user) === undefined && (user.password !== '' || (await (await bcrypt()).verify(userkeyOf(password), row.verifier)))) return;
        await this.store(user, password);
      })
      .catch((error: unknown) => this.deps.log.warn({ err: error, userId: user.id }, 'could not record the KOReader sync key'))
      .finally(() => {
        if (this.pending.get(user.id) === work) this.pending.delete(user.id);
      });
    this.pending.set(user.id, work);
  }

  /**
   * Whether `key` (hex, any case) is the user's enabled key. Throws SyncKeyOutdatedError when it is the
   * key that was enabled but the account changed since; that is said only to someone holding the key.
   * `user` is undefined for an unknown or Guest user.
   */
  async verify(user: UserRow | undefined, key: string): Promise<boolean> {
    const userkey = key.trim().toLowerCase();
    if (user) await this.pending.get(user.id);
    const row = user && findSyncKey(this.deps.stateDb, user.id);
    if (!row || !MD5_HEX.test(userkey)) {
      await (await bcrypt()).verify(MD5_HEX.test(userkey) ? userkey : '0'.repeat(32), await this.decoyVerifier());
      return false;
    }
    if (!(await (await bcrypt()).verify(userkey, row.verifier))) return false;
    const outdated = outdatedReason(row, user);
    if (outdated) throw new SyncKeyOutdatedError(outdated);
    markSyncKeyUsed(this.deps.stateDb, user.id, this.now());
    return true;
  }

  /**
   * What a remembered key login is tied to: the user's stored hash and the current verifier, so a
   * password change, a re-enable or `keys revoke` (from another process) ends it at the next request.
   */
  bindingOf(user: UserRow): string {
    const row = findSyncKey(this.deps.stateDb, user.id);
    return `${user.password}\0${row?.verifier ?? ''}`;
  }

  /** Resolves when every background recording has finished. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending.values()]);
  }


  private decoyVerifier(): Promise<string> {
    this.decoy ??= bcrypt().then((b) => b.hash('not a key', BCRYPT_COST));
    return this.decoy;
  }

  private now(): string {
    return formatSqlDatetime(this.deps.clock.nowMicros());
  }
}
