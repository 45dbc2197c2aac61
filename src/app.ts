import fastifyCookie from '@fastify/cookie';
import fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { DestinationStream } from 'pino';
import { Account } from './account/documents.js';
import type { Authenticator } from './auth/authenticator.js';
import { createLoginServices } from './auth/login-services.js';
import { localPasswordVerifier, type PasswordVerifier } from './auth/password-verifier.js';
import { Sessions } from './auth/sessions.js';
import type { SyncKeys } from './auth/sync-keys.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import type { Databases } from './databases.js';
import { KosyncError } from './errors.js';
import { baseTwiceRewriter } from './http/base-alias.js';
import { limitConnections, proxyPeers } from './http/connection-limits.js';
import { answerError, answerFrameworkError, sendError } from './http/error-answers.js';
import { NO_JSON_SCHEMAS } from './http/no-json-schemas.js';
import { downloadTaps, type Library, libraryOf } from './library.js';
import { LOG_REDACTION, MAX_PARAM_LENGTH, SERVER_LIMITS } from './http/server-limits.js';
import { accountSignInHook } from './http/session-sign-in.js';
import { signInHook } from './http/sign-in.js';
import { accountApiRoutes } from './routes/account-api.js';
import { healthRoutes } from './routes/health.js';
import { pageRoutes } from './routes/page.js';
import { syncsRoutes } from './routes/syncs.js';
import { usersRoutes } from './routes/users.js';
import { ProgressService } from './sync/progress-service.js';
import { ReadColumnMarker } from './sync/read-column.js';
import { Telemetry } from './telemetry/telemetry.js';

/** Largest request body accepted; a kosync PUT is a few hundred bytes. */
export const BODY_LIMIT = 16 * 1024;

interface AppDeps {
  databases: Databases;
  clock?: Clock;
  /** Where log lines go (tests capture them); stdout when absent. */
  logStream?: DestinationStream;
  /** Checks a Calibre-Web password hash; tests wrap the real one to count verifications. */
  verifyPassword?: PasswordVerifier;
  /**
   * Pad failed password logins to the time of the slowest hash format (on unless false). Tests not
   * about timing turn it off, as they pin the clock: it makes every failure take real time.
   */
  padFailedLogins?: boolean;
}

/** What route plugins share, decorated on the instance as `kosync`. */
interface KosyncServices {
  config: Config;
  appDb: Databases['appDb'];
  /** Undefined without a Calibre library: progress then syncs unmatched. */
  library: Library | undefined;
  progress: ProgressService;
  /** A reader's own documents, history, restore and links (the account page, the API). */
  account: Account;
  authenticator: Authenticator;
  syncKeys: SyncKeys;
  /** The account page's sessions. */
  sessions: Sessions;
  /** The sign-in hook (src/http/sign-in.ts): route families that need a user add it as their preHandler. */
  signIn(request: FastifyRequest): Promise<void>;
  /** The account API's sign-in: the sync logins, or the account page's session. */
  accountSignIn(request: FastifyRequest): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    kosync: KosyncServices;
  }
  interface FastifyRequest {
    /**
     * Monotonic ms after which no wait for app.db's lock goes on: KOSYNC_LOCK_WAIT_MS from arrival,
     * one budget for everything the request reads and writes (KOReader gives up after 5 s).
     */
    lockDeadline: number;
  }
}

