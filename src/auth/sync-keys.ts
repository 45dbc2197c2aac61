import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../clock.js';
import { formatSqlDatetime, storedDatetimeToEpochSeconds } from '../db/datetime.js';
import type { Connection } from '../db/query.js';
import type { StateDb } from '../db/state-db.js';
import { type OutdatedKeyReason, SyncKeyOutdated } from '../domain-errors.js';
import { confirmSyncKey, deleteSyncKey, findSyncKey, markSyncKeyUsed, saveSyncKey, type SyncKeyRow } from '../repos/sync-keys.js';
import type { UserRow } from '../repos/users.js';
import type { LdapPresence } from './ldap/directory.js';
import { md5Hex } from '../util/md5.js';
import { fingerprintOf } from './remembered-logins.js';

/**
 * How long enabling a key on the page waits for a lock another process holds on the state DB (off the
 * event loop), before the page says to try again: a person in a browser waits that long.
 */
const ENABLE_WAIT_MS = 10_000;

/** bcrypt work factor: about 50 ms of one core, paid once per fresh key login (then remembered). */
const BCRYPT_COST = 10;

const MD5_HEX = /^[0-9a-f]{32}$/;

let bcryptModule: Promise<typeof import('@node-rs/bcrypt')> | undefined;
/** The bcrypt addon, loaded on the first key login or recording: servers without keys never need it. */
function bcrypt(): Promise<typeof import('@node-rs/bcrypt')> {
  bcryptModule ??= import('@node-rs/bcrypt');
  return bcryptModule;
}

/** KOReader's userkey: md5 of the password as lower-case hex (docs/UPSTREAM.md#koreader-keys-and-document-ids). */
function userkeyOf(password: string): string {
  return md5Hex(password);
}

const DAY_SECONDS = 24 * 60 * 60;

/**
 * When (epoch seconds) the key of a user without a local password expires: KOSYNC_LDAP_KEY_DAYS after
 * the password login that last confirmed it. Undefined for a user with a local password, whose key
 * follows their password hash instead and never expires.
 */
export function keyExpiresAt(row: SyncKeyRow, user: UserRow, days: number): number | undefined {
  if (user.password !== '') return undefined;
  return (storedDatetimeToEpochSeconds(row.confirmed_at ?? row.updated_at) ?? 0) + days * DAY_SECONDS;
}

/** Undefined while a stored key still fits the account; else what changed (a rename says nothing of the password). */
export function outdatedReason(row: SyncKeyRow, user: UserRow): OutdatedKeyReason | undefined {
  if (row.user_name.toLowerCase() !== user.name.toLowerCase()) return 'account';
  return row.password_fingerprint === fingerprintOf(user.password) ? undefined : 'password';
}

interface SyncKeysDeps {
  stateDb: Connection;
  /** Writes to the state DB without stalling the event loop while another process holds its lock. */
  stateWrites: Pick<StateDb, 'writing' | 'later'>;
  clock: Clock;
  log: Pick<FastifyBaseLogger, 'warn'>;
  /** Store the verifier after every successful password login (KOSYNC_RECORD_KEYS_ON_LOGIN). */
  recordOnLogin: boolean;
  /** Days a key of a user without a local password stays valid after a password login confirmed it (KOSYNC_LDAP_KEY_DAYS). */
  ldapKeyDays: number;
  /** How long a key login of such a user may be remembered: as long as an LDAP password login (KOSYNC_LDAP_REMEMBER_SECONDS). */
  ldapRememberMs: number;
  /** Whether the LDAP directory still has the user; `unavailable` (or LDAP off) leaves the key to its expiry. */
  directoryHas?: (username: string) => Promise<LdapPresence>;
}

