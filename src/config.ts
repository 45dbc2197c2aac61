import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { isAddressOrNetwork } from './util/addresses.js';

const booleanText = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'].includes(v), {
    message: 'must be one of true/false, 1/0, yes/no, on/off',
  })
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const optionalPath = z.string().trim().min(1, 'must not be empty').optional();

/**
 * For a setting without one fixed default: what its default is, as README's Configuration table says
 * it (test/docs-drift.test.ts compares the table with this schema: a fixed default, or this text).
 */
const documentedDefault = (readmeDefault: string) => ({ readmeDefault });

const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: `must be between ${min} and ${max}` });

/** KOSYNC_METRICS: `off`, `on` (BASE/metrics on the main port) or the number of a port of its own. */
const metricsSetting = z
  .string()
  .trim()
  .toLowerCase()
  .transform((value, ctx): 'off' | 'on' | number => {
    if (['0', 'false', 'no', 'off'].includes(value)) return 'off';
    if (['1', 'true', 'yes', 'on'].includes(value)) return 'on';
    const port = /^\d+$/.test(value) ? Number(value) : NaN;
    if (port >= 1 && port <= 65535) return port;
    ctx.addIssue({ code: 'custom', message: 'must be off, on, or a port number (1-65535) for metrics alone' });
    return z.NEVER;
  });

/** KOSYNC_BASE_PATH: `/kosync`, `/a/b` or `/` (serve at the root); stored without a trailing slash. */
const basePath = z
  .string()
  .trim()
  .regex(/^\/[A-Za-z0-9._~\-/]*$/, 'must start with "/" and contain only URL path characters')
  .transform((p) => p.replace(/\/+/g, '/').replace(/\/$/, ''));

/**
 * KOSYNC_CALIBRE_WEB_URL: Calibre-Web's own address, where the download tap forwards; an http(s)
 * origin (scheme, host and port, no path), kept without a trailing slash.
 */
const calibreWebUrl = z
  .string()
  .trim()
  .transform((text, ctx): string => {
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.pathname !== '/' || url.search || url.hash || url.username) {
      ctx.addIssue({ code: 'custom', message: "must be Calibre-Web's own address: http(s)://host:port, without a path" });
      return z.NEVER;
    }
    return url.origin;
  });

/** proxy-addr's names for address ranges, accepted by fastify's trustProxy. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

const isProxyAddress = (entry: string) => PROXY_RANGE_NAMES.includes(entry) || isAddressOrNetwork(entry);

/**
 * KOSYNC_TRUST_PROXY: whether X-Forwarded-Proto/Host/For are believed. `true` trusts any peer,
 * `false` none, otherwise a comma list of proxy addresses or CIDRs (fastify's trustProxy option).
 */
const trustProxy = z.string().transform((text, ctx): boolean | string[] => {
  const value = text.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const bad = entries.filter((e) => !isProxyAddress(e));
  if (entries.length === 0 || bad.length > 0) {
    const detail = bad.length ? ` (not an address: ${bad.join(', ')})` : '';
    ctx.addIssue({ code: 'custom', message: `must be true, false, or a comma list of proxy addresses or CIDRs${detail}` });
    return z.NEVER;
  }
  return entries;
});

