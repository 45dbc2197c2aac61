import { createHash, randomBytes } from 'node:crypto';
import { type Clock, msLeft } from '../clock.js';
import type { AppDb } from '../db/app-db.js';
import { formatSqlDatetime } from '../db/datetime.js';
import type { StateDb } from '../db/state-db.js';
import { deleteSession, findCookieSecret, findSession, saveSession } from '../repos/sessions.js';
import { findUserById, isGuest, type UserRow } from '../repos/users.js';
import { fingerprintOf } from './remembered-logins.js';

/** How long starting or ending a session waits for a lock another process holds on the state DB: a person waits. */
const SESSION_WRITE_WAIT_MS = 10_000;

const DAY_MICROS = 24 * 3600 * 1_000_000;

const hashOf = (id: string) => createHash('sha256').update(id, 'utf8').digest('hex');

/**
 * The account page's signed-in sessions (docs/PROTOCOL.md §9.4). The cookie holds a random id (signed by
 * the cookie plugin with `secret`); the state DB keeps only its sha256, the user and a fingerprint of
 * their Calibre-Web password hash, so sign-out and a password change end a session on the server.
 */
export class Sessions {
  readonly secret: string;

  constructor(private readonly deps: { stateDb: StateDb; appDb: AppDb; clock: Clock; days: number }) {
    const secret = findCookieSecret(deps.stateDb.conn);
    if (!secret) throw new Error('the state database has no session cookie key (migration 005)');
    this.secret = secret;
  }

  /** Seconds a new session lasts (the cookie's Max-Age). */
  get maxAgeSeconds(): number {
    return this.deps.days * 24 * 3600;
  }

  /** Starts a session for a user who just signed in; the id for the cookie. */
  async start(user: UserRow): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    const now = this.deps.clock.nowMicros();
    const session = {
      id_hash: hashOf(id),
      user_id: user.id,
      password_fingerprint: fingerprintOf(user.password),
      created_at: formatSqlDatetime(now),
      expires_at: formatSqlDatetime(now + this.deps.days * DAY_MICROS),
    };
    await this.deps.stateDb.writing((conn) => saveSession(conn, session, session.created_at), SESSION_WRITE_WAIT_MS);
    return id;
  }

  /**
   * The user a session id stands for, or undefined when there is no such session, it expired, the user is
   * gone or Guest, or their password hash changed since it started. `deadline` (monotonic ms) ends any wait for app.db.
   */
  async userOf(id: string, deadline: number): Promise<UserRow | undefined> {
    const session = findSession(this.deps.stateDb.conn, hashOf(id));
    if (!session || session.expires_at <= formatSqlDatetime(this.deps.clock.nowMicros())) return undefined;
    const user = await this.deps.appDb.reading(
      (conn) => findUserById(conn, session.user_id),
      msLeft(deadline, this.deps.clock.monotonicMs()),
    );
    if (!user || isGuest(user) || fingerprintOf(user.password) !== session.password_fingerprint) return undefined;
    return user;
  }

  /** Ends a session (sign-out). */
  async end(id: string): Promise<void> {
    await this.deps.stateDb.writing((conn) => deleteSession(conn, hashOf(id)), SESSION_WRITE_WAIT_MS);
  }
}
