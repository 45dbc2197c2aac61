/**
 * The account page's sessions (`sessions`, schema/state/005-history-links-sessions.sql), by the sha256 of
 * the id their cookie holds, and the key the cookie is signed with (`server_secrets`).
 */

import type { Selectable } from 'kysely';
import type { Connection } from '../db/query.js';
import { stateQuery } from '../db/state-db.js';
import type { SessionsTable } from '../db/tables.js';

export type SessionRow = Selectable<SessionsTable>;

/** The session cookie's signing key, made when the state DB was migrated. */
export function findCookieSecret(conn: Connection): string | undefined {
  return conn.first(stateQuery.selectFrom('server_secrets').select('value').where('name', '=', 'session_cookie'))?.value;
}

export function findSession(conn: Connection, idHash: string): SessionRow | undefined {
  return conn.first(stateQuery.selectFrom('sessions').selectAll().where('id_hash', '=', idHash));
}

/** Stores a new session; sessions past their expiry (anyone's) are deleted at the same time. */
export function saveSession(conn: Connection, session: SessionRow, now: string): void {
  conn.run(stateQuery.deleteFrom('sessions').where('expires_at', '<=', now));
  conn.run(stateQuery.insertInto('sessions').values(session));
}

export function deleteSession(conn: Connection, idHash: string): void {
  conn.run(stateQuery.deleteFrom('sessions').where('id_hash', '=', idHash));
}