/**
 * Stock-KOReader keys (docs/PROTOCOL.md §3.5). KOReader authenticates with md5(password), which a
 * Werkzeug hash cannot check, so the sidecar keeps its own bcrypt verifier of that md5 in the state
 * database, bound to a fingerprint of the Calibre-Web password hash and the user name it was made for.
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
    await this.store(user, password, 'now');
  }

  /** Stores the verifier: at once when asked for on the page (DatabaseBusy if the state DB stays locked), else when it can. */
  private async store(user: UserRow, password: string, wait: 'now' | 'later'): Promise<void> {
    const verifier = await (await bcrypt()).hash(userkeyOf(password), BCRYPT_COST);
    const key = { userId: user.id, userName: user.name, verifier, passwordFingerprint: fingerprintOf(user.password), at: this.now() };
    const write = (conn: Connection) => saveSyncKey(conn, key);
    if (wait === 'now') await this.deps.stateWrites.writing(write, ENABLE_WAIT_MS, `sync-key:${user.id}`);
    else this.deps.stateWrites.later(`sync-key:${user.id}`, 'recording a KOReader sync key after a login', write);
  }

  /**
   * After a password login succeeded: stores the verifier in the background when it is missing or no
   * longer fits, so a CWA-plugin user can switch to stock KOReader with nothing to do. Users without a
   * local hash (LDAP) have no fingerprint that changes with their password, so their stored verifier is
   * checked against the password just used instead. Recordings of one user run one after the other.
   */
  recordLogin(user: UserRow, password: string): void {
    // Without a local password a login also renews the key it matches, whatever KOSYNC_RECORD_KEYS_ON_LOGIN says.
    if (!this.deps.recordOnLogin && user.password !== '') return;
    const work: Promise<void> = (this.pending.get(user.id) ?? Promise.resolve())
      .then(async () => {
        const row = findSyncKey(this.deps.stateDb, user.id);
        if (row && outdatedReason(row, user) === undefined) {
          if (user.password !== '') return;
          if (await (await bcrypt()).verify(userkeyOf(password), row.verifier)) {
            const at = this.now();
            this.deps.stateWrites.later(
              `key-confirmed:${user.id}`,
              'recording when a KOReader sync key was confirmed by an LDAP login',
              (conn) => confirmSyncKey(conn, user.id, at),
            );
            return;
          }
        }
        if (this.deps.recordOnLogin) await this.store(user, password, 'later');
      })
      .catch((error: unknown) => this.deps.log.warn({ err: error, userId: user.id }, 'could not record the KOReader sync key'))
      .finally(() => {
        if (this.pending.get(user.id) === work) this.pending.delete(user.id);
      });
    this.pending.set(user.id, work);
  }

  /**
   * Whether `key` (hex, any case) is the user's enabled key. Throws SyncKeyOutdated when it is the
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
    if (outdated) throw new SyncKeyOutdated(outdated);
    if (user.password === '') await this.checkWithoutLocalPassword(row, user);
    const at = this.now();
    this.deps.stateWrites.later(`last-used:${user.id}`, 'recording when a KOReader sync key was last used', (conn) =>
      markSyncKeyUsed(conn, user.id, at),
    );
    return true;
  }

  /** How long a key login of `user` may be answered from memory; undefined: as long as any login. */
  rememberMsOf(user: UserRow): number | undefined {
    return user.password === '' ? this.deps.ldapRememberMs : undefined;
  }

  /**
   * A key of a user without a local password (LDAP) is bound to nothing in app.db that changes with
   * their password, and the md5 a key login carries cannot be checked against the directory. So it
   * lasts KOSYNC_LDAP_KEY_DAYS from the password login that last confirmed it, and only while the
   * directory still has the user (asked with the service bind; when it cannot be asked, the expiry
   * alone decides).
   */
  private async checkWithoutLocalPassword(row: SyncKeyRow, user: UserRow): Promise<void> {
    if (this.deps.clock.nowMicros() / 1_000_000 >= keyExpiresAt(row, user, this.deps.ldapKeyDays)!) throw new SyncKeyOutdated('expired');
    const presence = await this.deps.directoryHas?.(user.name);
    if (presence?.result === 'unavailable') {
      this.deps.log.warn(
        `LDAP directory not available to confirm "${user.name}" for a KOReader key login (${presence.reason}); ` +
          'the key stays valid until it expires',
      );
    } else if (presence?.result === 'not-found') {
      this.deps.log.warn(`KOReader key of "${user.name}" refused: no longer in the LDAP directory`);
      throw new SyncKeyOutdated('account');
    }
  }

  /**
   * What a remembered key login is tied to: the user's stored hash and the current verifier, so a
   * password change, a re-enable or `keys revoke` (from another process) ends it at the next request.
   */
  bindingOf(user: UserRow): string {
    const row = findSyncKey(this.deps.stateDb, user.id);
    return `${user.password}\0${row?.verifier ?? ''}`;
  }

  /** When the user's key was enabled and last used (epoch seconds), or undefined when there is none. */
  status(user: UserRow): { enabledAt: number; lastUsedAt: number | null } | undefined {
    const row = findSyncKey(this.deps.stateDb, user.id);
    if (!row) return undefined;
    return {
      enabledAt: storedDatetimeToEpochSeconds(row.updated_at) ?? 0,
      lastUsedAt: row.last_used_at === null ? null : (storedDatetimeToEpochSeconds(row.last_used_at) ?? null),
    };
  }

  /** Revokes the user's key from the account page, after any recording in flight (which would bring it back). */
  async revoke(user: UserRow): Promise<void> {
    await this.pending.get(user.id);
    await this.deps.stateWrites.writing((conn) => deleteSyncKey(conn, user.id), ENABLE_WAIT_MS, `sync-key:${user.id}`);
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
