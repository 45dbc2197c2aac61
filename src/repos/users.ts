import { sql } from 'kysely';
import { appQuery } from '../db/app-db.js';
import { prepared, type Connection } from '../db/query.js';

export interface UserRow {
  id: number;
  name: string;
  role: number;
  password: string;
}

/**
 * Calibre-Web's ROLE_ANONYMOUS (constants.py, docs/UPSTREAM.md#calibre-web-users-and-roles): the Guest
 * account, which never logs in by password.
 */
const ROLE_ANONYMOUS = 32;

const userByName = prepared((p: { name: string }) =>
  appQuery
    .selectFrom('user')
    .select(['id', 'name', 'role', 'password'])
    .where(sql<string>`lower(name)`, '=', p.name)
    .orderBy('id')
    .limit(1),
);

/**
 * A user by name, as Calibre-Web looks it up everywhere (`func.lower(User.name) == name.lower()`,
 * `.first()`: docs/UPSTREAM.md#calibre-web-users-and-roles): SQLite's ASCII-only lower() on the column,
 * a Unicode lower-casing of the input, lowest id.
 */
export function findUserByName(conn: Connection, name: string): UserRow | undefined {
  const row = conn.first(userByName, { name: name.toLowerCase() });
  return row && normalise(row);
}

export function findUserById(conn: Connection, id: number): UserRow | undefined {
  const row = conn.first(appQuery.selectFrom('user').select(['id', 'name', 'role', 'password']).where('id', '=', id));
  return row && normalise(row);
}

export function isGuest(user: Pick<UserRow, 'role'>): boolean {
  return (user.role & ROLE_ANONYMOUS) === ROLE_ANONYMOUS;
}

function normalise(row: { id: number; name: string | null; role: number | null; password: string | null }): UserRow {
  return { id: row.id, name: row.name ?? '', role: row.role ?? 0, password: row.password ?? '' };
}

/** Every non-empty password hash, lowest user id first (to pick the decoy hash format of the site). */
export function listPasswordHashes(conn: Connection): string[] {
  return conn
    .all(appQuery.selectFrom('user').select('password').where('password', '!=', '').orderBy('id'))
    .flatMap((row) => (row.password ? [row.password] : []));
}

/** One stored hash of each method users have (`pbkdf2:sha256:600000`, `scrypt:32768:8:1`, …). */
export function listPasswordFormats(conn: Connection): { method: string; sample: string }[] {
  return conn
    .statement(
      `SELECT substr(password, 1, instr(password, '$') - 1) AS method, min(password) AS sample
       FROM user WHERE instr(password, '$') > 1 GROUP BY method ORDER BY method`,
    )
    .all() as { method: string; sample: string }[];
}