/** Builds the server; the CLI listens, tests inject. */
export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const rewriteBaseTwice = baseTwiceRewriter(config.basePath);
  const app = fastify({
    logger: {
      level: config.logLevel,
      ...(deps.logStream ? { stream: deps.logStream } : {}),
      redact: LOG_REDACTION,
    },
    ...SERVER_LIMITS,
    schemaController: NO_JSON_SCHEMAS,
    bodyLimit: BODY_LIMIT,
    trustProxy: config.trustProxy,
    // One line per request comes from Telemetry's onResponse hook instead (user, route, status, time).
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: MAX_PARAM_LENGTH },
    ...(rewriteBaseTwice ? { rewriteUrl: rewriteBaseTwice } : {}),
    frameworkErrors: (error, request, reply) => {
      // A document that does not decode as UTF-8 (e.g. an encoded lone surrogate) is the route's 2004,
      // after the route family's sign-in like any other bad document; other bad URLs are 2003.
      if (error.code === 'FST_ERR_BAD_URL' && request.method === 'GET' && isProgressDocumentPath(request.url, config)) {
        app.kosync.signIn(request).then(
          () => answerError(new KosyncError('invalidDocument'), request, reply, config.basePath),
          (failure: unknown) => answerError(failure, request, reply, config.basePath),
        );
        return;
      }
      answerFrameworkError(error, reply);
    },
  });

  const { databases } = deps;
  databases.appDb.useLog(app.log);
  databases.stateDb.useLog(app.log);
  const clock = deps.clock ?? systemClock;
  limitConnections(app.server, config.connectionLimits, {
    isProxy: proxyPeers(config.trustProxy),
    now: () => clock.monotonicMs(),
    log: app.log,
  });
  const telemetry = await Telemetry.create(config, databases.stateDb.conn);
  const { authenticator, syncKeys, loginSettings } = createLoginServices({
    config,
    appDb: databases.appDb,
    stateDb: databases.stateDb,
    clock,
    log: app.log,
    localVerifier: telemetry.timedVerifier(deps.verifyPassword ?? localPasswordVerifier),
    padFailedLogins: deps.padFailedLogins ?? true,
  });
  app.addHook('onClose', () => syncKeys.settled());
  // Read once before serving, so a problem in them is logged at start and a busy re-read has something to keep.
  app.addHook('onReady', async () => {
    await loginSettings.current().catch(() => undefined);
  });
  const library = libraryOf(config, databases, clock);
  if (library) {
    // The checksum index is built in the background once the server is ready, never delaying it.
    app.addHook('onReady', async () => library.scanner.start(app.log));
    app.addHook('onClose', () => library.scanner.stop());
  }
  // The Kobo bridge's EPUB reading (yauzl, saxes) and the download tap's HTTP client (undici, under
  // @fastify/reply-from) are loaded only when they are on: ~8 MiB resident otherwise (BENCHMARKS.md, issue 17).
  const koboBridge = config.koboBridge && library ? new (await import('./sync/kobo-bridge.js')).KoboBridge(library.calibreDb) : undefined;
  const progress = new ProgressService({
    appDb: databases.appDb,
    matcher: library?.matcher,
    misses: library?.misses,
    clock,
    shareProgressAcrossFiles: config.shareProgressAcrossFiles,
    stateDb: databases.stateDb,
    historyLimit: config.historyLimit,
    keepFurthest: config.keepFurthest,
    koboBridge,
    readColumn:
      config.readColumn && library ? new ReadColumnMarker({ appDb: databases.appDb, calibre: library.calibreDb, clock }) : undefined,
    onLockWait: telemetry.lockWaited,
    onSync: telemetry.synced,
  });
  const signIn = signInHook(authenticator, telemetry.signIns);
  const sessions = new Sessions({ stateDb: databases.stateDb, appDb: databases.appDb, clock, days: config.sessionDays });
  await app.register(fastifyCookie, { secret: sessions.secret });
  app.decorate('kosync', {
    config,
    appDb: databases.appDb,
    library,
    authenticator,
    syncKeys,
    progress,
    account: new Account({ appDb: databases.appDb, stateDb: databases.stateDb, library, progress, clock }),
    sessions,
    signIn,
    accountSignIn: accountSignInHook(signIn, sessions),
  } satisfies KosyncServices);
  telemetry.install(app);
  app.decorateRequest('lockDeadline', 0);
  app.decorateRequest('user', null);
  app.addHook('onRequest', async (request) => {
    request.lockDeadline = clock.monotonicMs() + config.lockWaitMs;
  });

  // Bodies are read whatever their Content-Type and parsed by the route that wants them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error, request, reply) => answerError(error, request, reply, config.basePath));
  app.setNotFoundHandler((_request, reply) => {
    sendError(reply, new KosyncError('notFound'));
  });

  const routeFamilies = [usersRoutes, syncsRoutes, healthRoutes];
  for (const routes of routeFamilies) await app.register(routes, { prefix: config.basePath });
  await app.register(pageRoutes, { prefix: config.basePath });
  await app.register(accountApiRoutes, { prefix: config.basePath });
  if (config.rootAliases && config.basePath !== '') {
    for (const routes of routeFamilies) await app.register(routes);
  }
  if (config.calibreWebUrl) {
    // Calibre-Web's download routes are at the root of its host, outside BASE.
    const { downloadRoutes } = await import('./routes/downloads.js');
    await app.register(downloadRoutes, {
      calibreWebUrl: config.calibreWebUrl,
      tapFor: downloadTaps(databases, clock),
      calibreWebLoginHeader: async () => (await loginSettings.current()).calibreWebLoginHeader,
      fromProxy: proxyPeers(config.trustProxy),
    });
  }
  return app;
}

/** `BASE/syncs/progress/<document>`, or its root alias when those are on; repeated slashes are one. */
function isProgressDocumentPath(url: string, config: Pick<Config, 'basePath' | 'rootAliases'>): boolean {
  const path = url.split('?', 1)[0]!.replace(/\/+/g, '/');
  return path.startsWith(`${config.basePath}/syncs/progress/`) || (config.rootAliases && path.startsWith('/syncs/progress/'));
}