/** Every environment variable the sidecar reads, with its default, mapped to the config object. */
export const envSchema = z
  .object({
    KOSYNC_APP_DB: optionalPath.meta(documentedDefault('*(unset: demo)*')),
    KOSYNC_LIBRARY: optionalPath.meta(documentedDefault("`config_calibre_dir` from app.db's `settings`")),
    KOSYNC_STATE_DB: optionalPath.meta(documentedDefault('`kosync.db` beside app.db')),
    KOSYNC_HOST: z.string().trim().min(1).default('0.0.0.0'),
    KOSYNC_PORT: integer(0, 65535).default(8084),
    KOSYNC_BASE_PATH: basePath.default('/kosync'),
    KOSYNC_ROOT_ALIASES: booleanText.default(false),
    KOSYNC_SHARE_PROGRESS_ACROSS_FILES: booleanText.default(true),
    KOSYNC_KOBO_BRIDGE: booleanText.default(false),
    KOSYNC_READ_COLUMN: booleanText.default(false),
    KOSYNC_KEEP_FURTHEST: booleanText.default(false),
    KOSYNC_HISTORY_LIMIT: integer(1, 10_000).default(50),
    KOSYNC_SESSION_DAYS: integer(1, 365).default(30),
    KOSYNC_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    KOSYNC_LOCK_WAIT_MS: integer(0, 60_000).default(4000),
    KOSYNC_REMEMBER_SECONDS: integer(0, 7 * 24 * 3600).default(12 * 3600),
    KOSYNC_REMEMBER_MAX_LOGINS: integer(0, 1_000_000).default(10_000),
    KOSYNC_TRUST_PROXY: trustProxy.default(false),
    KOSYNC_RECORD_KEYS_ON_LOGIN: booleanText.default(true),
    KOSYNC_PROXY_HEADER_LOGIN: booleanText.default(false),
    KOSYNC_LDAP_REMEMBER_SECONDS: integer(0, 24 * 3600).default(600),
    KOSYNC_LDAP_KEY_DAYS: integer(1, 3650).default(30),
    KOSYNC_LOGIN_FAILURES_PER_ADDRESS: integer(0, 1_000_000).default(10),
    KOSYNC_LOGIN_FAILURES_PER_USER: integer(0, 1_000_000).default(20),
    KOSYNC_LOGIN_FAILURE_WINDOW: integer(1, 24 * 3600).default(60),
    // Below KOReader's 5 s request timeout, with room for the check itself.
    KOSYNC_LOGIN_DELAY_MAX_MS: integer(0, 3000).default(2000),
    KOSYNC_VERIFY_CONCURRENCY: integer(1, 64)
      .default(() => Math.min(4, availableParallelism()))
      .meta(documentedDefault('CPU cores, at most 4')),
    KOSYNC_VERIFY_QUEUE: integer(0, 10_000).default(16),
    KOSYNC_VERIFY_PER_ADDRESS: integer(1, 10_000).default(2),
    KOSYNC_SHUTDOWN_GRACE: integer(0, 300).default(8),
    KOSYNC_SCAN_INTERVAL: integer(0, 7 * 24 * 3600).default(600),
    KOSYNC_METRICS: metricsSetting.default('off'),
    KOSYNC_MAX_CONNECTIONS: integer(0, 1_000_000).default(512),
    KOSYNC_MAX_CONNECTIONS_PER_ADDRESS: integer(0, 1_000_000).default(128),
    KOSYNC_CALIBRE_WEB_URL: calibreWebUrl.optional().meta(documentedDefault('*(unset: no download tap)*')),
  })
  .transform((e) => ({
    appDb: e.KOSYNC_APP_DB,
    library: e.KOSYNC_LIBRARY,
    stateDb: e.KOSYNC_STATE_DB,
    host: e.KOSYNC_HOST,
    port: e.KOSYNC_PORT,
    /** '' when served at the root, else e.g. '/kosync'. */
    basePath: e.KOSYNC_BASE_PATH,
    rootAliases: e.KOSYNC_ROOT_ALIASES,
    shareProgressAcrossFiles: e.KOSYNC_SHARE_PROGRESS_ACROSS_FILES,
    /**
     * The Kobo bridge (docs/PROTOCOL.md §7.1): a push of an EPUB or KEPUB also moves the user's Kobo
     * bookmark to the chapter's start, and a pull answers a newer position a Kobo wrote. Off by default.
     */
    koboBridge: e.KOSYNC_KOBO_BRIDGE,
    /** A finished book is marked read in Calibre's Read column when Calibre-Web uses one (docs/PROTOCOL.md §7.2). Off by default. */
    readColumn: e.KOSYNC_READ_COLUMN,
    /**
     * Never move backwards: a push from another device than the current position's that is behind it is
     * answered as usual and kept in the history, but does not replace the position. Off by default (the
     * original keeps the newest).
     */
    keepFurthest: e.KOSYNC_KEEP_FURTHEST,
    /** Accepted pushes kept per user and document in the state DB's history (the account page, restore). */
    historyLimit: e.KOSYNC_HISTORY_LIMIT,
    /** How long a sign-in on the account page lasts. */
    sessionDays: e.KOSYNC_SESSION_DAYS,
    logLevel: e.KOSYNC_LOG_LEVEL,
    /** How long a PUT waits for a lock held by Calibre-Web before answering 503/1000. */
    lockWaitMs: e.KOSYNC_LOCK_WAIT_MS,
    /** Successful logins answered from memory (docs/PROTOCOL.md §3.6): for how long, and how many at most (LRU). */
    rememberedLogins: { ttlMs: e.KOSYNC_REMEMBER_SECONDS * 1000, maxEntries: e.KOSYNC_REMEMBER_MAX_LOGINS },
    /** fastify's trustProxy: which peers' X-Forwarded-* headers are believed. */
    trustProxy: e.KOSYNC_TRUST_PROXY,
    /** Store the stock-KOReader key verifier whenever a Basic login succeeds (docs/PROTOCOL.md §3.5). */
    recordKeysOnLogin: e.KOSYNC_RECORD_KEYS_ON_LOGIN,
    /**
     * Whether Calibre-Web's reverse-proxy header login is honoured at all. Off by default: a reader
     * sending the header through a proxy arrives from the proxy's (trusted, loopback) address.
     */
    proxyHeaderLogin: e.KOSYNC_PROXY_HEADER_LOGIN,
    /** How long a successful LDAP login is remembered (0: every request binds again). */
    ldapRememberMs: e.KOSYNC_LDAP_REMEMBER_SECONDS * 1000,
    /** Days a stock-KOReader key of a user without a local password lasts after a password login confirmed it. */
    ldapKeyDays: e.KOSYNC_LDAP_KEY_DAYS,
    /**
     * Failed logins per client address, and per username from one network, within the window before
     * 429 (0: no limit); the longest wait before checking the password of a username under attack.
     */
    loginLimits: {
      perAddress: e.KOSYNC_LOGIN_FAILURES_PER_ADDRESS,
      perUserAndNetwork: e.KOSYNC_LOGIN_FAILURES_PER_USER,
      windowMs: e.KOSYNC_LOGIN_FAILURE_WINDOW * 1000,
      maxDelayMs: e.KOSYNC_LOGIN_DELAY_MAX_MS,
    },
    /**
     * Password checks running at once, how many may wait before new ones get 503/1000, and how many of
     * those places one client (IPv4 address, IPv6 /48) may hold.
     */
    verifyConcurrency: e.KOSYNC_VERIFY_CONCURRENCY,
    verifyQueue: e.KOSYNC_VERIFY_QUEUE,
    verifyPerAddress: e.KOSYNC_VERIFY_PER_ADDRESS,
    /**
     * On SIGTERM/SIGINT, how long requests in flight may finish before their connections are closed.
     * Below Docker's default stop timeout (10 s), so the databases are closed before a SIGKILL.
     */
    shutdownGraceMs: e.KOSYNC_SHUTDOWN_GRACE * 1000,
    /** Seconds between incremental refreshes of the checksum index; 0 turns them off. */
    scanIntervalSeconds: e.KOSYNC_SCAN_INTERVAL,
    /** Prometheus metrics: 'off', 'on' (BASE/metrics on the main port) or a port of their own. */
    metrics: e.KOSYNC_METRICS,
    /**
     * Open connections at most, in total and from one client address (trusted proxies exempt); at a
     * cap the longest-idle connection is closed first (0: no cap). Defaults fit `ulimit -n` 1024.
     */
    connectionLimits: { total: e.KOSYNC_MAX_CONNECTIONS, perAddress: e.KOSYNC_MAX_CONNECTIONS_PER_ADDRESS },
    /**
     * Calibre-Web's own address: when set, the server also answers Calibre-Web's download routes at the
     * root and records the KOReader ids of the files it serves (the download tap).
     */
    calibreWebUrl: e.KOSYNC_CALIBRE_WEB_URL,
  }));

export type Config = Readonly<z.output<typeof envSchema>>;
export const ENV_VARIABLES = Object.keys(envSchema.in.shape);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once; every problem is named by its variable. The result is frozen all the way down. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(
    ENV_VARIABLES.flatMap((key) => {
      const value = env[key];
      return value === undefined || value === '' ? [] : [[key, value]];
    }),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const variable = String(issue.path[0] ?? 'environment');
        return `${variable}: ${issue.message}${variable in present ? ` (got ${JSON.stringify(present[variable])})` : ''}`;
      }),
    );
  }
  return deepFreeze(parsed.data);
}

/** `value` and every object and array in it frozen: a setting read at start cannot change while serving. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
