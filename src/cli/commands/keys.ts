import { keyExpiresAt, outdatedReason } from '../../auth/sync-keys.js';
import type { Config } from '../../config.js';
import { defaultStatePath } from '../../databases.js';
import { AppDb } from '../../db/app-db.js';
import { formatSqlDatetime } from '../../db/datetime.js';
import { StartupError } from '../../db/startup-error.js';
import { StateDb } from '../../db/state-db.js';
import { deleteSyncKey, listSyncKeys, type SyncKeyRow } from '../../repos/sync-keys.js';
import { findUserById, findUserByName, type UserRow } from '../../repos/users.js';
import type { Command, CommandContext } from '../command.js';
import { table } from '../table.js';

interface Opened {
  appDb: AppDb;
  stateDb: StateDb;
}

function openBoth(config: Config): Opened {
  if (!config.appDb) throw new StartupError('KOSYNC_APP_DB is not set');
  const appDb = AppDb.open(config.appDb);
  try {
    return { appDb, stateDb: StateDb.open(config.stateDb ?? defaultStatePath(config.appDb)) };
  } catch (error) {
    appDb.close();
    throw error;
  }
}

function stateOf(key: SyncKeyRow, user: UserRow | undefined, expiresAt: number | undefined, nowSeconds: number): string {
  if (!user) return 'user deleted';
  const outdated = outdatedReason(key, user);
  if (outdated === 'account') return 'outdated (account renamed): enable again';
  if (outdated === 'password') return 'outdated (password changed): enable again';
  return expiresAt !== undefined && nowSeconds >= expiresAt ? 'expired: sign in again' : 'active';
}

/** `2026-11-28 15:21:55.781869` → `2026-11-28 15:21 UTC`. */
function shortTime(stored: string | null): string {
  return stored === null ? '-' : `${stored.slice(0, 16)} UTC`;
}

function list({ appDb, stateDb }: Opened, { stdout, config, clock }: CommandContext): number {
  const keys = listSyncKeys(stateDb.conn);
  if (keys.length === 0) {
    stdout.write('No user has enabled KOReader sync keys.\n');
    return 0;
  }
  const nowSeconds = clock.nowMicros() / 1_000_000;
  const rows = keys.map((key) => {
    const user = findUserById(appDb.read, key.user_id);
    // Keys of users without a local password (LDAP) expire; the others follow the password and do not.
    const expiresAt = user && keyExpiresAt(key, user, config.ldapKeyDays);
    return [
      user?.name ?? key.user_name,
      String(key.user_id),
      shortTime(key.created_at),
      shortTime(key.updated_at),
      shortTime(key.last_used_at),
      expiresAt === undefined ? '-' : shortTime(formatSqlDatetime(expiresAt * 1_000_000)),
      stateOf(key, user, expiresAt, nowSeconds),
    ];
  });
  stdout.write(table([['USER', 'ID', 'ENABLED', 'UPDATED', 'LAST USED', 'EXPIRES', 'STATE'], ...rows]));
  return 0;
}

function revoke({ appDb, stateDb }: Opened, { positionals, stdout, stderr }: CommandContext): number {
  const name = positionals[1] ?? '';
  if (positionals.length !== 2 || name === '') {
    stderr.write('calibre-web-kosync keys revoke: give exactly one user name\n');
    return 2;
  }
  // The user as Calibre-Web finds them; a deleted user by the name stored with the key.
  const userId =
    findUserByName(appDb.read, name)?.id ??
    listSyncKeys(stateDb.conn).find((key) => key.user_name.toLowerCase() === name.toLowerCase())?.user_id;
  if (userId === undefined || !deleteSyncKey(stateDb.conn, userId)) {
    stderr.write(`No KOReader sync key for "${name}".\n`);
    return 1;
  }
  stdout.write(`Revoked the KOReader sync key of "${name}": stock KOReader logins with it fail from now on.\n`);
  return 0;
}

/** `keys list` and `keys revoke <user>`: the stock-KOReader keys in the state database. */
export const keysCommand: Command = {
  name: 'keys',
  summary: 'list the users who enabled stock KOReader sync, or revoke one user’s key',
  usage: 'keys list | keys revoke <user>',
  help: [
    'keys list            every enabled key: user, when enabled, last used, when it expires, and whether it',
    '                     still fits the user’s Calibre-Web account ("outdated" once the password or name',
    '                     changed). Keys of users without a local password (LDAP) expire KOSYNC_LDAP_KEY_DAYS',
    '                     after the last password login that matched them; the others never expire.',
    'keys revoke <user>   delete the user’s key; a running server refuses it at the next request. The user',
    '                     enables it again on the page at BASE (or, unless KOSYNC_RECORD_KEYS_ON_LOGIN is',
    '                     false, by their next password login from CWA’s plugin).',
  ].join('\n'),
  run: async (context) => {
    const action = context.positionals[0];
    if (action !== 'list' && action !== 'revoke') {
      context.stderr.write(`calibre-web-kosync keys: expected "list" or "revoke <user>"${action ? `, got "${action}"` : ''}\n`);
      return 2;
    }
    const opened = openBoth(context.config);
    try {
      return action === 'list' ? list(opened, context) : revoke(opened, context);
    } finally {
      opened.stateDb.close();
      opened.appDb.close();
    }
  },
};
