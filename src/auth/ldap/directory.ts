import { readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { Client } from 'ldapts';
import { userFilter } from './filter.js';
import type { LdapSettings } from './settings.js';

/** LDAP settings ready to use: the service password already decrypted from its Fernet token. */
export interface ResolvedLdapSettings extends LdapSettings {
  servicePassword: string;
}

/**
 * What an LDAP login attempt came to. Only `bound` logs the user in; every other outcome sends the login
 * on to the local password, as CWA's kosync.py authenticate_user does
 * (docs/UPSTREAM.md#cwa-the-original-kosyncpy).
 */
type LdapOutcome =
  | { result: 'bound' }
  /** The user's own bind was refused (wrong password, or any error on that bind). */
  | { result: 'rejected'; reason: string }
  /** The service-bound search found no entry for the name. */
  | { result: 'not-found' }
  /** Server down, TLS failure, service bind refused, bad configuration, or no answer in time. */
  | { result: 'unavailable'; reason: string };

/** Whether the directory has an entry for a name: `unavailable` when it could not be asked. */
export type LdapPresence = { result: 'found' } | { result: 'not-found' } | { result: 'unavailable'; reason: string };

export interface LdapTimeouts {
  /** TCP (and TLS) connection set-up, per connection. */
  connectMs: number;
  /** Each LDAP operation (STARTTLS, bind, search). */
  operationMs: number;
  /** The whole attempt: both connections and all their operations. */
  totalMs: number;
}

/**
 * Well under KOReader's 5 s request budget, leaving room for the local-password fallback.
 * Calibre-Web uses a 10 s connect timeout and none per operation; a sync client cannot wait that long.
 */
export const DEFAULT_LDAP_TIMEOUTS: LdapTimeouts = { connectMs: 1500, operationMs: 1500, totalMs: 3000 };

/**
 * Calibre-Web's LDAP login (simpleldap.py `bind_user` over Flask-SimpleLDAP,
 * docs/UPSTREAM.md#calibre-web-ldap): bind as the service account per config_ldap_authentication, search
 * config_ldap_dn (subtree) with config_ldap_user_object, take the first entry's DN (or its
 * `distinguishedName` attribute when config_ldap_openldap is off), then bind as that DN with the
 * password on a new connection. Referrals are not chased (OPT_REFERRALS 0). Every connection is closed
 * before this returns.
 */
export async function bindLdapUser(
  settings: ResolvedLdapSettings,
  username: string,
  password: string,
  timeouts: LdapTimeouts = DEFAULT_LDAP_TIMEOUTS,
): Promise<LdapOutcome> {
  return withSession(timeouts, (session) => runAttempt(settings, username, password, timeouts, session));
}

/**
 * Whether the directory still has an entry for `username`: the service bind and search of a login,
 * without the user's bind (a stock-KOReader key carries no password to bind with).
 */
export async function findLdapUser(
  settings: ResolvedLdapSettings,
  username: string,
  timeouts: LdapTimeouts = DEFAULT_LDAP_TIMEOUTS,
): Promise<LdapPresence> {
  return withSession(timeouts, async (session) => {
    const found = await searchEntry(settings, username, timeouts, session, { step: 'configuration' });
    return 'result' in found ? found : { result: 'found' as const };
  });
}

/** Runs `attempt` within `timeouts.totalMs`; every connection it opened is closed before this returns. */
async function withSession<T>(
  timeouts: LdapTimeouts,
  attempt: (session: Session) => Promise<T>,
): Promise<T | { result: 'unavailable'; reason: string }> {
  const session: Session = { clients: [], closed: false };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<{ result: 'unavailable'; reason: string }>((resolve) => {
    timer = setTimeout(() => resolve({ result: 'unavailable', reason: `no answer within ${timeouts.totalMs} ms` }), timeouts.totalMs);
  });
  try {
    return await Promise.race([attempt(session), deadline]);
  } finally {
    clearTimeout(timer);
    session.closed = true;
    await Promise.all(session.clients.map((client) => client.unbind().catch(() => undefined)));
  }
}

/** The connections of one attempt; once closed (answered or timed out) no new one is opened. */
interface Session {
  clients: Client[];
  closed: boolean;
}

/** What step an attempt is at, for the reason it gives when the directory is unavailable. */
interface Progress {
  step: string;
}

type Connect = (purpose: string) => Promise<Client>;

/**
 * The service bind and search for `username` (simpleldap.py bind_user up to the user's bind,
 * docs/UPSTREAM.md#calibre-web-ldap): the entry's DN and a way to open the next connection, or the
 * outcome that ends the attempt.
 */
async function searchEntry(
  settings: ResolvedLdapSettings,
  username: string,
  timeouts: LdapTimeouts,
  session: Session,
  progress: Progress,
): Promise<
  | { dn: string; connect: Connect; invalidCredentials: (error: unknown) => boolean }
  | { result: 'not-found' }
  | { result: 'unavailable'; reason: string }
> {
  try {
    const filter = userFilter(settings.userObject, username);
    const tls = await tlsOptions(settings);
    // Loaded on the first LDAP login: most installations never configure LDAP (memory, start time).
    const ldapts = await import('ldapts');
    // ldapts connects on the first operation; a connection failure is reported as that operation's.
    const connect: Connect = async (purpose) => {
      if (session.closed) throw new Error('attempt abandoned');
      const host = isIPv6(settings.host) ? `[${settings.host}]` : settings.host;
      const client = new ldapts.Client({
        url: `${settings.encryption === 2 ? 'ldaps' : 'ldap'}://${host}:${settings.port}`,
        connectTimeout: timeouts.connectMs,
        timeout: timeouts.operationMs,
        // ldapts speaks TLS from the first byte whenever tlsOptions is given: only for ldaps://.
        ...(settings.encryption === 2 ? { tlsOptions: tls } : {}),
      });
      session.clients.push(client);
      if (settings.encryption === 1) {
        progress.step = `STARTTLS before the ${purpose}`;
        await client.startTLS({ ...tls, host: settings.host });
      }
      progress.step = purpose;
      return client;
    };

    const service = await connect('service bind');
    await service.bind(...serviceCredentials(settings));
    progress.step = 'search';
    const { searchEntries } = await service.search(settings.searchBase, {
      scope: 'sub',
      filter,
      sizeLimit: 1,
      attributes: settings.openldap ? ['1.1'] : ['distinguishedName'],
    });
    await service.unbind();
    const entry = searchEntries[0];
    if (!entry) return { result: 'not-found' };
    const dn = settings.openldap ? entry.dn : firstText(entry.distinguishedName);
    if (!dn) return { result: 'unavailable', reason: 'the entry found has no distinguishedName attribute (config_ldap_openldap is off)' };
    return { dn, connect, invalidCredentials: (error) => error instanceof ldapts.InvalidCredentialsError };
  } catch (error) {
    return { result: 'unavailable', reason: `${progress.step}: ${describe(error)}` };
  }
}

async function runAttempt(
  settings: ResolvedLdapSettings,
  username: string,
  password: string,
  timeouts: LdapTimeouts,
  session: Session,
): Promise<LdapOutcome> {
  const progress: Progress = { step: 'configuration' };
  const found = await searchEntry(settings, username, timeouts, session, progress);
  if ('result' in found) return found;
  try {
    const user = await found.connect('user bind');
    try {
      await user.bind(found.dn, password);
    } catch (error) {
      return { result: 'rejected', reason: found.invalidCredentials(error) ? 'invalid credentials' : describe(error) };
    }
    return { result: 'bound' };
  } catch (error) {
    return { result: 'unavailable', reason: `${progress.step}: ${describe(error)}` };
  }
}

/** simpleldap.py: anonymous `("", "")`, unauthenticated `(DN, "")`, simple `(DN, password)` (docs/UPSTREAM.md#calibre-web-ldap). */
function serviceCredentials(settings: ResolvedLdapSettings): [string, string] {
  if (settings.authentication === 0) return ['', ''];
  if (settings.authentication === 1) return [settings.serviceDn, ''];
  return [settings.serviceDn, settings.servicePassword];
}

/**
 * Flask-SimpleLDAP sets OPT_X_TLS_REQUIRE_CERT NEVER whenever TLS is on, so by default the server's
 * certificate is not checked (docs/UPSTREAM.md#flask-simpleldap-tls). Calibre-Web switches to DEMAND,
 * with its CA file and a client certificate and key, only when config_ldap_cert_path is set
 * (docs/UPSTREAM.md#calibre-web-ldap).
 */
async function tlsOptions(settings: LdapSettings): Promise<ConnectionOptions> {
  if (settings.certPath === '') return { rejectUnauthorized: false };
  const read = async (path: string, setting: string) => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new Error(`cannot read ${setting} ${path}: ${(error as NodeJS.ErrnoException).code ?? describe(error)}`);
    }
  };
  return {
    rejectUnauthorized: true,
    ...(settings.cacertPath !== '' ? { ca: await read(settings.cacertPath, 'config_ldap_cacert_path') } : {}),
    cert: await read(settings.certPath, 'config_ldap_cert_path'),
    ...(settings.keyPath !== '' ? { key: await read(settings.keyPath, 'config_ldap_key_path') } : {}),
  };
}

function firstText(value: unknown): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'string') return first || undefined;
  if (Buffer.isBuffer(first)) return first.toString('utf8') || undefined;
  return undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}
