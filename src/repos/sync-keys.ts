import { queryBuilder, type Connection } from '../db/query.js';

/** The state database's `sync_keys` table (schema/state/001-sync-keys.sql). */
export interface SyncKeysTable {
  user_id: number;
  user_name: string;
  verifier: string;
  password_fingerprint: string;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
  /** The last password login that matched the key (schema/state/003-key-confirmation.sql). */
  confirmed_at: string | null;
}

export type SyncKeyRow = SyncKeysTable;

const keysQuery = queryBuilder<{ sync_keys: SyncKeysTable }>();

export function findSyncKey(conn: Connection, userId: number): SyncKeyRow | undefined {
  return conn.first(keysQuery.selectFrom('sync_keys').selectAll().where('user_id', '=', userId));
}

export function listSyncKeys(conn: Connection): SyncKeyRow[] {
  return conn.all(keysQuery.selectFrom('sync_keys').selectAll().orderBy('user_id'));
}

export interface SyncKeyWrite {
  userId: number;
  userName: string;
  verifier: string;
  passwordFingerprint: string;
  /** SQLAlchemy-format UTC text (src/db/datetime.ts). */
  at: string;
}

/** Stores a user's verifier, confirmed now; enabling again replaces it and keeps `created_at`. */
export function saveSyncKey(conn: Connection, key: SyncKeyWrite): void {
  conn.run(
    keysQuery
      .insertInto('sync_keys')
      .values({
        user_id: key.userId,
        user_name: key.userName,
        verifier: key.verifier,
        password_fingerprint: key.passwordFingerprint,
        created_at: key.at,
        updated_at: key.at,
        last_used_at: null,
        confirmed_at: key.at,
      })
      .onConflict((oc) =>
        oc.column('user_id').doUpdateSet({
          user_name: key.userName,
          verifier: key.verifier,
          password_fingerprint: key.passwordFingerprint,
          updated_at: key.at,
          confirmed_at: key.at,
        }),
      ),
  );
}

/** A password login matched the stored key again: it stays valid from `at`. */
export function confirmSyncKey(conn: Connection, userId: number, at: string): void {
  conn.run(keysQuery.updateTable('sync_keys').set({ confirmed_at: at }).where('user_id', '=', userId));
}

export function markSyncKeyUsed(conn: Connection, userId: number, at: string): void {
  conn.run(keysQuery.updateTable('sync_keys').set({ last_used_at: at }).where('user_id', '=', userId));
}

/** Removes a user's key; true when there was one. */
export function deleteSyncKey(conn: Connection, userId: number): boolean {
  return conn.run(keysQuery.deleteFrom('sync_keys').where('user_id', '=', userId)).changes > 0;
}
