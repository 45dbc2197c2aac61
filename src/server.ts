import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { type Config, deepFreeze } from './config.js';
import { openDatabases } from './databases.js';
import { DEMO_USER, prepareDemo, type DemoData } from './demo.js';
import { fileLimitWarning, openFileLimit } from './http/file-limit.js';

const DEMO_DIR = 'demo-data';

interface ServeOptions {
  demo: boolean;
}

/** Opens the databases, listens, and serves until SIGTERM/SIGINT; resolves to the exit code. */
export async function startServer(config: Config, options: ServeOptions): Promise<number> {
  let demo: DemoData | undefined;
  if (options.demo) {
    demo = await prepareDemo(DEMO_DIR);
    config = deepFreeze({ ...config, appDb: demo.appDb, library: demo.library, stateDb: undefined });
  }
  const warnings: string[] = [];
  const databases = openDatabases(config, { warn: (m) => warnings.push(m) });
  let app: FastifyInstance;
  try {
    // pino-pretty only for a terminal, loaded then: services (Docker, systemd) log JSON and start faster.
    const logStream = process.stdout.isTTY ? (await import('pino-pretty')).default({ colorize: true }) : undefined;
    app = await buildApp(config, { databases, ...(logStream ? { logStream } : {}) });
  } catch (error) {
    databases.close();
    throw error;
  }
  const fileWarning = fileLimitWarning(config.connectionLimits, openFileLimit());
  if (fileWarning) warnings.push(fileWarning);
  for (const warning of warnings) app.log.warn(warning);
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close();
    databases.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  if (demo) process.stdout.write(demoBanner(demo, `http://localhost:${port}${config.basePath}`));

  return new Promise<number>((resolve) => {
    let stopping = false;
    // Stop listening at once, let requests in flight finish (idle keep-alive connections are closed by
    // fastify), cut whatever is still open when the grace period ends or a second signal comes, and
    // only then close the databases, so no answered write is ever rolled back.
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        app.log.warn({ signal }, 'second signal: closing open connections now');
        app.server.closeAllConnections();
        return;
      }
      stopping = true;
      app.log.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down: finishing requests in flight');
      const force = setTimeout(() => {
        app.log.warn('shutdown grace period over: closing open connections');
        app.server.closeAllConnections();
      }, config.shutdownGraceMs);
      force.unref();
      // node closes idle keep-alive connections once, when closing starts; a connection whose request
      // finishes afterwards would idle until keepAliveTimeout, so keep closing the ones that go idle.
      const reap = setInterval(() => app.server.closeIdleConnections(), 100);
      reap.unref();
      app
        .close()
        .catch((error: unknown) => app.log.error({ err: error }, 'error while closing'))
        .finally(() => {
          clearTimeout(force);
          clearInterval(reap);
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          databases.close();
          app.log.info('databases closed, stopped');
          resolve(0);
        });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

function demoBanner(demo: DemoData, url: string): string {
  const line = '='.repeat(72);
  const book = demo.books[0]!;
  return [
    '',
    line,
    '  DEMO MODE: KOSYNC_APP_DB is not set, so this server runs on throwaway',
    `  demo data in ${demo.dir}. Nothing of a real Calibre-Web is touched.`,
    line,
    `  Server URL:   ${url}`,
    `  Username:     ${DEMO_USER.name}`,
    `  Password:     ${DEMO_USER.password}`,
    `  Books:        ${demo.books.map((b) => `"${b.title}" (${b.checksum})`).join(', ')}`,
    '',
    '  Try it:',
    `    curl -u ${DEMO_USER.name}:${DEMO_USER.password} ${url}/users/auth`,
    `    curl -u ${DEMO_USER.name}:${DEMO_USER.password} -X PUT -H 'Content-Type: application/json' \\`,
    `      -d '{"document":"${book.checksum}","progress":"1","percentage":0.5,"device":"curl"}' \\`,
    `      ${url}/syncs/progress`,
    `    curl -u ${DEMO_USER.name}:${DEMO_USER.password} ${url}/syncs/progress/${book.checksum}`,
    '',
    '  To serve a real Calibre-Web, set KOSYNC_APP_DB (see README.md).',
    line,
    '',
  ].join('\n');
}
