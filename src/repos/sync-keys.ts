import type { Selectable } from 'kysely';
import type { Connection } from '../db/query.js';
import { stateQuery } from '../db/state-db.js';
import type { SyncKeysTable } from '../db/tables.js';

export type SyncKeyRow = Selectable<SyncKeysTable>;

export function findSyncKey(conn: Connection, userId: number): SyncKeyRow | undefined {
  return conn.first(stateQuery.selectFrom('sync_keys').selectAll().where('user_id', '=', userId));
}

export function listSyncKeys(conn: Connection): SyncKeyRow[] {
  return conn.all(stateQuery.selectFrom('sync_keys').selectAll().orderBy('user_id'));
}

interface SyncKeyWrite {
  userId: number;
  userName: string;
  verifier: string;
  passwordFingerprint: string;
  /** SQLAlchemy-format UTC text (src/db/datetime.ts). */
  at: string;
}

/** Stores a user's verifier, confirmed now; enabling again replaces it and keeps `created_at`. */
export function saveSyncKey(conn: Connection, key: SyncKeyWrite): void {
  const enabled = {
    user_name: key.userName,
    verifier: key.verifier,
    password_fingerprint: key.passwordFingerprint,
    updated_at: key.at,
    confirmed_at: key.at,
  };
  conn.run(
    stateQuery
      .insertInto('sync_keys')
      .values({ user_id: key.userId, created_at: key.at, last_used_at: null, ...enabled })
      .onConflict((oc) => oc.column('user_id').doUpdateSet(enabled)),
  );
}

/** A password login matched the stored key again: it stays valid from `at`. */
export function confirmSyncKey(conn: Connection, userId: number, at: string): void {
  conn.run(stateQuery.updateTable('sync_keys').set({ confirmed_at: at }).where('user_id', '=', userId));
}

export function markSyncKeyUsed(conn: Connection, userId: number, at: string): void {
  conn.run(stateQuery.updateTable('sync_keys').set({ last_used_at: at }).where('user_id', '=', userId));
}

/** Removes a user's key; true when there was one. */
export function deleteSyncKey(conn: Connection, userId: number): boolean {
  return conn.run(stateQuery.deleteFrom('sync_keys').where('user_id', '=', userId)).changes > 0;
}
