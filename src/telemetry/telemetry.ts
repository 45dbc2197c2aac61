import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { PasswordVerifier } from '../auth/password-verifier.js';
import type { Config } from '../config.js';
import type { SignInObserver } from '../http/sign-in.js';
import type { Connection } from '../db/query.js';
import { LoginFailed, SyncKeyOutdated, TooManyFailures } from '../domain-errors.js';
import type { KosyncMetrics, LoginOutcome } from './metrics.js';

/** The User-Agent of the image's HEALTHCHECK probe (docker/healthcheck.mjs). */
const HEALTHCHECK_PROBE = 'calibre-web-kosync-healthcheck';

/**
 * Metrics and the one log line per request. The rest of the app reports through small callbacks
 * (`timedVerifier`, `signIns`, `lockWaited`, `synced`); `install` adds the hooks and, when
 * KOSYNC_METRICS is not off, serves `/metrics` on the main port (BASE/metrics) or on a port of its own.
 */
export class Telemetry {
  /** None when KOSYNC_METRICS is off: nothing is counted, and prom-client is never loaded. */
  readonly metrics: KosyncMetrics | undefined;

  static async create(config: Pick<Config, 'metrics' | 'host' | 'basePath'>, stateDb: Connection): Promise<Telemetry> {
    if (config.metrics === 'off') return new Telemetry(config, undefined);
    const { KosyncMetrics } = await import('./metrics.js');
    const metrics = new KosyncMetrics(stateDb);
    metrics.collectProcessMetrics();
    return new Telemetry(config, metrics);
  }

  private constructor(
    private readonly config: Pick<Config, 'metrics' | 'host' | 'basePath'>,
    metrics: KosyncMetrics | undefined,
  ) {
    this.metrics = metrics;
  }

  /** The password check, timed into kosync_password_verification_seconds. */
  timedVerifier(verify: PasswordVerifier): PasswordVerifier {
    const { metrics } = this;
    if (!metrics) return verify;
    return async (user, password) => {
      const stop = metrics.verification.startTimer();
      let outcome: LoginOutcome = 'error';
      try {
        const verified = await verify(user, password);
        outcome = verified ? 'success' : 'failure';
        return verified;
      } finally {
        stop({ outcome });
      }
    };
  }

  /** Counts the outcome of every sign-in (src/http/sign-in.ts). */
  readonly signIns: SignInObserver = {
    succeeded: (method) => this.metrics?.logins.inc({ method, outcome: 'success' }),
    failed: (scheme, error) => this.metrics?.logins.inc({ method: scheme, outcome: loginOutcomeOf(error) }),
  };

  readonly lockWaited = (): void => {
    this.metrics?.lockWaits.inc();
  };

  readonly synced = (operation: 'push' | 'pull', matched: boolean): void => {
    this.metrics?.syncs.inc({ operation, matched: String(matched) });
  };

  install(app: FastifyInstance): void {
    // The access line holds only the fields below, none of them a redacted key, so it skips the root
    // logger's redaction (two thirds of a line's cost): same line, reqId as in request.log's binding.
    const accessLog = app.log.child({}, { redact: [] });
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      this.metrics?.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
      this.metrics?.requestDuration.observe({ route }, reply.elapsedTime / 1000);
      // The container's own probe asks every 30 s: a passing one is logged at debug, not one info line
      // per interval. Any other healthcheck request, and a failing probe, are logged like the rest.
      const probe =
        reply.statusCode === 200 &&
        request.headers['user-agent'] === HEALTHCHECK_PROBE &&
        (route === `${this.config.basePath}/healthcheck` || route === '/healthcheck');
      // Never headers or bodies: they carry passwords and keys. The query string is dropped too.
      accessLog[probe ? 'debug' : 'info'](
        {
          reqId: request.id,
          user: request.user?.name,
          method: request.method,
          route,
          path: request.originalUrl.split('?', 1)[0],
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
          ip: request.ip,
        },
        'request',
      );
    });

    const { metrics } = this;
    const setting = this.config.metrics;
    if (!metrics) return;
    if (setting === 'on') {
      app.get(`${this.config.basePath}/metrics`, async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()));
    } else if (typeof setting === 'number') {
      let server: Server | undefined;
      app.addHook('onListen', async () => {
        server = await this.listenSeparately(metrics, setting);
        app.log.info(`metrics at http://${this.config.host}:${setting}/metrics`);
      });
      app.addHook('onClose', async () => {
        if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      });
    }
  }

  /** `GET /metrics` alone on its own port, so the main port (behind the proxy) never exposes it. */
  private listenSeparately(metrics: KosyncMetrics, port: number): Promise<Server> {
    const server = createServer((request, response) => {
      if (request.method === 'GET' && request.url?.split('?', 1)[0] === '/metrics') {
        metrics.text().then(
          (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
          () => response.writeHead(500).end(),
        );
      } else {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: metrics are at /metrics\n');
      }
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.config.host, () => resolve(server));
    });
  }
}

function loginOutcomeOf(error: unknown): LoginOutcome {
  if (error instanceof LoginFailed || error instanceof SyncKeyOutdated) return 'failure';
  if (error instanceof TooManyFailures) return 'throttled';
  return 'error';
}
